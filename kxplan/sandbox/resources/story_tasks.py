"""Story tasks: the checklist items of a story (/story_tasks), kept in 1-based positions."""

from __future__ import annotations

from typing import Any

from kxplan.sandbox.context import Ctx, as_bool, as_id, collect
from kxplan.sandbox.errors import Problem, found, invalid
from kxplan.sandbox.params import Params, flag, int_param, order_sql, parse_page
from kxplan.sandbox.sql import Found, Where, select_page
from kxplan.sandbox.store import Row

ORDER_FIELDS = {
    "position": "story_tasks.position",
    "created_at": "story_tasks.created_at",
    "updated_at": "story_tasks.updated_at",
}
LAST = 10**9  # a position past any list: the new item goes last until `_place` numbers it


def insert_items(ctx: Ctx, story_id: int, names: list[str], now: str) -> None:
    """A new story's checklist (`checklist` on create): open items in this order."""
    for pos, name in enumerate(names, start=1):
        ctx.store.insert("story_tasks", _new_item(story_id, name, False, pos, now))


def _new_item(story_id: int, name: str, completed: bool, position: int, now: str) -> Row:
    row: Row = {"story_id": story_id, "name": name, "completed": int(completed)}
    if completed:
        row["completed_at"] = now
    return {**row, "position": position, "created_at": now, "updated_at": now}


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("name", "Name can't be blank")
    return value.strip()


class StoryTaskRules:
    """Checklist items (no HTTP)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def get(self, item_id: int) -> Row:
        """One checklist item, or 404."""
        return found(self.ctx.store.by_id("story_tasks", item_id))

    def add(self, attrs: dict[str, Any]) -> Row:
        """POST /story_tasks: story_id and name required; `position` inserts, else appends."""
        problems = []
        if attrs.get("story_id") in (None, ""):
            problems.append(Problem("story_id", "Story can't be blank"))
        if not isinstance(attrs.get("name"), str) or not attrs["name"].strip():
            problems.append(Problem("name", "Name can't be blank"))
        collect(problems)
        story_id = as_id(attrs["story_id"], "story_id")
        story = self.ctx.store.by_id("stories", story_id)
        if story is None or story["deleted_at"] is not None:
            raise invalid("story_id", f"Story {story_id} not found")
        completed = as_bool(attrs.get("completed", False), "completed")
        row = _new_item(story_id, attrs["name"].strip(), completed, LAST, self.ctx.now())
        item_id = self.ctx.store.insert("story_tasks", row)
        position = attrs.get("position")
        self._place(story_id, item_id, None if position is None else as_id(position, "position"))
        return self.get(item_id)

    def update(self, item_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /story_tasks/{id}: name, completed, position (story_id cannot change)."""
        row = self.get(item_id)
        now = self.ctx.now()
        changes: dict[str, Any] = {"updated_at": now}
        if "name" in attrs:
            changes["name"] = _name(attrs["name"])
        if "completed" in attrs:
            completed = as_bool(attrs["completed"], "completed")
            if completed != bool(row["completed"]):
                changes["completed"] = int(completed)
                changes["completed_at"] = now if completed else None
        self.ctx.store.update("story_tasks", item_id, changes)
        if attrs.get("position") is not None:
            self._place(row["story_id"], item_id, as_id(attrs["position"], "position"))
        return self.get(item_id)

    def delete(self, item_id: int) -> None:
        """DELETE /story_tasks/{id}; the remaining items close the gap."""
        row = self.get(item_id)
        self.ctx.store.run("DELETE FROM story_tasks WHERE id = ?", [item_id])
        self._place(row["story_id"], None, None)

    def _place(self, story_id: int, item_id: int | None, position: int | None) -> None:
        # Assumed (docs/kantata-api.md Q14): acts_as_list, 1-based; inserting shifts the others.
        items = self.ctx.store.all(
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
                self.ctx.store.run("UPDATE story_tasks SET position = ? WHERE id = ?", [pos, iid])

    def query(self, params: Params) -> Found:
        """GET /story_tasks: items of deleted/archived stories hidden by default."""
        page = parse_page(params)
        where = Where()
        where.only(page, "story_tasks.id")
        where.equal("story_tasks.story_id", int_param(params, "story_id"))
        hidden = []
        if not flag(params, "show_deleted"):
            hidden.append("deleted_at IS NOT NULL")
        if not flag(params, "show_archived"):
            hidden.append("archived = 1")
        if hidden:
            where.add(
                f"story_tasks.story_id NOT IN (SELECT id FROM stories WHERE {' OR '.join(hidden)})"
            )
        order = order_sql(params, ORDER_FIELDS, "position:asc", "story_tasks")
        return select_page(self.ctx.store, "story_tasks", where, order, page)
