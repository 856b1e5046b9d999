"""Ordering changes into waves, and estimating what the applier will send.

Every planner step carries a sort key `(wave, group, a, b, text)`; sorting by it gives the
apply order, and the same inputs always give the same order (never dict or id order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.status import StatusReplace, StatusUpdate
from kxplan.changes.task import TaskCreate

SortKey = tuple[int, int, int, int, str]

#: Bulk creates carry at most this many stories (docs/kantata-api.md).
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
    """Requests the applier will send for these changes (see docs/plan.md).

    Exact for the common cases; a lower bound when a move has to be lifted to the top level
    first (its subtree still holds tasks that move out or are deleted), which costs one more
    PUT, and when an answer is lost and looked up.
    """
    calls = [c for c in changes if c.action.makes_calls]
    tasks = [c for c in calls if c.kind is Kind.TASK]
    return (
        _create_writes(tasks)
        + _story_puts(tasks)
        + sum(1 for c in tasks if c.action is Action.DELETE)
        + sum(_other_writes(c) for c in calls if c.kind is not Kind.TASK)
    )


def _story_puts(tasks: list[Change]) -> int:
    """One PUT per story updated, moved or adopted: the applier merges a story's changes."""
    merged = (Action.UPDATE, Action.MOVE, Action.ADOPT)
    return len({c.id or c.key for c in tasks if c.action in merged})


def _create_writes(tasks: list[Change]) -> int:
    """Bulk creates, parents before children, plus one PUT per checklist item created done.

    As the applier does: with moves in the plan, a create under an existing task (and its new
    subtasks) waits until the moves are done, and those are sent depth by depth.
    """
    creates = [c for c in tasks if c.action is Action.CREATE]
    moves = any(c.action is Action.MOVE for c in tasks)
    created = {c.key for c in creates}
    waiting: set[str] = set()
    level: dict[str, int] = {}
    batches: dict[tuple[bool, int], int] = {}
    done_items = 0
    for c in sorted(creates, key=lambda c: c.depth):  # parents first
        if moves and c.parent is not None and (c.parent not in created or c.parent in waiting):
            waiting.add(c.key)
            group = (True, c.depth)
        else:
            level[c.key] = level[c.parent] + 1 if c.parent in level else 0
            group = (False, level[c.key])
        batches[group] = batches.get(group, 0) + 1
        if isinstance(c, TaskCreate):
            done_items += sum(1 for i in c.after.get("checklist", []) if i["completed"])
    return done_items + sum(math.ceil(n / BULK_CREATE_LIMIT) for n in batches.values())


def _other_writes(c: Change) -> int:
    """Status sets, statuses, the workspace's set and checklist items: one call each, except
    a status replaced or both renamed and reordered."""
    if isinstance(c, StatusReplace):
        # create the successor, put each task on it, delete the old status; when the name
        # stays, the successor is created under a temporary name and renamed last
        old, new = c.before["name"] or "", c.after["name"]
        same = old.casefold() == new.casefold()
        return 2 + len(c.after["task_ids"]) + (1 if same else 0)
    if isinstance(c, StatusUpdate):
        # a rename, then a reorder: two PUTs when both change
        return max(1, len({"name", "position"} & set(c.fields)))
    return 1
