"""Brainstem query-parameter handling (docs/kantata-api.md): paging, `only`, flags, lists, order.

Pure functions over a `Mapping[str, str]` of query parameters; no HTTP, no SQL execution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from kxplan.sandbox.errors import SandboxError

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200

Params = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of the matching rows to return, and what `meta` says about it."""

    only: tuple[int, ...] | None = None
    limit: int | None = DEFAULT_PER_PAGE  # None: every matching row (`only` queries)
    offset: int = 0
    page_number: int = 1  # as requested, not clamped (Brainstem reports the raw value)
    page_size: int = DEFAULT_PER_PAGE

    def meta(self, count: int) -> dict[str, int]:
        """The `meta` block for `count` matching rows."""
        if count == 0:
            return {"count": 0, "page_count": 0, "page_number": 0, "page_size": self.page_size}
        if self.limit is None:
            # `only` returns everything on one page (assumed; see docs/sandbox.md).
            return {"count": count, "page_count": 1, "page_number": 1, "page_size": count}
        return {
            "count": count,
            "page_count": math.ceil(count / self.page_size),
            "page_number": self.page_number,
            "page_size": self.page_size,
        }


def _int(value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        return default


def parse_page(params: Params) -> Page:
    """`only` (no paging), else `limit`+`offset` when both are given, else `page`/`per_page`."""
    only = params.get("only")
    if only is not None and only.strip():
        ids = dict.fromkeys(int(p) for p in only.split(",") if p.strip().isdigit())
        return Page(only=tuple(ids), limit=None)
    if params.get("limit") and params.get("offset"):
        limit = min(max(_int(params["limit"], DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
        offset = max(_int(params["offset"], 0), 0)
        return Page(limit=limit, offset=offset, page_number=offset // limit + 1, page_size=limit)
    per_page = min(_int(params.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE)
    if per_page < 1:
        per_page = DEFAULT_PER_PAGE
    raw_page = _int(params.get("page"), 1)
    offset = (max(raw_page, 1) - 1) * per_page
    return Page(limit=per_page, offset=offset, page_number=raw_page, page_size=per_page)


def flag(params: Params, name: str, default: bool = False) -> bool:
    """A boolean filter: "true"/"false" in any case; blank means the default."""
    value = params.get(name, "").strip().lower()
    if value in ("true", "1", "t", "yes"):
        return True
    if value in ("false", "0", "f", "no"):
        return False
    return default


def csv(params: Params, name: str) -> tuple[str, ...]:
    """A comma-separated list parameter (blank items dropped)."""
    return tuple(p.strip() for p in params.get(name, "").split(",") if p.strip())


def int_param(params: Params, name: str) -> int | None:
    """An integer filter, or None when absent. A non-integer value is a 400."""
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise SandboxError("bad_param", f"{name} must be an integer, got {value!r}") from None


def timestamp_param(params: Params, name: str) -> str | None:
    """A datetime filter normalised to the stored form (UTC, seconds), or None."""
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise SandboxError("bad_param", f"{name} must be an ISO 8601 datetime") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_time(when)


def format_time(when: datetime) -> str:
    """How the sandbox stores and returns datetimes: ISO 8601, UTC, with offset."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def order_sql(params: Params, fields: Mapping[str, str], default: str, table: str) -> str:
    """`order=field:dir` as SQL; unknown fields fall back silently; id ascending breaks ties."""
    name, _, direction = params.get("order", "").strip().partition(":")
    if name not in fields:
        name, _, direction = default.partition(":")
    sql_dir = "DESC" if direction.strip().lower() == "desc" else "ASC"
    exprs = [f"{expr} {sql_dir}" for expr in fields[name].split("|")]
    return ", ".join([*exprs, f"{table}.id ASC"])
