"""Task status sets and their custom task statuses (assigning sets: `set_assignment`).

docs/kantata-api.md: a new set comes with the four default statuses; status names are unique
within a set; a status's category and set never change; deleting a status resets its
tasks to the category; a set in use cannot be deleted; an account has at most 50 sets.

What the documentation leaves open is played by the variants (docs/sandbox.md, "Variants:
statuses and names"): how the defaults are spelled (`status_names`), where tasks go when
their workspace switches sets (`set_switch`) or their status is deleted (`status_delete`),
and whether names match ignoring case (`name_match`).
"""

from __future__ import annotations

from typing import Any

from kxplan.sandbox.constants import CATEGORIES, MAX_SETS
from kxplan.sandbox.context import Ctx, as_id, collect
from kxplan.sandbox.errors import Problem, found, invalid
from kxplan.sandbox.params import Params, int_param, order_sql, parse_page
from kxplan.sandbox.sql import Found, Where, select_page
from kxplan.sandbox.store import Row
from kxplan.sandbox.variants import Variants

SET_ORDER = {"created_at": "task_status_sets.created_at", "name": "task_status_sets.name"}
STATUS_ORDER = {"position": "custom_task_statuses.status_set_id|custom_task_statuses.position"}

#: The default statuses of a new set under `status_names=title` (the help pages' spelling).
TITLE_NAMES = {c: c.title() for c in CATEGORIES}


def set_statuses(ctx: Ctx, set_id: int | None) -> list[Row]:
    """The statuses of a set in position order ([] for no set)."""
    if set_id is None:
        return []
    return ctx.store.all(
        "SELECT * FROM custom_task_statuses WHERE status_set_id = ? ORDER BY position, id",
        [set_id],
    )


def default_status(statuses: list[Row], category: str) -> tuple[str, int | None]:
    """The status a task gets for a category: the set's first status in it, else its name."""
    for s in statuses:
        if s["category"] == category:
            return s["status"], s["id"]
    return category, None


def same_name(a: str, b: str, variants: Variants) -> bool:
    """Whether two status, set or tag names are the same name (variant `name_match`)."""
    if variants.name_match == "ignore_case":
        return a.casefold() == b.casefold()
    return a == b


def find_status(statuses: list[Row], name: str, variants: Variants | None = None) -> Row | None:
    """The status of a set with this name (exactly, or ignoring case under `name_match`)."""
    v = variants or Variants()
    return next((s for s in statuses if same_name(s["status"], name, v)), None)


def first_of(statuses: list[Row], category: str) -> Row | None:
    """The set's first status (by position) of a category."""
    return next((s for s in statuses if s["category"] == category), None)


class StatusRules:
    """Task status sets, custom statuses and workspace assignment (no HTTP)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def query_sets(self, params: Params) -> Found:
        """GET /task_status_sets."""
        page = parse_page(params)
        where = Where()
        where.only(page, "id")
        order = order_sql(params, SET_ORDER, "created_at:asc", "task_status_sets")
        return select_page(self.ctx.store, "task_status_sets", where, order, page)

    def query_statuses(self, params: Params) -> Found:
        """GET /custom_task_statuses (no status_set_id filter is documented; offered anyway)."""
        page = parse_page(params)
        where = Where()
        where.only(page, "id")
        where.equal("status_set_id", int_param(params, "status_set_id"))
        order = order_sql(params, STATUS_ORDER, "position:asc", "custom_task_statuses")
        return select_page(self.ctx.store, "custom_task_statuses", where, order, page)

    def get_set(self, set_id: int) -> Row:
        """One set, or 404."""
        return found(self.ctx.store.by_id("task_status_sets", set_id))

    def create_set(self, attrs: dict[str, Any]) -> Row:
        """A new set holding the four default statuses, spelled as `status_names` says."""
        name = _name(attrs.get("name"), "name", "Name can't be blank")
        store = self.ctx.store
        if (store.scalar("SELECT COUNT(*) FROM task_status_sets") or 0) >= MAX_SETS:
            raise invalid("base", f"An account can have at most {MAX_SETS} task status sets")
        now = self.ctx.now()
        set_id = store.insert(
            "task_status_sets", {"name": name, "created_at": now, "updated_at": now}
        )
        title = self.ctx.variants.status_names == "title"
        for pos, category in enumerate(CATEGORIES, start=1):
            name = TITLE_NAMES[category] if title else category
            row = {"status_set_id": set_id, "status": name, "category": category}
            store.insert(
                "custom_task_statuses",
                {**row, "position": pos, "created_at": now, "updated_at": now},
            )
        return self.get_set(set_id)

    def make_account_default(self, set_id: int) -> Row:
        """update_account_default: the set every new workspace starts with (one per account)."""
        self.get_set(set_id)
        store = self.ctx.store
        store.run("UPDATE task_status_sets SET account_default = 0 WHERE account_default = 1")
        store.update("task_status_sets", set_id, {"account_default": 1})
        return self.get_set(set_id)

    def account_default(self) -> int | None:
        """The id of the account's default set, if one was designated."""
        found_id = self.ctx.store.scalar(
            "SELECT id FROM task_status_sets WHERE account_default = 1 ORDER BY id"
        )
        return None if found_id is None else int(found_id)

    def update_set(self, set_id: int, attrs: dict[str, Any]) -> Row:
        """Rename a set (the only writable field)."""
        self.get_set(set_id)
        if "name" in attrs:
            name = _name(attrs["name"], "name", "Name can't be blank")
            self.ctx.store.update(
                "task_status_sets", set_id, {"name": name, "updated_at": self.ctx.now()}
            )
        return self.get_set(set_id)

    def delete_set(self, set_id: int) -> None:
        """Delete a set and its statuses; a set some workspace uses cannot be deleted."""
        self.get_set(set_id)
        store = self.ctx.store
        if store.scalar("SELECT 1 FROM workspaces WHERE status_set_id = ?", [set_id]):
            raise invalid("base", "Task status sets that are in use cannot be deleted")
        store.run("DELETE FROM custom_task_statuses WHERE status_set_id = ?", [set_id])
        store.run("DELETE FROM task_status_sets WHERE id = ?", [set_id])

    def get_status(self, status_id: int) -> Row:
        """One custom status, or 404."""
        return found(self.ctx.store.by_id("custom_task_statuses", status_id))

    def create_status(self, attrs: dict[str, Any]) -> Row:
        """A status appended to its set; the name must be unique within the set."""
        name, category, set_id = _new_status(attrs)
        if self.ctx.store.one("SELECT id FROM task_status_sets WHERE id = ?", [set_id]) is None:
            raise invalid("status_set_id", "Status set does not exist")
        statuses = set_statuses(self.ctx, set_id)
        if find_status(statuses, name, self.ctx.variants):
            raise invalid("status", "Status name must be unique within the task status set")
        now = self.ctx.now()
        position = max((s["position"] for s in statuses), default=0) + 1
        row = {"status_set_id": set_id, "status": name, "category": category, "position": position}
        status_id = self.ctx.store.insert(
            "custom_task_statuses", {**row, "created_at": now, "updated_at": now}
        )
        return self.get_status(status_id)

    def update_status(self, status_id: int, attrs: dict[str, Any]) -> Row:
        """Rename or move a status; its category and set are immutable."""
        row = self.get_status(status_id)
        if "category" in attrs and attrs["category"] != row["category"]:
            raise invalid("category", "The category of a status cannot be changed")
        if "status_set_id" in attrs and str(attrs["status_set_id"]) != str(row["status_set_id"]):
            raise invalid("status_set_id", "A status cannot be moved to another task status set")
        now = self.ctx.now()
        if "status" in attrs:
            self._rename(row, _name(attrs["status"], "status", "Status can't be blank"), now)
        if "position" in attrs:
            self._move(row, as_id(attrs["position"], "position"), now)
        return self.get_status(status_id)

    def _rename(self, row: Row, name: str, now: str) -> None:
        others = [s for s in set_statuses(self.ctx, row["status_set_id"]) if s["id"] != row["id"]]
        if find_status(others, name, self.ctx.variants):
            raise invalid("status", "Status name must be unique within the task status set")
        store = self.ctx.store
        store.update("custom_task_statuses", row["id"], {"status": name, "updated_at": now})
        # Tasks point at the status, so they show the new name.
        store.run(
            "UPDATE stories SET status = ? WHERE custom_task_status_id = ?", [name, row["id"]]
        )

    def _move(self, row: Row, position: int, now: str) -> None:
        ordered = [s for s in set_statuses(self.ctx, row["status_set_id"]) if s["id"] != row["id"]]
        index = min(max(position, 1), len(ordered) + 1) - 1
        ordered.insert(index, row)
        for pos, s in enumerate(ordered, start=1):
            if s["position"] != pos or s["id"] == row["id"]:
                self.ctx.store.update(
                    "custom_task_statuses", s["id"], {"position": pos, "updated_at": now}
                )

    def delete_status(self, status_id: int) -> None:
        """Delete a status; its tasks go where variant `status_delete` says (same category)."""
        row = self.get_status(status_id)
        store = self.ctx.store
        others = [s for s in set_statuses(self.ctx, row["status_set_id"]) if s["id"] != status_id]
        target = self._after_delete(others, row["category"])
        store.run(
            "UPDATE stories SET status = ?, custom_task_status_id = ? "
            "WHERE custom_task_status_id = ?",
            [target["status"] if target else row["category"], target and target["id"], status_id],
        )
        store.run("DELETE FROM custom_task_statuses WHERE id = ?", [status_id])

    def _after_delete(self, others: list[Row], category: str) -> Row | None:
        """The status a deleted status's tasks get (None: the bare category name)."""
        rule = self.ctx.variants.status_delete
        if rule == "default_name":
            return find_status(others, category, Variants(name_match="ignore_case"))
        if rule == "first":
            return first_of(others, category)
        return None


def _name(value: Any, field_name: str, message: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(field_name, message)
    return value.strip()


def _new_status(attrs: dict[str, Any]) -> tuple[str, str, int]:
    """(name, category, set id) of a status to create, or every problem with them (422)."""
    problems: list[Problem] = []
    name = attrs.get("status")
    category = attrs.get("category")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("status", "Status can't be blank"))
    if category not in CATEGORIES:
        problems.append(Problem("category", f"Category must be one of {', '.join(CATEGORIES)}"))
    if "status_set_id" not in attrs:
        problems.append(Problem("status_set_id", "Status set can't be blank"))
    collect(problems)
    assert isinstance(name, str) and isinstance(category, str)
    return name.strip(), category, as_id(attrs["status_set_id"], "status_set_id")
