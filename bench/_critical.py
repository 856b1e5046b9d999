"""The critical path of a run, computed from its request log (docs/bench.md, "Critical path").

Each request is an interval [start, end] on the server's clock. Two requests that overlap
were in flight together, so neither waited for the other. A request that started only after
another ended may have depended on it. The *waves* of a run are the longest chain of
requests each of which started after the previous one ended: those round trips followed one
another, whatever the client did between them. By Mirsky's theorem that length is also the
least number of groups of mutually overlapping requests the log can be split into, i.e. the
minimal number of sequential round-trip waves the observed schedule holds. Times the
latency, it is the critical path: the wall time a client with no CPU cost and no start-up
would have needed for the same schedule.

The longest chain of pairwise disjoint intervals is found greedily: sort by end, take each
interval that starts at or after the end of the last one taken (the classic interval
scheduling argument: the earliest-ending choice never shortens the chain).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """One request as the server saw it: `start` and `end` in seconds on one clock."""

    start: float
    end: float
    label: str = ""  # "METHOD /route", for showing the chain


def critical_chain(spans: Iterable[Span]) -> list[Span]:
    """The longest chain of requests, each starting at or after the end of the previous."""
    chain: list[Span] = []
    last_end = float("-inf")
    for span in sorted(spans, key=lambda s: (s.end, s.start)):
        if span.start >= last_end:
            chain.append(span)
            last_end = span.end
    return chain


def critical_seconds(spans: Iterable[Span]) -> float:
    """The critical path in seconds: the longest total duration of a chain of requests each
    starting at or after the end of the previous — the round trips that followed one another,
    each at what it really took (the latency *and* the server's own time: a bulk create of
    300 stories is not answered in a round trip's latency alone). Weighted interval
    scheduling: `best[i]` is the longest chain among the first i requests by end time."""
    ordered = sorted(spans, key=lambda s: s.end)
    ends = [s.end for s in ordered]
    best = [0.0] * (len(ordered) + 1)
    for i, span in enumerate(ordered):
        before = bisect.bisect_right(ends, span.start, 0, i)  # requests ended by its start
        best[i + 1] = max(best[i], best[before] + (span.end - span.start))
    return best[-1]


def waves(spans: Iterable[Span]) -> int:
    """The minimal number of sequential round-trip waves: the longest chain's length."""
    return len(critical_chain(spans))


def describe(chain: Sequence[Span]) -> str:
    """The chain as "GET /workspaces → POST /stories ×3 → ...": runs of one label folded."""
    parts: list[str] = []
    run_label, run = "", 0
    for span in chain:
        if span.label == run_label:
            run += 1
            continue
        if run:
            parts.append(run_label if run == 1 else f"{run_label} ×{run}")
        run_label, run = span.label, 1
    if run:
        parts.append(run_label if run == 1 else f"{run_label} ×{run}")
    return " → ".join(parts)
