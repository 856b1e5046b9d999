"""Ordering changes into the apply order, and estimating what the applier will send.

Every planner step is placed in a stage of kxplan.changes.stages (the one table of the apply
order) with named sort values; sorting by `(wave, stage, values, text)` gives the apply
order, and the same inputs always give the same order (never dict or id order).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.batches import create_posts, has_moves
from kxplan.changes.stages import Stage, stage_number
from kxplan.changes.status import StatusReplace, StatusUpdate
from kxplan.changes.task import TaskCreate

SortKey = tuple[int, int, tuple[int, ...], str]


@dataclass(frozen=True, slots=True)
class Step:
    """A change with its place in the plan."""

    order: SortKey
    change: Change


def place(stage: Stage, change: Change, text: str = "", **by: int) -> Step:
    """`change` placed in `stage` (kxplan.changes.stages), sorted inside it by the stage's
    `by` values (named, e.g. `depth=2, rank=7`); the change records the stage's wave."""
    placed = replace(change, wave=stage.wave_number)
    if not stage.takes(placed):
        raise TypeError(f"kxplan bug: {type(change).__name__} placed in stage {stage.name!r}")
    order = (stage.wave_number, stage_number(stage), stage.sort_values(by), text or change.key)
    return Step(order, placed)


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
    """The bulk creates the applier sends (kxplan.changes.batches: the same functions it
    sends with), plus one PUT per checklist item created done."""
    creates = [c for c in tasks if c.action is Action.CREATE]
    done_items = sum(
        1
        for c in creates
        if isinstance(c, TaskCreate)
        for item in c.after.get("checklist", [])
        if item["completed"]
    )
    return create_posts(creates, has_moves(tasks)) + done_items


def _other_writes(c: Change) -> int:
    """Status sets, statuses, the workspace's set and checklist items: one call each, except
    a status replaced or both renamed and reordered."""
    if isinstance(c, StatusReplace):
        # create the successor, put each task on it, delete the old status; when the name
        # stays, the successor is created under a temporary name and renamed last
        old, new = c.before["name"] or "", c.after["name"]
        same = old.casefold() == new.casefold()
        return 2 + len(c.after["task_ids"]) + (1 if same else 0)
    if c.kind is Kind.POST and c.action in (Action.CREATE, Action.UPDATE):
        return 2  # the post, then its marker (kxplan.apply._posts)
    if isinstance(c, StatusUpdate):
        # a rename, then a reorder: two PUTs when both change
        return max(1, len({"name", "position"} & set(c.fields)))
    return 1
