"""Where Kantata places a new task among its siblings, learnt from what the server returned.

Kantata's documentation does not say whether a new story sorts before or after its siblings
(docs/apply.md, "Sibling order"): old answers gave new stories the lowest position, newer
ones too, but it is not promised. Position is not writable through the API, so the only way
to get the manifest's order is to send the creates in the order that yields it, and that
needs the answer. It is read from stories whose creation order is known: among siblings, a
higher id was created later, so comparing ids with positions tells which end new ones take.
Pure: no I/O.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from kxplan.ids import id_order

#: New siblings sort before the older ones (lower position).
FIRST = "first"
#: New siblings sort after the older ones (higher position).
LAST = "last"

#: (parent id or None, story id, position) of one story.
Sibling = tuple[str | None, str, int]


def learn_placement(stories: Iterable[Sibling]) -> str | None:
    """FIRST or LAST when the stories say so, None when they cannot tell (no two siblings,
    or as many pairs each way: people may have reordered tasks by hand, so it is a vote)."""
    listed = list(stories)
    if not _rising_ids(list(map(operator.itemgetter(1), listed))):
        # Oldest first (ties by position); Kantata lists its stories by id, so this is rare.
        listed.sort(key=lambda s: (id_order(s[1]), s[2]))
    # Each story against the previous (next older) sibling: every pair of consecutive
    # siblings in id order, counted in one pass without building the sibling lists.
    previous: dict[str | None, int] = {}  # parent -> the position of its last story so far
    first = last = 0
    for parent, _, position in listed:
        older = previous.get(parent)
        previous[parent] = position
        if older is None:
            continue
        if position < older:
            first += 1
        elif position > older:
            last += 1
    if first == last:
        return None
    return FIRST if first > last else LAST


def _rising_ids(ids: list[str]) -> bool:
    """Whether the ids are all numeric and strictly rising: then they are already in
    `id_order`, with no ties, and sorting by it would change nothing."""
    if not all(map(str.isdigit, ids)):
        return False
    numbers = list(map(int, ids))
    return all(map(operator.lt, numbers, numbers[1:]))
