"""The list filters that stories and posts share, by the same documented names
(docs/kantata-api.md): created/updated before/after, and the `external_reference_*`
filters that keep the objects carrying (or not carrying) a matching external reference."""

from __future__ import annotations

from collections.abc import Sequence

from kxplan.sandbox.params import Params, csv, flag
from kxplan.sandbox.params import timestamp_param as ts
from kxplan.sandbox.sql import Where

#: (parameter, SQL operator, column).
TIME_FILTERS = (
    ("updated_after", ">", "updated_at"),
    ("updated_before", "<", "updated_at"),
    ("created_after", ">", "created_at"),
    ("created_before", "<", "created_at"),
)
#: (parameter, column of external_references) every subject type documents.
REFERENCE_FILTERS: tuple[tuple[str, str], ...] = (
    ("external_reference_service_name", "service_name"),
    ("external_reference_service_model", "service_model"),
    ("external_reference_service_model_ref", "service_model_ref"),
    ("external_reference_status", "status"),
    ("external_reference_external_status", "external_status"),
)


def time_filters(params: Params, where: Where, table: str) -> None:
    """`created_after` & co. on `table`'s timestamps."""
    for name, op, col in TIME_FILTERS:
        value = ts(params, name)
        if value is not None:
            where.add(f"{table}.{col} {op} ?", value)


def reference_filters(
    params: Params,
    where: Where,
    table: str,
    subject_type: str,
    *,
    extra: Sequence[tuple[str, str]] = (),
    most_refs: int | None = None,
) -> None:
    """The `external_reference_*` filters on `table`'s rows of `subject_type` (plus the
    `extra` (parameter, column) pairs that one endpoint documents; `most_refs` caps the
    `external_reference_service_model_refs` list where the endpoint does)."""
    has = (
        f"EXISTS (SELECT 1 FROM external_references e WHERE e.subject_type = '{subject_type}' "
        f"AND e.subject_id = {table}.id"
    )  # opened here; each use closes it with its own conditions and `)`
    wanted = Where()
    for name, col in (*REFERENCE_FILTERS, *extra):
        wanted.equal(f"e.{col}", params.get(name, "").strip() or None)
    refs = csv(params, "external_reference_service_model_refs")
    if refs:
        wanted.among("e.service_model_ref", refs if most_refs is None else refs[:most_refs])
    if wanted.clauses:
        where.add(has + " AND " + wanted.sql() + ")", *wanted.args)
    without = params.get("without_external_reference_service_name", "").strip()
    if without:
        where.add("NOT " + has + " AND e.service_name = ?)", without)
    if "has_external_references" in params:
        prefix = "" if flag(params, "has_external_references") else "NOT "
        where.add(prefix + has + ")")
