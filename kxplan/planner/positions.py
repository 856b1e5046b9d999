"""Which items of an ordered list need their position written, found by replaying the apply.

Kantata keeps checklist items and statuses in a 1-based list: writing an item's position
inserts it there and shifts the others (docs/apply.md, "Positions"). The applier places
items lowest target first. An item already at its target index can still be pushed off it
by the moves and inserts before it, so "is its position right now?" is the wrong question;
replaying the placement on the list as it will be when placing starts gives the exact set
of writes, and the plan is empty after applying it (the applier reads positions back).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def to_place(start: Sequence[Hashable], desired: Sequence[Hashable]) -> set[Hashable]:
    """The members of `desired` whose position must be written.

    `start` is the list when placing begins (items not in `desired` may be in it: they end
    up after the desired ones); a desired item missing from `start` is inserted at its
    index (a create that sends its position) and is not reported.
    """
    order = list(start)
    writes: set[Hashable] = set()
    for index, key in enumerate(desired):
        if key not in order:
            order.insert(index, key)
            continue
        if order.index(key) != index:
            writes.add(key)
            order.remove(key)
            order.insert(index, key)
    return writes
