"""The adaptive concurrency limit (AIMD) that keeps kxplan polite under rate limits.

Kantata does not publish its rate limits, so the client learns them: every request takes a
slot; a run of successes widens the limit by one (additive increase) up to the maximum, and a
429 halves it (multiplicative decrease). One burst of 429s from requests that were all in
flight together halves the limit once, not once per request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Slot:
    """A taken slot; `generation` says which limit it was granted under."""

    generation: int


class AdaptiveLimit:
    """A counting semaphore whose size follows AIMD.

    `acquire()` blocks while `in_flight >= limit`. `release(slot, rate_limited)` frees the slot
    and adjusts the limit: +1 after `increase_after` successes in a row, halved (never below
    `minimum`) on a 429 — unless the limit was already cut after this slot was granted.
    """

    def __init__(self, maximum: int, *, minimum: int = 1, increase_after: int = 8) -> None:
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self.minimum = max(1, min(minimum, maximum))
        self.increase_after = max(1, increase_after)
        self._limit = maximum
        self._in_flight = 0
        self._successes = 0
        self._generation = 0
        self._peak = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        """The current number of requests allowed in flight."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Requests holding a slot right now."""
        return self._in_flight

    @property
    def peak(self) -> int:
        """The most requests ever in flight at once (for tests and benchmarks)."""
        return self._peak

    def acquire(self) -> Slot:
        """Wait for a free slot and take it."""
        with self._cond:
            while self._in_flight >= self._limit:
                self._cond.wait()
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return Slot(self._generation)

    def release(self, slot: Slot, *, rate_limited: bool = False) -> None:
        """Give the slot back, widening or narrowing the limit by what the request met."""
        with self._cond:
            self._in_flight -= 1
            if rate_limited:
                self._decrease(slot)
            else:
                self._increase()
            self._cond.notify_all()

    def _decrease(self, slot: Slot) -> None:
        self._successes = 0
        if slot.generation != self._generation:
            return  # this burst already cut the limit
        self._generation += 1
        self._limit = max(self.minimum, self._limit // 2)

    def _increase(self) -> None:
        self._successes += 1
        if self._successes >= self.increase_after and self._limit < self.maximum:
            self._limit += 1
            self._successes = 0
