"""Story state changes: the audit row written whenever a story's state (category) changes,
made by the user the request acts as (kxplan.sandbox.resources.people).

Whether a change of custom status inside one category is recorded too is not documented
(variant `state_changes`, docs/sandbox.md "Variants"): under `state` only a new state is
recorded and `formatted_state` is the category, titled; under `status` a new custom status
is recorded as well, and `formatted_state` is that status's name.
"""

from __future__ import annotations

from kxplan.sandbox.context import Ctx
from kxplan.sandbox.errors import invalid
from kxplan.sandbox.params import Params, int_param, order_sql, parse_page
from kxplan.sandbox.params import timestamp_param as ts
from kxplan.sandbox.resources.people import acting_user
from kxplan.sandbox.sql import Found, Where, select_page
from kxplan.sandbox.store import Row

# Changes of one second keep the order they were made in, either way (ids grow with time).
ORDER_FIELDS = {"created_at": "story_state_changes.created_at|story_state_changes.id"}
TIME_FILTERS = (
    ("updated_after", ">", "updated_at"),
    ("updated_before", "<", "updated_at"),
    ("created_after", ">", "created_at"),
    ("created_before", "<", "created_at"),
)


def record_state_change(ctx: Ctx, story_id: int, state: str, now: str, status: str = "") -> None:
    """Log that a story entered `state` (with custom status `status`, "" for none), made by
    the acting user."""
    formatted = status if status and ctx.variants.state_changes == "status" else state.title()
    row = {"story_id": story_id, "state": state, "user_id": acting_user()}
    row["formatted_state"] = formatted
    ctx.store.insert("story_state_changes", {**row, "created_at": now, "updated_at": now})


def records_change(ctx: Ctx, before: Row, after: Row) -> bool:
    """Whether a story going from `before` to `after` gets a state change row."""
    if before.get("state") != after.get("state"):
        return True
    return ctx.variants.state_changes == "status" and before.get("status") != after.get("status")


def custom_status(row: Row) -> str:
    """The story's custom status name, "" when it has none (a bare category)."""
    return str(row.get("status") or "") if row.get("custom_task_status_id") is not None else ""


def query_state_changes(ctx: Ctx, params: Params) -> Found:
    """GET /story_state_changes: `story_id` is required (documented), plus `only`, the
    created/updated filters, `order` (created_at:asc|desc) and paging."""
    story_id = int_param(params, "story_id")
    if story_id is None:
        raise invalid("story_id", "story_id is required")
    page = parse_page(params)
    where = Where()
    where.equal("story_id", story_id)
    where.only(page, "story_state_changes.id")
    for name, op, column in TIME_FILTERS:
        value = ts(params, name)
        if value is not None:
            where.add(f"story_state_changes.{column} {op} ?", value)
    order = order_sql(params, ORDER_FIELDS, "created_at:asc", "story_state_changes")
    return select_page(ctx.store, "story_state_changes", where, order, page)
