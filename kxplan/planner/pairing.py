"""Pairing an ordered, named list with its live copy: checklist items, and statuses in a set.

Both are identified by name inside their owner (a task, a status set), so both are planned
the same way (kxplan.planner.checklist, kxplan.planner.statuses):

1. `pair_by_name`: which live entry each desired entry is: the same name, else one of its
   `renamed_from` names, else (statuses, which Kantata may match ignoring case) the same
   name ignoring case;
2. `positions_to_write`: when the order or the membership changes, which paired entries
   need their position written (kxplan.planner.positions replays the applier's placement).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, TypeVar

from kxplan.planner.positions import to_place


class Wanted(Protocol):
    """A desired entry: its name, and the names it had before (`renamed_from`)."""

    @property
    def name(self) -> str: ...

    @property
    def renamed_from(self) -> tuple[str, ...]: ...


class Named(Protocol):
    """A live entry: its name."""

    @property
    def name(self) -> str: ...


L = TypeVar("L", bound=Named)


def pair_by_name(
    desired: Sequence[Wanted], live: Sequence[L], *, ignore_case: bool = False
) -> dict[int, L]:
    """Desired index -> the live entry it is; each live entry is paired at most once.

    In three passes, each over the desired entries in order:
    1. the first unpaired live entry (in `live` order, by position) of the same name;
    2. else the first unpaired live entry named by one of its `renamed_from` names, unless
       a desired entry carries that name (then that entry is its owner);
    3. with `ignore_case`, else the first live entry of the same name ignoring case, when
       it is unpaired and no desired entry carries its exact name (it is renamed).
    """
    pairs: dict[int, L] = {}
    used: set[int] = set()  # indexes into `live` already paired

    def pair(index: int, at: int | None) -> None:
        if at is not None and index not in pairs:
            pairs[index] = live[at]
            used.add(at)

    def free_named(name: str) -> int | None:
        return next((n for n, e in enumerate(live) if n not in used and e.name == name), None)

    for index, wanted in enumerate(desired):
        pair(index, free_named(wanted.name))
    names = {wanted.name for wanted in desired}
    for index, wanted in enumerate(desired):
        for old in wanted.renamed_from:
            if old not in names:
                pair(index, free_named(old))
    if ignore_case:
        for index, wanted in enumerate(desired):
            folded = wanted.name.casefold()
            first = next((n for n, e in enumerate(live) if e.name.casefold() == folded), None)
            if first is not None and first not in used and live[first].name not in names:
                pair(index, first)
    return pairs


def positions_to_write(
    start: Sequence[Hashable],
    wanted: Sequence[Hashable],
    numbered: set[Hashable],
    unchanged: bool,
) -> set[Hashable]:
    """The entries whose position the applier must write.

    Nothing when `unchanged` (the order and the membership stay): a list that Kantata
    numbers differently but in the right order shows no change. Otherwise every entry
    whose number is not its target (`numbered`: right if Kantata simply stores the number),
    plus every entry the applier's placement would leave pushed off its place, replayed
    from `start` (the list when placing begins) to `wanted` (right if writing a position
    inserts there).
    """
    if unchanged:
        return set()
    return numbered | to_place(start, wanted)
