"""Seeded, deterministic fault injection: latency, 503s, 429 token buckets (a general one and
a stricter one for `GET`/`POST /workspaces`), dropped writes, trickled answers, and "liar"
answers that contradict themselves.

`Faults` is the configuration (immutable; assign a new one to `server.faults` to change it).
`FaultInjector` holds the running state — the seeded random generator and the token bucket —
and decides, request by request, what goes wrong. Draws happen in a fixed order for every
request, so a seed gives the same sequence of faults for the same sequence of requests.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True, slots=True)
class Faults:
    """What to inject. Probabilities are 0..1; `rate_limit` is requests/second (None: off).

    `retry_after=None` sends 429s without a Retry-After header (Kantata documents none).
    `every_429`: every `every_429`-th request (counted from 1 since these faults were set)
    answers 429 whatever the buckets hold, so a run sees 429s however slowly it goes (the
    buckets depend on the wall clock); 0: off. It draws no random number.
    `every_drop_after`: likewise, every `every_drop_after`-th write that is answered (not a
    429 or a 503) is committed and then dropped without a response; 0: off.
    `workspaces_rate_limit`/`workspaces_burst`: a second token bucket that only
    `GET /workspaces` and `POST /workspaces` draw from (on top of the general one), as
    Kantata documents their own, stricter limit.
    Drops apply to writes only: "before" closes the connection without doing the write,
    "after" commits the write and then closes the connection without a response.
    `p_trickle`: the share of answers sent (status line, headers, body) one byte every
    `trickle_s` seconds.
    Liars (deterministic, every `/stories` answer): `lie_count` is added to `count` (and
    `meta`);
    `hide_markers` keeps `external_reference_ids` on stories but serves no
    `external_references` objects.
    Commit late (`p_commit_late`, creates only: POST): the connection is closed at once
    without a response, and the write is done `commit_late_s` seconds after the request
    arrived, as by a server still working on a request its client gave up on. It draws
    one more random number per request only when `p_commit_late` > 0, so the other
    faults of a seed stay the same. A server stopped before then never does the write.
    `connect_ms`: what a new connection's handshakes (TCP, TLS) take over a network. The
    first request on a connection is served no sooner than `connect_ms` after the
    connection was accepted (on loopback the handshake is instant), so a client that opens
    its connection just before sending waits that long, and one that opened it earlier
    waits less or nothing. It draws no random number.
    """

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    p_503: float = 0.0
    rate_limit: float | None = None
    burst: int = 10
    retry_after: float | None = None
    p_drop_before: float = 0.0
    p_drop_after: float = 0.0
    workspaces_rate_limit: float | None = None
    workspaces_burst: int = 2
    p_trickle: float = 0.0
    trickle_s: float = 2.0
    lie_count: int = 0
    hide_markers: bool = False
    p_commit_late: float = 0.0
    commit_late_s: float = 1.0
    every_429: int = 0
    every_drop_after: int = 0
    connect_ms: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faults:
        """Faults from a JSON object (the `PUT /__sandbox/faults` body); unknown keys fail."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        return cls(**dict(data))

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON object."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one request."""

    delay_s: float = 0.0
    status: int | None = None  # 429 or 503 instead of handling the request
    retry_after: float | None = None
    drop_before: bool = False
    drop_after: bool = False
    commit_late: bool = False
    trickle_s: float = 0.0  # > 0: send the body one byte every `trickle_s` seconds


class FaultInjector:
    """Applies one `Faults` configuration; thread-safe."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._clock = clock
        self._lock = threading.Lock()
        self._requests = 0
        self._writes = 0
        now = clock()
        self._general = _Bucket(faults.rate_limit, faults.burst, now, float(faults.burst))
        ws_burst = faults.workspaces_burst
        self._workspaces = _Bucket(faults.workspaces_rate_limit, ws_burst, now, float(ws_burst))

    def decide(self, method: str, route: str = "") -> Decision:
        """Draw this request's fate (for one configuration, always the same number of draws,
        in the same order)."""
        f = self.faults
        with self._lock:
            jitter = self._rng.random()
            fail = self._rng.random()
            before = self._rng.random()
            after = self._rng.random()
            trickle = self._rng.random() if f.p_trickle > 0 else 1.0
            late = self._rng.random() < f.p_commit_late if f.p_commit_late > 0 else False
            now = self._clock()
            limited = not self._general.take(now)
            self._requests += 1
            if f.every_429 > 0 and self._requests % f.every_429 == 0:
                limited = True
            if route == "/workspaces" and not self._workspaces.take(now):
                limited = True
        delay = max(0.0, f.latency_ms + f.jitter_ms * (2 * jitter - 1)) / 1000.0
        if limited:
            return Decision(delay, 429, f.retry_after)
        if fail < f.p_503:
            return Decision(delay, 503)
        write = method.upper() in WRITE_METHODS
        return Decision(
            delay,
            drop_before=write and before < f.p_drop_before,
            drop_after=write and (after < f.p_drop_after or self._nth_write(f.every_drop_after)),
            commit_late=late and method.upper() == "POST",
            trickle_s=f.trickle_s if trickle < f.p_trickle else 0.0,
        )

    def _nth_write(self, every: int) -> bool:
        """Whether this answered write is the every-th one (`every_drop_after`)."""
        if every <= 0:
            return False
        with self._lock:
            self._writes += 1
            return self._writes % every == 0


@dataclass(slots=True)
class _Bucket:
    """A token bucket: `rate` tokens a second up to `burst`; `rate=None` never limits."""

    rate: float | None
    burst: int
    stamp: float
    tokens: float

    def take(self, now: float) -> bool:
        if self.rate is None:
            return True
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
