"""How desired and live values are compared, so cosmetic differences never show as changes.

The rules (documented for users in docs/plan.md):
- text (title, description): line endings become `\\n`, trailing whitespace is stripped from
  every line, and leading/trailing blank space from the whole text; None equals "";
- dates: compared as `YYYY-MM-DD` strings (a datetime is cut to its date);
- tags: compared as sets, case-insensitively, ignoring surrounding spaces and duplicates;
- priority and type: compared case-insensitively;
- everything else: compared as is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kxplan.model import TASK_FIELDS, DesiredTask, LiveTask

#: Task fields compared on update, in display order (parent and checklist are planned apart).
COMPARED_FIELDS: tuple[str, ...] = tuple(f for f in TASK_FIELDS if f not in ("parent", "checklist"))


def norm_text(value: str | None) -> str:
    """Text under the whitespace rule above."""
    if not value:
        return ""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def norm_date(value: str | None) -> str | None:
    """`YYYY-MM-DD`, or None."""
    return str(value)[:10] if value else None


def unique_tags(tags: Iterable[str]) -> list[str]:
    """Tags stripped, first spelling of each case-insensitive duplicate kept, order kept."""
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        clean = tag.strip()
        if clean and clean.casefold() not in seen:
            seen.add(clean.casefold())
            out.append(clean)
    return out


def desired_value(task: DesiredTask, field: str) -> Any:
    """The JSON-ready value the manifest asks for."""
    if field == "tags":
        return unique_tags(task.tags)
    value = getattr(task, field)
    return list(value) if isinstance(value, tuple) else value


def live_value(task: LiveTask, field: str) -> Any:
    """The JSON-ready live value of a compared field."""
    value = getattr(task, field)
    return list(value) if isinstance(value, tuple) else value


def same(field: str, desired: Any, live: Any) -> bool:
    """Whether two values of `field` are equal under the normalisation rules."""
    if field in ("title", "description"):
        return norm_text(desired) == norm_text(live)
    if field in ("start_date", "due_date"):
        return norm_date(desired) == norm_date(live)
    if field == "tags":
        return {t.casefold() for t in unique_tags(desired)} == {
            t.casefold() for t in unique_tags(live)
        }
    if field in ("priority", "type"):
        return str(desired or "").casefold() == str(live or "").casefold()
    return bool(desired == live)
