"""External references (kxplan's markers): checked, created or updated, listed, deleted.

One reference per (subject, service_name): `create_or_update` finds it by that triple.
Subjects the sandbox supports: Story, Workspace and Post.
"""

from __future__ import annotations

from typing import Any

from kxplan.sandbox.constants import REFERENCE_STATUSES
from kxplan.sandbox.context import Ctx, as_bool, as_id, collect
from kxplan.sandbox.errors import Problem, invalid, not_found
from kxplan.sandbox.params import Params, int_param, order_sql, parse_page
from kxplan.sandbox.sql import Found, Where, select_page
from kxplan.sandbox.store import Row

REQUIRED = ("service_name", "service_model", "service_model_ref")
REFERENCE_FIELDS = (*REQUIRED, "status", "external_link", "external_status", "external_message")
WRITABLE = (*REFERENCE_FIELDS, "locked")
TEXT_FILTERS = ("service_name", "service_model", "service_model_ref", "status")
SUBJECT_TABLES = {"Story": "stories", "Workspace": "workspaces", "Post": "posts"}
ORDER_FIELDS = {
    "created_at": "external_references.created_at",
    "updated_at": "external_references.updated_at",
}


def check_reference(value: Any, index: int | None, *, subject: bool) -> dict[str, Any]:
    """Validate an external reference object (service name/model/ref required); `subject`:
    it names its own subject (the create_or_update route), else a story's nested one."""
    if not isinstance(value, dict):
        raise invalid("external_reference", "External reference must be an object", index)
    required = [*(("subject_type", "subject_id") if subject else ()), *REQUIRED]
    collect(
        [
            Problem(name, f"{name.replace('_', ' ').capitalize()} can't be blank", index)
            for name in required
            if value.get(name) in (None, "")
        ]
    )
    ref = _fields(value, index, "status" if subject else "external_reference.status")
    if subject:
        ref["subject_type"] = str(value["subject_type"])
        ref["subject_id"] = as_id(value["subject_id"], "subject_id", index)
    return ref


def _fields(value: dict[str, Any], index: int | None, status_field: str) -> dict[str, Any]:
    """The writable fields of a reference, typed; `status_field` names a bad status."""
    ref = {k: value[k] for k in WRITABLE if k in value}
    for key in REQUIRED:
        ref[key] = str(ref[key])
    if "locked" in ref:
        ref["locked"] = int(as_bool(ref["locked"], "locked", index))
    if ref.get("status") is not None and ref["status"] not in REFERENCE_STATUSES:
        allowed = ", ".join(REFERENCE_STATUSES)
        raise invalid(status_field, f"Status {ref['status']!r} is not one of {allowed}", index)
    return ref


def upsert_reference(ctx: Ctx, ref: dict[str, Any]) -> int:
    """create_or_update: one reference per (subject, service_name)."""
    store = ctx.store
    now = ctx.now()
    existing = store.one(
        "SELECT id FROM external_references WHERE subject_type = ? AND subject_id = ? "
        "AND service_name = ?",
        [ref["subject_type"], ref["subject_id"], ref["service_name"]],
    )
    if existing is not None:
        store.update("external_references", existing["id"], {**ref, "updated_at": now})
        return int(existing["id"])
    return store.insert("external_references", {**ref, "created_at": now, "updated_at": now})


class ReferenceRules:
    """The /external_references routes (no HTTP)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def upsert(self, attrs: dict[str, Any]) -> Row:
        """POST /external_references/create_or_update (subjects: Story, Workspace, Post)."""
        ref = check_reference(attrs, None, subject=True)
        table = SUBJECT_TABLES.get(ref["subject_type"])
        if table is None:
            raise invalid(
                "subject_type", "The sandbox supports subject_type Story, Workspace or Post"
            )
        if self.ctx.store.one(f"SELECT id FROM {table} WHERE id = ?", [ref["subject_id"]]) is None:
            raise invalid("subject_id", f"{ref['subject_type']} {ref['subject_id']} not found")
        row = self.ctx.store.by_id("external_references", upsert_reference(self.ctx, ref))
        assert row is not None
        return row

    def delete(self, ref_id: int) -> None:
        """DELETE /external_references/{id}."""
        store = self.ctx.store
        if store.one("SELECT id FROM external_references WHERE id = ?", [ref_id]) is None:
            raise not_found()
        store.run("DELETE FROM external_references WHERE id = ?", [ref_id])

    def query(self, params: Params) -> Found:
        """GET /external_references: `subject_type` is required (documented)."""
        subject_type = params.get("subject_type", "").strip()
        if not subject_type:
            raise invalid("subject_type", "subject_type is required")
        page = parse_page(params)
        where = Where()
        where.equal("subject_type", subject_type)
        where.only(page, "id")
        where.equal("subject_id", int_param(params, "subject_id"))
        for name in TEXT_FILTERS:
            where.equal(name, params.get(name, "").strip() or None)
        order = order_sql(params, ORDER_FIELDS, "updated_at:desc", "external_references")
        return select_page(self.ctx.store, "external_references", where, order, page)
