"""Backoff delays: exponential with full jitter, and the server's `Retry-After`."""

from __future__ import annotations

import email.utils
import random
import time
from datetime import UTC, datetime


class Backoff:
    """Delays before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)].

    Full jitter spreads retries of many concurrent requests so they do not hit the server
    again in lockstep. `seed` makes the sequence reproducible in tests.
    """

    def __init__(self, *, base: float = 0.5, cap: float = 30.0, seed: int | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = random.Random(seed)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait; a server's `Retry-After` wins (plus a little jitter, capped)."""
        if retry_after is not None:
            # A little jitter keeps many waiters from waking at the same instant.
            return min(max(retry_after, 0.0) + self._rng.uniform(0, self.base / 4), self.cap * 4)
        ceiling = min(self.cap, self.base * (2**attempt))
        return self._rng.uniform(0, ceiling)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return max(0.0, (when - current).total_seconds())
