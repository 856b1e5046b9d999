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

from collections.abc import Iterable
from itertools import pairwise

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
    groups: dict[str | None, list[tuple[tuple[int, int, str], int]]] = {}
    for parent, story_id, position in stories:
        groups.setdefault(parent, []).append((id_order(story_id), position))
    first = last = 0
    for members in groups.values():
        members.sort()
        for (_, older), (_, newer) in pairwise(members):
            if newer < older:
                first += 1
            elif newer > older:
                last += 1
    if first == last:
        return None
    return FIRST if first > last else LAST
