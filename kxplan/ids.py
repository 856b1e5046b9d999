"""Kantata ids: the one order kxplan sorts them in, and the ids an answer lists.

Kantata's ids are integers served as strings (`"id": "42"`, see docs/kantata-api.md), so
text order would put `"10"` before `"9"`. A higher id was created later, which is why "the
oldest of several" is "the lowest id" throughout kxplan. Anything that is not all digits
(only hand-written test data has such ids) sorts after every numeric id, as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: What `id_order` returns: compare two of them to compare the ids.
IdOrder = tuple[int, int, str]


def id_order(ident: str) -> IdOrder:
    """Sort key for ids: numeric ids in numeric order (oldest first), anything else after
    them in text order."""
    return (0, int(ident), "") if ident.isdigit() else (1, 0, ident)


def result_ids(envelope: Mapping[str, Any]) -> list[str]:
    """Ids of the primary objects of a Kantata answer, in `results` order (entries that are
    not `{key, id}` objects are skipped)."""
    refs = envelope.get("results") or ()
    return [str(r["id"]) for r in refs if isinstance(r, Mapping) and r.get("id") is not None]
