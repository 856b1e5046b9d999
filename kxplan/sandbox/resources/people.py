"""People: the users a sandbox knows, and which of them a request acts as.

Every token acts as the one sandbox user (SANDBOX_USER_ID) unless a person was registered
with it (`POST /__sandbox/users`, docs/sandbox.md "People and tokens"): then requests made
with that token act as that person, so a test can change a task "as Jane Doe" and see her
in the story state changes. The acting user of the request being handled is a context
variable, set by the server around each handler (`acting_as`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from kxplan.sandbox.context import Ctx
from kxplan.sandbox.errors import invalid
from kxplan.sandbox.store import SANDBOX_USER_ID, Row, Store

_ACTING: ContextVar[int] = ContextVar("sandbox_acting_user", default=SANDBOX_USER_ID)


def acting_user() -> int:
    """The id of the user the current request acts as."""
    return _ACTING.get()


@contextmanager
def acting_as(user_id: int) -> Iterator[None]:
    """Run the block as `user_id` (the server wraps each handler in it)."""
    token = _ACTING.set(user_id)
    try:
        yield
    finally:
        _ACTING.reset(token)


def user_for_token(store: Store, token: str | None) -> int:
    """The user a bearer token acts as: the person registered with it, else the sandbox user."""
    if not token:
        return SANDBOX_USER_ID
    found = store.scalar("SELECT id FROM users WHERE token = ?", [token])
    return int(found) if found is not None else SANDBOX_USER_ID


def register_user(ctx: Ctx, body: dict[str, Any]) -> Row:
    """Register a person: `full_name` (required), `token` (required, unique), optional
    `email_address` and `id` (an id above the sandbox user's)."""
    name, token = str(body.get("full_name") or "").strip(), str(body.get("token") or "").strip()
    _check(not name, "full_name", "full_name is required")
    _check(not token, "token", "token is required (requests with it act as this person)")
    taken = ctx.store.scalar("SELECT id FROM users WHERE token = ?", [token])
    _check(taken is not None, "token", "another person already holds this token")
    now = ctx.now()
    row: Row = {"full_name": name, "email_address": body.get("email_address"), "token": token}
    wanted = body.get("id")
    if wanted is not None:
        ok = isinstance(wanted, int) and wanted > SANDBOX_USER_ID
        _check(not ok, "id", f"id must be an integer above {SANDBOX_USER_ID}")
        _check(ctx.store.by_id("users", wanted) is not None, "id", "id is taken")
        row["id"] = wanted
    user_id = ctx.store.insert("users", {**row, "created_at": now, "updated_at": now})
    found = ctx.store.by_id("users", user_id)
    assert found is not None
    return found


def _check(bad: bool, field_name: str, message: str) -> None:
    if bad:
        raise invalid(field_name, message)


def users_by_id(store: Store, ids: Iterable[int]) -> dict[str, dict[str, Any]]:
    """The `users` map for these ids, as the API presents users (unknown ids left out)."""
    from kxplan.sandbox.present import person, sandbox_user

    wanted = sorted(set(ids))
    out: dict[str, dict[str, Any]] = {}
    if SANDBOX_USER_ID in wanted:
        out[str(SANDBOX_USER_ID)] = sandbox_user()
    others = [i for i in wanted if i != SANDBOX_USER_ID]
    if others:
        marks = ", ".join("?" for _ in others)
        for row in store.all(f"SELECT * FROM users WHERE id IN ({marks})", others):
            out[str(row["id"])] = person(row)
    return out
