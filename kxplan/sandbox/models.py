"""The sandbox's rules layer: every behaviour of the fake Kantata, with no HTTP.

`SandboxModel` is what tests reach as `server.model`: it owns the store and exposes the
rule sets (`stories`, `statuses`) plus workspaces, checklist items, external references
and state changes. Methods take plain Python values and return rows (dicts) or raise
`SandboxError`; `present.py` turns rows into Kantata JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kxplan.sandbox import present
from kxplan.sandbox.context import Ctx, _utcnow, as_bool, as_date, as_id, collect
from kxplan.sandbox.errors import Problem, found, invalid, not_found
from kxplan.sandbox.params import Page, Params, flag, int_param, order_sql, parse_page
from kxplan.sandbox.present import in_clause
from kxplan.sandbox.statuses import StatusRules
from kxplan.sandbox.store import Row, Store
from kxplan.sandbox.stories import StoryRules, check_reference, upsert_reference
from kxplan.sandbox.variants import Variants

# The OpenAPI documents `maven`/`consultant` (provider team) and `buyer`/`client`.
CREATOR_ROLES = ("maven", "buyer", "consultant", "client")
Result = tuple[list[Row], int, Page]


class SandboxModel:
    """All sandbox data and rules. Safe to call from any thread."""

    def __init__(
        self,
        data: str | Path | Store = ":memory:",
        *,
        clock: Callable[[], datetime] = _utcnow,
        variants: Variants | None = None,
    ) -> None:
        store = data if isinstance(data, Store) else Store(data)
        self.ctx = Ctx(store, clock, variants or Variants())
        self.store = store
        self.stories = StoryRules(self.ctx)
        self.statuses = StatusRules(self.ctx)

    @property
    def variants(self) -> Variants:
        """The answers the sandbox plays to the questions Kantata leaves open."""
        return self.ctx.variants

    @variants.setter
    def variants(self, value: Variants) -> None:
        self.ctx.variants = value

    def reset(self) -> None:
        """Forget every object (ids restart)."""
        self.store.reset()

    # ---- convenience for tests, benches and `kxplan sandbox --seed-workspace` ----------

    def create_workspace(self, title: str, **attrs: Any) -> dict[str, Any]:
        """Create a workspace and return it as the API presents it (`id` is a string)."""
        with self.store.transaction():
            row = self.add_workspace({"title": title, "creator_role": "maven", **attrs})
            return present.workspaces(self.store, [row])[str(row["id"])]

    def create_stories(self, workspace_id: str | int, items: list[dict[str, Any]]) -> list[str]:
        """Create stories in a workspace directly (any number, 300 per transaction)."""
        ids: list[str] = []
        for start in range(0, len(items), 300):
            chunk = [{"workspace_id": workspace_id, **i} for i in items[start : start + 300]]
            with self.store.transaction():
                ids.extend(str(i) for i in self.stories.create(chunk, bulk=True))
        return ids

    def workspace_titled(self, title: str) -> dict[str, Any] | None:
        """The first workspace (archived or not) with exactly this title, as presented."""
        row = self.store.one("SELECT * FROM workspaces WHERE title = ? ORDER BY id", [title])
        return None if row is None else present.workspaces(self.store, [row])[str(row["id"])]

    # ---- workspaces --------------------------------------------------------------------

    def get_workspace(self, workspace_id: int) -> Row:
        """One workspace, or 404 (archived ones are shown by id)."""
        return found(self.store.by_id("workspaces", workspace_id))

    def add_workspace(self, attrs: dict[str, Any]) -> Row:
        """POST /workspaces: title and creator_role are required (messages from the docs)."""
        problems = []
        title = attrs.get("title")
        if not isinstance(title, str) or not title.strip():
            problems.append(Problem("title", "Please give your project a title"))
        if attrs.get("creator_role") not in CREATOR_ROLES:
            problems.append(Problem("creator_role", "Please select a role for this project"))
        collect(problems)
        assert isinstance(title, str)
        now = self.ctx.now()
        row = {
            "title": title.strip(),
            "description": attrs.get("description"),
            "creator_role": attrs["creator_role"],
            "archived": int(as_bool(attrs.get("archived", False), "archived")),
            "start_date": as_date(attrs.get("start_date"), "start_date"),
            "due_date": as_date(attrs.get("due_date"), "due_date"),
            "status_set_id": self.statuses.account_default(),
            "created_at": now,
            "updated_at": now,
        }
        return self.get_workspace(self.store.insert("workspaces", row))

    def update_workspace(self, workspace_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /workspaces/{id}: title, description, archived, dates."""
        self.get_workspace(workspace_id)
        changes: dict[str, Any] = {}
        if "title" in attrs:
            if not isinstance(attrs["title"], str) or not attrs["title"].strip():
                raise invalid("title", "Please give your project a title")
            changes["title"] = attrs["title"].strip()
        if "description" in attrs:
            changes["description"] = attrs["description"]
        if "archived" in attrs:
            changes["archived"] = int(as_bool(attrs["archived"], "archived"))
        for name in ("start_date", "due_date"):
            if name in attrs:
                changes[name] = as_date(attrs[name], name)
        self.store.update("workspaces", workspace_id, {**changes, "updated_at": self.ctx.now()})
        return self.get_workspace(workspace_id)

    def query_workspaces(self, params: Params) -> Result:
        """GET /workspaces: archived hidden by default; `matching` is word-prefix search."""
        page = parse_page(params)
        where: list[str] = []
        args: list[Any] = []
        if page.only is not None:
            clause, ids = in_clause(page.only)
            where.append(f"id IN {clause}")
            args.extend(ids)
        archived = params.get("archived", "").strip().lower()
        if archived == "only":
            where.append("archived = 1")
        elif archived != "include" and not flag(params, "include_archived"):
            where.append("archived = 0")
        rows = self.store.all(
            f"SELECT * FROM workspaces WHERE {' AND '.join(where) or '1'} ORDER BY "
            + order_sql(params, _WS_ORDER, "updated_at:desc", "workspaces"),
            args,
        )
        matching = params.get("matching", "").strip()
        if matching:
            rows = [r for r in rows if _matches(r["title"], matching)]
        search = params.get("search", "").strip()
        if search and page.only is None:  # search does not apply to `only` (documented)
            rows = _search_workspaces(rows, search, params.get("order", "").strip())
        return _slice(rows, page), len(rows), page

    # ---- checklist items ---------------------------------------------------------------

    def get_story_task(self, item_id: int) -> Row:
        """One checklist item, or 404."""
        return found(self.store.by_id("story_tasks", item_id))

    def add_story_task(self, attrs: dict[str, Any]) -> Row:
        """POST /story_tasks: story_id and name required; `position` inserts, else appends."""
        problems = []
        if attrs.get("story_id") in (None, ""):
            problems.append(Problem("story_id", "Story can't be blank"))
        if not isinstance(attrs.get("name"), str) or not attrs["name"].strip():
            problems.append(Problem("name", "Name can't be blank"))
        collect(problems)
        story_id = as_id(attrs["story_id"], "story_id")
        story = self.stories.row(story_id)
        if story is None or story["deleted_at"] is not None:
            raise invalid("story_id", f"Story {story_id} not found")
        now = self.ctx.now()
        completed = as_bool(attrs.get("completed", False), "completed")
        row = {
            "story_id": story_id,
            "name": attrs["name"].strip(),
            "completed": int(completed),
            "completed_at": now if completed else None,
            "position": 10**9,
            "created_at": now,
            "updated_at": now,
        }
        item_id = self.store.insert("story_tasks", row)
        position = attrs.get("position")
        at = None if position is None else as_id(position, "position")
        self._place_item(story_id, item_id, at)
        return self.get_story_task(item_id)

    def update_story_task(self, item_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /story_tasks/{id}: name, completed, position (story_id cannot change)."""
        row = self.get_story_task(item_id)
        now = self.ctx.now()
        changes: dict[str, Any] = {"updated_at": now}
        if "name" in attrs:
            if not isinstance(attrs["name"], str) or not attrs["name"].strip():
                raise invalid("name", "Name can't be blank")
            changes["name"] = attrs["name"].strip()
        if "completed" in attrs:
            completed = as_bool(attrs["completed"], "completed")
            if completed != bool(row["completed"]):
                changes["completed"] = int(completed)
                changes["completed_at"] = now if completed else None
        self.store.update("story_tasks", item_id, changes)
        if attrs.get("position") is not None:
            self._place_item(row["story_id"], item_id, as_id(attrs["position"], "position"))
        return self.get_story_task(item_id)

    def delete_story_task(self, item_id: int) -> None:
        """DELETE /story_tasks/{id}; the remaining items close the gap."""
        row = self.get_story_task(item_id)
        self.store.run("DELETE FROM story_tasks WHERE id = ?", [item_id])
        self._place_item(row["story_id"], None, None)

    def _place_item(self, story_id: int, item_id: int | None, position: int | None) -> None:
        # Assumed (docs/kantata-api.md Q14): acts_as_list, 1-based; inserting shifts the others.
        items = self.store.all(
            "SELECT id, position FROM story_tasks WHERE story_id = ? ORDER BY position, id",
            [story_id],
        )
        ordered = [i["id"] for i in items if i["id"] != item_id]
        if item_id is not None:
            at = len(ordered) if position is None else min(max(position, 1), len(ordered) + 1) - 1
            ordered.insert(at, item_id)
        current = {i["id"]: i["position"] for i in items}
        for pos, iid in enumerate(ordered, start=1):
            if current.get(iid) != pos:
                self.store.run("UPDATE story_tasks SET position = ? WHERE id = ?", [pos, iid])

    def query_story_tasks(self, params: Params) -> Result:
        """GET /story_tasks: items of deleted/archived stories hidden by default."""
        page = parse_page(params)
        where = ["1"]
        args: list[Any] = []
        if page.only is not None:
            clause, ids = in_clause(page.only)
            where.append(f"story_tasks.id IN {clause}")
            args.extend(ids)
        story_id = int_param(params, "story_id")
        if story_id is not None:
            where.append("story_tasks.story_id = ?")
            args.append(story_id)
        hidden = []
        if not flag(params, "show_deleted"):
            hidden.append("deleted_at IS NOT NULL")
        if not flag(params, "show_archived"):
            hidden.append("archived = 1")
        if hidden:
            where.append(
                f"story_tasks.story_id NOT IN (SELECT id FROM stories WHERE {' OR '.join(hidden)})"
            )
        fields = {
            "position": "story_tasks.position",
            "created_at": "story_tasks.created_at",
            "updated_at": "story_tasks.updated_at",
        }
        order = order_sql(params, fields, "position:asc", "story_tasks")
        return self._page(f"story_tasks WHERE {' AND '.join(where)}", order, args, page)

    # ---- external references -----------------------------------------------------------

    def upsert_external_reference(self, attrs: dict[str, Any]) -> Row:
        """POST /external_references/create_or_update (subjects: Story, Workspace)."""
        ref = check_reference(attrs, None, subject=True)
        table = {"Story": "stories", "Workspace": "workspaces"}.get(ref["subject_type"])
        if table is None:
            raise invalid("subject_type", "The sandbox supports subject_type Story or Workspace")
        if self.store.one(f"SELECT id FROM {table} WHERE id = ?", [ref["subject_id"]]) is None:
            raise invalid("subject_id", f"{ref['subject_type']} {ref['subject_id']} not found")
        ref_id = upsert_reference(self.ctx, ref)
        row = self.store.one("SELECT * FROM external_references WHERE id = ?", [ref_id])
        assert row is not None
        return row

    def delete_external_reference(self, ref_id: int) -> None:
        """DELETE /external_references/{id}."""
        if self.store.one("SELECT id FROM external_references WHERE id = ?", [ref_id]) is None:
            raise not_found()
        self.store.run("DELETE FROM external_references WHERE id = ?", [ref_id])

    def query_external_references(self, params: Params) -> Result:
        """GET /external_references: `subject_type` is required (documented)."""
        subject_type = params.get("subject_type", "").strip()
        if not subject_type:
            raise invalid("subject_type", "subject_type is required")
        page = parse_page(params)
        where = ["subject_type = ?"]
        args: list[Any] = [subject_type]
        if page.only is not None:
            clause, ids = in_clause(page.only)
            where.append(f"id IN {clause}")
            args.extend(ids)
        subject_id = int_param(params, "subject_id")
        if subject_id is not None:
            where.append("subject_id = ?")
            args.append(subject_id)
        for name in ("service_name", "service_model", "service_model_ref", "status"):
            if params.get(name, "").strip():
                where.append(f"{name} = ?")
                args.append(params[name].strip())
        fields = {
            "created_at": "external_references.created_at",
            "updated_at": "external_references.updated_at",
        }
        order = order_sql(params, fields, "updated_at:desc", "external_references")
        return self._page(f"external_references WHERE {' AND '.join(where)}", order, args, page)

    # ---- story state changes, status sets ----------------------------------------------

    def query_state_changes(self, params: Params) -> Result:
        """GET /story_state_changes: `story_id` is required (documented)."""
        story_id = int_param(params, "story_id")
        if story_id is None:
            raise invalid("story_id", "story_id is required")
        page = parse_page(params)
        fields = {"created_at": "story_state_changes.created_at"}
        order = order_sql(params, fields, "created_at:asc", "story_state_changes")
        return self._page("story_state_changes WHERE story_id = ?", order, [story_id], page)

    def query_status_sets(self, params: Params) -> Result:
        """GET /task_status_sets."""
        page = parse_page(params)
        where, args = _only(page)
        fields = {"created_at": "task_status_sets.created_at", "name": "task_status_sets.name"}
        order = order_sql(params, fields, "created_at:asc", "task_status_sets")
        return self._page(f"task_status_sets WHERE {where}", order, args, page)

    def query_custom_statuses(self, params: Params) -> Result:
        """GET /custom_task_statuses (no status_set_id filter is documented; offered anyway)."""
        page = parse_page(params)
        where, args = _only(page)
        set_id = int_param(params, "status_set_id")
        if set_id is not None:
            where += " AND status_set_id = ?"
            args.append(set_id)
        fields = {"position": "custom_task_statuses.status_set_id|custom_task_statuses.position"}
        order = order_sql(params, fields, "position:asc", "custom_task_statuses")
        return self._page(f"custom_task_statuses WHERE {where}", order, args, page)

    def _page(self, source: str, order: str, args: list[Any], page: Page) -> Result:
        table = source.split()[0]
        count = int(self.store.scalar(f"SELECT COUNT(*) FROM {source}", args) or 0)
        sql = f"SELECT {table}.* FROM {source} ORDER BY {order}"
        if page.limit is not None:
            sql += f" LIMIT {page.limit} OFFSET {page.offset}"
        return self.store.all(sql, args), count, page


_WS_ORDER = {
    "updated_at": "workspaces.updated_at",
    "created_at": "workspaces.created_at",
    "title": "workspaces.title",
    "start_date": "workspaces.start_date",
    "due_date": "workspaces.due_date",
    "task_status_set": "workspaces.status_set_id",
}
_STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "to", "in", "for", "on", "-", "—", "–"})


def _matches(title: str, query: str) -> bool:
    """Kantata's `matching`: each query word starts some title word (case-insensitive)."""
    words = title.lower().split()
    wanted = [w for w in query.lower().split() if w not in _STOP_WORDS]
    return all(any(t.startswith(w) for t in words) for w in wanted)


_FIELD_TERM = re.compile(r"(\w+):'([^']*)'")


def _search_workspaces(rows: list[Row], search: str, order: str) -> list[Row]:
    """`search`: every term must match (docs/sandbox.md, "Fidelity"). A plain word matches
    the id, or is contained in the title or description; `title:'x'` / `description:'x'`
    search that field only; other documented fields match nothing (the sandbox has none).
    With no `order`, or `order=search`, title matches come first (relevance)."""
    fields = [(f.casefold(), v.casefold()) for f, v in _FIELD_TERM.findall(search)]
    words = _FIELD_TERM.sub(" ", search).casefold().split()

    def text(row: Row, name: str) -> str:
        return str(row.get(name) or "").casefold()

    def hit(row: Row) -> bool:
        plain = all(
            w == str(row["id"]) or w in text(row, "title") or w in text(row, "description")
            for w in words
        )
        return plain and all(f in ("title", "description") and v in text(row, f) for f, v in fields)

    found = [r for r in rows if hit(r)]
    if order in ("", "search") or order.startswith("search:"):
        in_title = [v for f, v in fields if f == "title"] + words
        found.sort(key=lambda r: not all(w in text(r, "title") for w in in_title))
    return found


def _slice(rows: list[Row], page: Page) -> list[Row]:
    if page.limit is None:
        return rows
    return rows[page.offset : page.offset + page.limit]


def _only(page: Page) -> tuple[str, list[Any]]:
    if page.only is None:
        return "1", []
    clause, ids = in_clause(page.only)
    return f"id IN {clause}", list(ids)
