"""Story state changes: the audit row written whenever a story's state (category) changes."""

from __future__ import annotations

from kxplan.sandbox.context import Ctx
from kxplan.sandbox.errors import invalid
from kxplan.sandbox.params import Params, int_param, order_sql, parse_page
from kxplan.sandbox.sql import Found, Where, select_page
from kxplan.sandbox.store import SANDBOX_USER_ID

ORDER_FIELDS = {"created_at": "story_state_changes.created_at"}


def record_state_change(ctx: Ctx, story_id: int, state: str, now: str) -> None:
    """Log that a story entered `state`, made by the one sandbox user."""
    row = {"story_id": story_id, "state": state, "user_id": SANDBOX_USER_ID}
    ctx.store.insert("story_state_changes", {**row, "created_at": now, "updated_at": now})


def query_state_changes(ctx: Ctx, params: Params) -> Found:
    """GET /story_state_changes: `story_id` is required (documented)."""
    story_id = int_param(params, "story_id")
    if story_id is None:
        raise invalid("story_id", "story_id is required")
    where = Where()
    where.equal("story_id", story_id)
    order = order_sql(params, ORDER_FIELDS, "created_at:asc", "story_state_changes")
    return select_page(ctx.store, "story_state_changes", where, order, parse_page(params))
