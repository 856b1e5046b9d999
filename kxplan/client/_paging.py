"""Paging: every record of a listing exactly once, and what makes a listing contradict itself.

Kantata answers a listing as `{count, meta?, results: [{key, id}], <type>: {id: object}}`
(docs/kantata-api.md, envelopes): `results` names the primary objects in order, and the typed
maps hold them together with side-loaded objects of the same type, so records are read
through `results`, never from the maps.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kxplan.client._lanes import STRICT_PATHS
from kxplan.client._urls import plain_path
from kxplan.errors import InconsistentReadError

log = logging.getLogger("kxplan.client")

#: Largest page Kantata serves; larger `per_page` values are silently clamped to it.
PAGE_SIZE = 200

#: A stable order for paging: creation time never changes, and the server adds `id ASC`.
STABLE_ORDER = "created_at:asc"

#: Envelope keys that are not typed maps of objects.
_ENVELOPE_KEYS = frozenset({"count", "results", "meta"})

#: The typed map of a type no page carried (shared, never written: one less dict per record).
_NO_OBJECTS: Mapping[str, dict[str, Any]] = MappingProxyType({})

Envelope = dict[str, Any]
#: `GET path?query`, retried as the client retries it.
Get = Callable[[str, Mapping[str, Any]], Envelope]
#: Page numbers -> their envelopes, fetched concurrently, order kept.
FanOut = Callable[[Callable[[int], Envelope], Iterable[int]], list[Envelope]]


@dataclass(frozen=True, slots=True, eq=False)
class Records:
    """The primary objects of a listing, in server order and de-duplicated by id, plus every
    side-loaded object of every page (`included[type][id]`, e.g. `included["tags"]["7"]`)."""

    items: tuple[dict[str, Any], ...]
    included: Mapping[str, Mapping[str, dict[str, Any]]] = field(default_factory=dict)
    count: int = 0
    pages: int = 0

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)


#: A domain check for `get_all`: what in these records points at nothing (empty: all fine).
Check = Callable[[Records], Iterable[str]]


def read_listing(
    get: Get, fan_out: FanOut, path: str, params: Mapping[str, Any] | None, check: Check | None
) -> Records:
    """`KantataClient.get_all`: the listing read whole, once more if it contradicts itself,
    InconsistentReadError if the second read does too."""
    query = {"order": STABLE_ORDER, **(params or {}), "per_page": PAGE_SIZE}
    problems: list[str] = []
    for attempt in range(2):
        envelopes = read_pages(get, fan_out, path, query)
        records = collect(envelopes)
        problems = listing_problems(envelopes, PAGE_SIZE)
        if not problems and check is not None:
            problems = list(check(records))
        if not problems:
            return records
        if attempt == 0:
            log.warning("GET %s contradicted itself (%s); reading it again", path, problems[0])
    raise _inconsistent(path, problems)


def _inconsistent(path: str, problems: Sequence[str]) -> InconsistentReadError:
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    shown = "; ".join(problems[:3]) + more
    return InconsistentReadError(
        f"the listing contradicted itself on two reads in a row: {shown}",
        problems=tuple(problems),
        method="GET",
        path=plain_path(path),
        hint="kxplan stopped before changing anything based on it; try again in a minute, "
        "and report it to Kantata support if it persists",
    )


def read_pages(get: Get, fan_out: FanOut, path: str, query: Mapping[str, Any]) -> list[Envelope]:
    """Every page of a listing: page 1, then pages 2..n together once page 1 tells how many
    there are (one at a time on a path with a strict rate limit)."""
    first = get(path, {**query, "page": 1})
    if listing_total(first) is None:
        return _walk_pages(get, path, query, first)
    pages = range(2, page_count(first, PAGE_SIZE) + 1)
    if plain_path(path) in STRICT_PATHS:  # one page at a time under the stricter limit
        rest = [get(path, {**query, "page": n}) for n in pages]
    else:
        rest = fan_out(lambda n: get(path, {**query, "page": n}), pages)
    return [first, *rest]


def _walk_pages(get: Get, path: str, query: Mapping[str, Any], first: Envelope) -> list[Envelope]:
    """Pages of a listing that says nothing about its size (neither `meta` nor `count`):
    one after another until a page is short or brings nothing new."""
    envelopes = [first]
    seen = {_ref(r) for r in first.get("results") or ()}
    while len(envelopes[-1].get("results") or ()) >= PAGE_SIZE:
        page = get(path, {**query, "page": len(envelopes) + 1})
        refs = {_ref(r) for r in page.get("results") or ()}
        if not refs - seen:
            break  # a server that ignores `page` would otherwise be read forever
        seen |= refs
        envelopes.append(page)
    return envelopes


def listing_total(envelope: Mapping[str, Any]) -> int | None:
    """The listing's total from `count` (or `meta.count`); None when the server sent neither."""
    count = envelope.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    meta = envelope.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("count"), int):
        return int(meta["count"])
    return None


def _count(envelope: Mapping[str, Any]) -> int:
    total = listing_total(envelope)
    return len(envelope.get("results") or ()) if total is None else total


def _ref(ref: Mapping[str, Any]) -> tuple[str, str]:
    return (str(ref.get("key")), str(ref.get("id")))


def listing_problems(envelopes: Sequence[Mapping[str, Any]], page_size: int) -> list[str]:
    """What makes these pages of one listing contradict themselves (empty when nothing):
    totals that differ between pages, a page larger than its page size, `results` entries
    naming an object the page does not carry, or more or fewer distinct records than the
    total says. (A listing that changed while it was read shows up the same way.)"""
    problems: list[str] = []
    totals = sorted({t for e in envelopes if (t := listing_total(e)) is not None})
    if len(totals) > 1:
        problems.append(f"the total changed between pages ({', '.join(map(str, totals))})")
    records: set[tuple[str, str]] = set()
    for number, env in enumerate(envelopes, start=1):
        # (`type(r) is dict` first: the ABC check costs about as much as reading the ref)
        refs = [
            (str(r.get("key")), str(r.get("id")))  # _ref(r), inline: once per record
            for r in env.get("results") or ()
            if type(r) is dict or isinstance(r, Mapping)
        ]
        problems += _page_problems(number, env, refs, page_size)
        records.update(refs)
    if len(totals) == 1 and len(records) != totals[0] and not problems:
        problems.append(f"`count` says {totals[0]} but the pages held {len(records)} records")
    return problems


def _page_problems(
    number: int, env: Mapping[str, Any], refs: Sequence[tuple[str, str]], page_size: int
) -> list[str]:
    problems = []
    if len(refs) > page_size:
        problems.append(f"page {number} has {len(refs)} results, more than a page holds")
    dangling = [f"{k} {i}" for k, i in refs if i not in (env.get(k) or {})]
    if dangling:
        problems.append(
            f"page {number} lists {', '.join(dangling[:3])}"
            + (f" (and {len(dangling) - 3} more)" if len(dangling) > 3 else "")
            + " in `results` without the object"
        )
    return problems


def page_count(first: Mapping[str, Any], requested: int) -> int:
    """How many pages a listing has, from page 1: `meta.page_count`, else from `count` and the
    size page 1 actually had (servers clamp `per_page` silently)."""
    meta = first.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("page_count"), int):
        return max(1, int(meta["page_count"]))
    total = _count(first)
    got = len(first.get("results") or ())
    size = got if 0 < got < total else requested
    return max(1, math.ceil(total / size))


def collect(envelopes: Iterable[Mapping[str, Any]]) -> Records:
    """Merge pages into `Records`: primary objects in `results` order, first copy of each id."""
    items: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    included: dict[str, dict[str, dict[str, Any]]] = {}
    count, pages = 0, 0
    for env in envelopes:
        pages += 1
        count = max(count, _count(env))
        _include(included, env)
        for ref in env.get("results") or ():
            key, oid = str(ref.get("key")), str(ref.get("id"))
            if (key, oid) in seen:
                continue
            obj = included.get(key, _NO_OBJECTS).get(oid)
            if obj is not None:
                seen.add((key, oid))
                items.append(obj)
    return Records(tuple(items), included, count, pages)


def _include(included: dict[str, dict[str, dict[str, Any]]], env: Mapping[str, Any]) -> None:
    """Add the typed maps of one page to `included`, keeping the first copy of each object."""
    for key, objects in env.items():
        if key not in _ENVELOPE_KEYS and isinstance(objects, dict):
            bucket = included.setdefault(key, {})
            if not bucket.keys().isdisjoint(objects) or not _str_keys(objects):
                for oid, obj in objects.items():
                    bucket.setdefault(str(oid), obj)
            else:  # nothing to keep a first copy of, no key to make a string: add in one go
                bucket.update(objects)


def _str_keys(objects: dict[Any, Any]) -> bool:
    """Whether every key is a str (always so in decoded JSON), so str() changes none."""
    return set(map(type, objects)) <= {str}
