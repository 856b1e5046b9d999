"""Ordering changes into the apply order, and estimating what the applier will send.

Every planner step is placed in a stage of kxplan.changes.stages (the one table of the apply
order) with named sort values; sorting by `(wave, stage, values, text)` gives the apply
order, and the same inputs always give the same order (never dict or id order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.batches import create_posts, has_moves, story_puts
from kxplan.changes.depth import count_lifts
from kxplan.changes.post import post_writes
from kxplan.changes.stages import Stage, stage_number
from kxplan.changes.task import TaskCreate
from kxplan.model import LiveState
from kxplan.planner.status_model import status_writes

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


def estimate_writes(changes: Sequence[Change], live: LiveState) -> int:
    """Requests the applier will send for these changes (docs/plan.md, "JSON"), counted
    with the applier's own rules: the bulk creates and the merged story PUTs of
    kxplan.changes.batches, the lifts of kxplan.changes.depth (a move whose subtree still
    holds tasks that move out or are deleted goes to the top level first), and the status
    writes of kxplan.changes.status_writes played over the sets of `live`
    (kxplan.planner.status_model).

    Not counted, because they depend on answers the plan cannot know: a move Kantata
    refuses at first and that is sent again (with its lift, if a delete would take it
    along), and a create whose answer is lost.
    """
    calls = [c for c in changes if c.action.makes_calls]
    tasks = [c for c in calls if c.kind is Kind.TASK]
    return (
        _create_writes(tasks)
        + len(story_puts(tasks, lambda c: c.id or c.key))
        + count_lifts(changes)
        + sum(1 for c in tasks if c.action is Action.DELETE)
        + status_writes(calls, live)
        + sum(post_writes(c) for c in calls if c.kind is Kind.POST)
        # one request each: a status set, a workspace create or update, a checklist item
        + sum(1 for c in calls if c.kind not in (Kind.TASK, Kind.STATUS, Kind.POST))
    )


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
