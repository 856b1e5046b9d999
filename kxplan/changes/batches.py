"""How the applier groups changes into requests: pure functions, no I/O.

The applier sends with them (`kxplan.apply._creates`, `kxplan.apply._tasks`) and the
planner's estimate counts with them (`kxplan.planner.order.estimate_writes`), so the plan's
`requests.write` and what apply sends come from the same rules (docs/plan.md, "JSON").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from kxplan.changes.base import Action, Change, Kind

#: Kantata's limit on objects in one bulk `POST /stories` (docs/kantata-api.md, "Stories").
#: The one home of the number for planner and applier; the sandbox keeps its own (it plays
#: the server).
BULK_LIMIT = 300


def bulk_sizes(count: int) -> list[int]:
    """The sizes of the bulk creates that send `count` tasks of one level: BULK_LIMIT each,
    the rest last (`[]` for none)."""
    full, rest = divmod(count, BULK_LIMIT)
    return [BULK_LIMIT] * full + ([rest] if rest else [])


def create_levels(changes: Sequence[Change]) -> list[list[Change]]:
    """Creates grouped so every parent is created in an earlier group than its children.

    Computed from the parent keys rather than trusting `depth`, so a plan built by any
    version of the planner still creates parents first.
    """
    by_key = {c.key: c for c in changes}
    memo: dict[str, int] = {}

    def level(c: Change) -> int:
        if c.key not in memo:
            parent = by_key.get(c.parent) if c.parent else None
            memo[c.key] = 0 if parent is None else level(parent) + 1
        return memo[c.key]

    levels: dict[int, list[Change]] = {}
    for c in changes:
        levels.setdefault(level(c), []).append(c)
    return [levels[n] for n in sorted(levels)]


def has_moves(changes: Iterable[Change]) -> bool:
    """Whether the plan moves a task (then some creates wait for the moves)."""
    return any(c.kind is Kind.TASK and c.action is Action.MOVE for c in changes)


def split_deferred(changes: Sequence[Change], moves: bool) -> tuple[list[Change], list[Change]]:
    """(creates to send now, creates to send after the moves).

    When the plan moves tasks, a create under an existing task waits (with its new
    descendants): the existing parent, or one of its ancestors, may be moving, and only
    after the moves is its depth final.
    """
    if not moves:
        return list(changes), []
    created = {c.key for c in changes}
    waiting: set[str] = set()
    now: list[Change] = []
    later: list[Change] = []
    for level in create_levels(changes):  # parents first, so `waiting` grows down the tree
        for c in level:
            if c.parent is not None and (c.parent not in created or c.parent in waiting):
                waiting.add(c.key)
                later.append(c)
            else:
                now.append(c)
    return now, later


def by_depth(changes: Iterable[Change]) -> dict[int, list[Change]]:
    """Changes by their planned depth (the creates that waited are sent depth by depth)."""
    groups: dict[int, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.depth, []).append(c)
    return groups


def create_posts(creates: Sequence[Change], moves: bool) -> int:
    """How many bulk `POST /stories` the applier sends for `creates`: the ones sent now
    level by level, then the ones that waited for the moves, depth by depth (each depth
    level by level)."""
    now, later = split_deferred(creates, moves)
    groups = [now, *by_depth(later).values()]
    return sum(len(bulk_sizes(len(level))) for group in groups for level in create_levels(group))


#: Merged into one story PUT: a task's update, move and adoption.
MERGED = (Action.UPDATE, Action.MOVE, Action.ADOPT)


def story_puts(
    changes: Iterable[Change], story_id: Callable[[Change], str]
) -> list[tuple[str, list[Change]]]:
    """The story PUTs that send these task changes: one per story (`story_id` of each
    change), carrying every update, move and adoption of it, in first-seen order."""
    merged: dict[str, list[Change]] = {}
    for c in changes:
        if c.kind is Kind.TASK and c.action in MERGED:
            merged.setdefault(story_id(c), []).append(c)
    return list(merged.items())
