"""Brainstem presentation: rows -> Kantata JSON objects and the response envelope
(docs/kantata-api.md). Story maps with their includes (side-loads) are `includes.py`'s.

Ids and foreign keys are strings (except the few integer fields Kantata documents), `*_ids`
arrays appear only with their include, include keys are present as `{}` when empty, and
side-loaded objects of the primary type merge into the same map without overwriting a
primary object (Brainstem's first-write-wins).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from kxplan.sandbox.constants import CATEGORIES
from kxplan.sandbox.params import Page
from kxplan.sandbox.sql import in_clause
from kxplan.sandbox.store import SANDBOX_USER_ID, Row, Store

Obj = dict[str, Any]
Maps = dict[str, dict[str, Obj]]

# The documented story optional fields, for the one (administrator) user the sandbox knows:
# it can edit and post everywhere; nothing is scheduled, so no Daily Scheduled Hours exist.
STORY_OPTIONAL: dict[str, Any] = {
    "read_only": False,
    "can_edit": True,
    "can_post": True,
    "archived_editable": True,
    "is_time_trackable_type": True,
    "has_out_of_bounds_sads": False,
    "can_align_time": False,
    "render_description_markdown": False,
}
# Story totals the sandbox has nothing behind (no time entries, invoices or expenses).
STORY_ZEROES = (
    "budget_used_in_cents",
    "invoiced_balance_in_cents",
    "uninvoiced_balance_in_cents",
    "logged_billable_time_in_minutes",
    "logged_nonbillable_time_in_minutes",
)
SUB_STORY_SUMS = {
    "time_estimate_in_minutes": "sub_stories_time_estimate_in_minutes",
    "budget_estimate_in_cents": "sub_stories_budget_estimate_in_cents",
}
STORY_COLUMNS = (
    *("title", "description", "story_type", "state", "status", "priority"),
    *("percentage_complete", "position"),
)
STORY_TREE_COLUMNS = ("ancestry_depth", "subtree_depth", "sub_story_count")
REFERENCE_COLUMNS = (
    *("subject_type", "subject_id", "service_name", "service_model", "service_model_ref"),
    *("status", "external_link", "external_status", "external_message"),
)


def sid(value: int | None) -> str | None:
    """A Brainstem id: the string form, with None kept as null."""
    return None if value is None else str(value)


def envelope(key: str, rows: Sequence[Row], count: int, page: Page, maps: Maps) -> Obj:
    """`count`, `meta`, `results` in order, then the primary map and every include map."""
    body: Obj = {
        "count": count,
        "meta": page.meta(count),
        "results": [{"key": key, "id": str(r["id"])} for r in rows],
    }
    body[key] = maps.pop(key, {})
    body.update(maps)
    return body


def without_meta(body: Obj | None) -> Obj | None:
    """`body` without its `meta` block, as the 2013 API answered (variant `meta=absent`):
    only `count`, `results` and the typed maps are left."""
    if not isinstance(body, dict) or "meta" not in body:
        return body
    return {k: v for k, v in body.items() if k != "meta"}


def sandbox_user() -> Obj:
    """The user behind every token: the creator and actor of everything (docs/sandbox.md)."""
    return {
        "id": str(SANDBOX_USER_ID),
        "full_name": "Sandbox User",
        "email_address": "sandbox@example.invalid",
        "headline": "kxplan sandbox",
        "photo_path": None,
    }


def person(row: Row) -> Obj:
    """A person registered with `POST /__sandbox/users` (docs/sandbox.md, "People and tokens")."""
    return {
        "id": str(row["id"]),
        "full_name": row["full_name"],
        "email_address": row["email_address"],
        "headline": None,
        "photo_path": None,
    }


def _record(row: Row, fields: Obj) -> Obj:
    """An object: the string id, `fields`, then the two timestamps every object ends with."""
    return {
        "id": str(row["id"]),
        **fields,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _columns(row: Row, names: Iterable[str]) -> Obj:
    """These columns of the row, as they are stored."""
    return {name: row[name] for name in names}


def story(row: Row, optional: Iterable[str] = (), sums: dict[str, int] | None = None) -> Obj:
    """A story object without association ids; `sums`: its descendants' estimate totals."""
    obj = _record(
        row,
        {
            **_columns(row, STORY_COLUMNS),
            "archived": bool(row["archived"]),
            **_columns(row, ("deleted_at", "start_date", "due_date")),
            "workspace_id": str(row["workspace_id"]),
            "parent_id": sid(row["parent_id"]),
            "root_id": sid(row["root_id"]),
            **_columns(row, STORY_TREE_COLUMNS),
            "project_plan": bool(row.get("project_plan", 1)),
        },
    )
    obj.update(_budget(row, sums))
    obj.update(_optional(row, tuple(optional)))
    return obj


def _optional(row: Row, optional: tuple[str, ...]) -> Obj:
    """The optional fields asked for that the sandbox knows (unknown ones are ignored)."""
    obj: Obj = {}
    if "custom_task_status_id" in optional:
        obj["custom_task_status_id"] = row["custom_task_status_id"]
    for name in optional:
        if name in STORY_OPTIONAL:
            obj[name] = STORY_OPTIONAL[name]
        elif name in ("formatted_description", "parsed_description"):
            obj[name] = row["description"]
    return obj


def _budget(row: Row, sums: dict[str, int] | None) -> Obj:
    """Billing flags, estimates, the weight (milestones only) and the totals (docs/sandbox.md)."""
    obj: Obj = {
        "billable": bool(row["billable"]),
        "fixed_fee": bool(row["fixed_fee"]),
        "time_trackable": bool(row["time_trackable"]),
        "weight": row["weight"] if row["story_type"] == "milestone" else None,
        "budget_estimate_in_cents": row["budget_estimate_in_cents"],
        "time_estimate_in_minutes": row["time_estimate_in_minutes"],
        "creator_id": str(row["creator_id"]),
    }
    obj.update(dict.fromkeys(STORY_ZEROES, 0))
    if sums is not None:
        obj["sub_stories_billable_time_in_minutes"] = 0
        obj["sub_stories_budget_used_in_cents"] = 0
        for column, name in SUB_STORY_SUMS.items():
            obj[name] = sums.get(column, 0)
    return obj


def story_task(row: Row) -> Obj:
    """A checklist item."""
    return _record(
        row,
        {
            "story_id": str(row["story_id"]),
            "name": row["name"],
            "completed": bool(row["completed"]),
            **_columns(row, ("completed_at", "position")),
        },
    )


def tag(row: Row) -> Obj:
    """A tag (acts-as-taggable-on)."""
    return {"id": str(row["id"]), "name": row["name"]}


def external_reference(row: Row) -> Obj:
    """An external reference; `subject_id` is an integer, as documented."""
    fields = {
        **_columns(row, REFERENCE_COLUMNS),
        "locked": bool(row["locked"]),
        "last_synced_at": row["last_synced_at"],
    }
    return _record(row, fields)


def status_set(row: Row) -> Obj:
    """A task status set."""
    return _record(row, {"name": row["name"]})


def custom_status(row: Row) -> Obj:
    """A custom task status; `status_set_id` is an integer, as documented."""
    return _record(row, _columns(row, ("status", "category", "position", "status_set_id")))


def state_change(row: Row) -> Obj:
    """A story state change (audit row). The docs say `story_id` and `user_id` come only with
    `include=story` / `include=user`; like every single foreign key here (`parent_id`,
    `workspace_id`), the sandbox always sends them (docs/sandbox.md, "Fidelity"), and kxplan
    asks for `include=user` anyway."""
    fields: Obj = {
        "story_id": str(row["story_id"]),
        "state": row["state"],
        "formatted_state": row.get("formatted_state") or row["state"].title(),
        "user_id": str(row["user_id"]),
    }
    return _record(row, fields)


def workspace_status_set(row: Row) -> Obj:
    """A workspace <-> status set assignment (integers, as documented)."""
    return _record(row, _columns(row, ("workspace_id", "status_set_id")))


def workspaces(store: Store, rows: Sequence[Row]) -> dict[str, Obj]:
    """Workspace objects with their status set's id, name and status names."""
    set_ids = {r["status_set_id"] for r in rows if r["status_set_id"] is not None}
    names: dict[int, str] = {}
    statuses: dict[int, list[str]] = defaultdict(list)
    if set_ids:
        marks, args = in_clause(set_ids)
        sql = f"SELECT id, name FROM task_status_sets WHERE id IN {marks}"
        for s in store.all(sql, args):
            names[s["id"]] = s["name"]
        for c in store.all(
            f"SELECT status_set_id, status FROM custom_task_statuses "
            f"WHERE status_set_id IN {marks} ORDER BY position, id",
            args,
        ):
            statuses[c["status_set_id"]].append(c["status"])
    return {str(r["id"]): _workspace(r, names, statuses) for r in rows}


def _workspace(row: Row, names: dict[int, str], statuses: dict[int, list[str]]) -> Obj:
    set_id = row["status_set_id"]
    fields = {
        **_columns(row, ("title", "description")),
        "archived": bool(row["archived"]),
        **_columns(row, ("start_date", "due_date")),
        "account_id": 1,
        "task_status_set_id": sid(set_id),
        "task_status_set_name": names.get(set_id) if set_id is not None else None,
        "task_statuses": statuses[set_id] if set_id is not None else list(CATEGORIES),
    }
    return _record(row, fields)


def post(row: Row, reply_count: int) -> Obj:
    """A post (or a reply): `subject_id` is an integer, as documented; the message is plain
    text, so its formatted and parsed forms are the message itself (docs/sandbox.md)."""
    reply = row["subject_id"] is not None
    fields = {
        "message": row["message"],
        "formatted_message": row["message"],
        "parsed_message": row["message"],
        "has_attachments": False,
        "private": bool(row["private"]),
        "reply": reply,
        "reply_count": reply_count,
        "newest_reply_at": row["newest_reply_at"],
        "story_id": sid(row["story_id"]),
        "user_id": str(row["user_id"]),
        "workspace_id": str(row["workspace_id"]),
        "subject_type": "Post" if reply else None,
        "subject_id": row["subject_id"],
    }
    return _record(row, fields)
