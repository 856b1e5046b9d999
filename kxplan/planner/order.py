"""Ordering changes into waves, and estimating what the applier will send.

Every planner step carries a sort key `(wave, group, a, b, text)`; sorting by it gives the
apply order, and the same inputs always give the same order (never dict or id order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kxplan.plan import Action, Change, Kind

SortKey = tuple[int, int, int, int, str]

#: Bulk creates carry at most this many stories (NOTES §5).
BULK_CREATE_LIMIT = 300

# Wave numbers, as in kxplan.plan.WAVES.
W_STATUS, W_WORKSPACE, W_CREATE, W_UPDATE, W_CHECKLIST, W_DELETE = range(6)


@dataclass(frozen=True, slots=True)
class Step:
    """A change with its place in the plan."""

    order: SortKey
    change: Change


def step(change: Change, wave: int, group: int = 0, a: int = 0, b: int = 0, text: str = "") -> Step:
    """A Step whose change records its wave."""
    return Step((wave, group, a, b, text or change.key), replace(change, wave=wave))


def arrange(steps: Iterable[Step]) -> tuple[Change, ...]:
    """Changes in apply order."""
    ordered = sorted(steps, key=_tiebreak)
    return tuple(s.change for s in ordered)


def _tiebreak(s: Step) -> tuple[SortKey, str, str, str, str]:
    # Ties (e.g. two unmanaged tasks with one title) are broken by values, never input order.
    c = s.change
    return (s.order, c.kind.value, c.action.value, c.path, c.id or "")


def estimate_writes(changes: Iterable[Change]) -> int:
    """Requests the applier will send for these changes (see PRODUCT §7)."""
    creates_by_depth: dict[int, int] = {}
    writes = 0
    for c in changes:
        if not c.action.makes_calls:
            continue
        if c.kind is Kind.TASK and c.action is Action.CREATE:
            creates_by_depth[c.depth] = creates_by_depth.get(c.depth, 0) + 1
            checklist = (c.after or {}).get("checklist", [])
            writes += sum(1 for item in checklist if item.get("completed"))
        elif c.kind is Kind.STATUS and c.action is Action.REPLACE:
            # delete the old status, create the new one, put each task back on it
            writes += 2 + len((c.after or {}).get("task_ids", []))
        else:
            writes += 1
    return writes + sum(math.ceil(n / BULK_CREATE_LIMIT) for n in creates_by_depth.values())
