"""Assigning task status sets to workspaces (PUT /workspace_task_status_sets/bulk_update).

What a workspace's tasks get when it switches sets is played by variant `set_switch`
(docs/sandbox.md, "Variants: statuses and names"); a task's category never changes unless
the status it is given says so.
"""

from __future__ import annotations

from typing import Any

from kxplan.sandbox.context import Ctx, as_id, collect
from kxplan.sandbox.errors import Problem, SandboxError
from kxplan.sandbox.resources.state_changes import record_state_change
from kxplan.sandbox.resources.statuses import find_status, first_of, set_statuses
from kxplan.sandbox.store import Row

Assignment = tuple[int, int | None]  # (workspace id, status set id or None: no set)


class SetAssignment:
    """Workspace <-> status set assignments (no HTTP)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def bulk_assign(self, items: Any) -> list[Row]:
        """Assign sets to workspaces, all or nothing; tasks keep matching status names."""
        if not isinstance(items, list) or not items:
            raise SandboxError("missing_root")
        pairs = self._check_assignments(items)
        now = self.ctx.now()
        rows = []
        for ws_id, set_id in pairs:
            self.ctx.store.update("workspaces", ws_id, {"status_set_id": set_id, "updated_at": now})
            self._remap_stories(ws_id, set_id, now)
            row = {"workspace_id": ws_id, "status_set_id": set_id}
            new_id = self.ctx.store.insert(
                "workspace_task_status_sets", {**row, "created_at": now, "updated_at": now}
            )
            rows.append({"id": new_id, **row, "created_at": now, "updated_at": now})
        return rows

    def _check_assignments(self, items: list[Any]) -> list[Assignment]:
        problems: list[Problem] = []
        pairs: list[Assignment] = []
        for index, item in enumerate(items):
            try:
                pair = self._check_one(item, index, problems)
            except SandboxError as err:
                problems.extend(err.problems)
                continue
            if pair is not None:
                pairs.append(pair)
        collect(problems)
        return pairs

    def _check_one(self, item: Any, index: int, problems: list[Problem]) -> Assignment | None:
        """One assignment, noting in `problems` what is wrong with it (None: unusable)."""
        if not isinstance(item, dict) or "workspace_id" not in item:
            problems.append(Problem("workspace_id", "Workspace can't be blank", index))
            return None
        ws_id = as_id(item["workspace_id"], "workspace_id", index)
        raw_set = item.get("status_set_id")
        set_id = None if raw_set is None else as_id(raw_set, "status_set_id", index)
        store = self.ctx.store
        if store.one("SELECT id FROM workspaces WHERE id = ?", [ws_id]) is None:
            problems.append(Problem("workspace_id", f"Workspace {ws_id} not found", index))
        if (
            set_id is not None
            and store.one("SELECT id FROM task_status_sets WHERE id = ?", [set_id]) is None
        ):
            problems.append(Problem("status_set_id", f"Status set {set_id} not found", index))
        return ws_id, set_id

    def _remap_stories(self, ws_id: int, set_id: int | None, now: str) -> None:
        """Tasks get a status of the new set as variant `set_switch` says; the category
        (state) never changes, so a task keeps it when the new set has no such status."""
        statuses = set_statuses(self.ctx, set_id)
        store = self.ctx.store
        for s in store.all("SELECT id, status, state FROM stories WHERE workspace_id = ?", [ws_id]):
            match = self._after_switch(statuses, s["status"] or "", s["state"])
            if match is not None:
                change = {
                    "status": match["status"],
                    "custom_task_status_id": match["id"],
                    "state": match["category"],
                }
                if match["category"] != s["state"] or (
                    self.ctx.variants.state_changes == "status" and match["status"] != s["status"]
                ):
                    record_state_change(self.ctx, s["id"], match["category"], now, match["status"])
            else:
                change = {"status": s["state"], "custom_task_status_id": None}
            store.update("stories", s["id"], change)

    def _after_switch(self, statuses: list[Row], status: str, state: str) -> Row | None:
        rule = self.ctx.variants.set_switch
        if rule == "first":
            return first_of(statuses, state)
        if rule == "category":
            return None
        # Assumed (docs/kantata-api.md Q10): a task keeps a status of the same name in the new set;
        # otherwise it falls back to its category (the new set's status of that name).
        return find_status(statuses, status, self.ctx.variants) or find_status(
            statuses, state, self.ctx.variants
        )
