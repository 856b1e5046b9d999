"""Lanes: a concurrency limit plus the pause every request of it keeps after a 429.

Requests to most paths share one lane; `GET`/`POST /workspaces` have their own lane of one
request at a time (Kantata's Rate Limits section names them as stricter), so that their
limit never narrows story traffic.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kxplan.client._limit import AdaptiveLimit
from kxplan.client._retry import Backoff

#: Paths with their own, stricter rate limit (Kantata's Rate Limits section names
#: `GET /workspaces` and `POST /workspaces`): one request at a time, on their own limiter.
STRICT_PATHS = frozenset({"/workspaces"})


@dataclass(slots=True)
class Lane:
    """A concurrency limit plus a shared pause: after a 429 every request of the lane waits
    out the server's `Retry-After` (or the backoff) instead of hitting it again at once."""

    limit: AdaptiveLimit
    paused_until: float = 0.0  # no request of the lane is sent before this (clock time)
    paused_at: float = -math.inf  # when the current pause began
    streak: int = 0  # pauses since the lane's last success
    progress_at: float = -math.inf  # when a request of the lane last succeeded
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self, now: float) -> None:
        """A request of the lane got through: the run of 429s is over."""
        self.streak, self.progress_at = 0, now

    def pause(
        self,
        retry_after: float | None,
        sent_at: float,
        clock: Callable[[], float],
        backoff: Backoff,
    ) -> float:
        """Pause the whole lane after a 429 and return how long this request waits.

        The server's `Retry-After` is honoured as given. Without one, the pause grows
        exponentially (with full jitter) with the lane's run of 429s, counting a burst of 429s
        to requests sent before the last pause began once; a success ends the run.
        """
        with self._lock:
            now = clock()
            fresh = sent_at >= self.paused_at
            if fresh:
                self.streak += 1
                self.paused_at = now
            if retry_after is not None or fresh:
                delay = backoff.delay(self.streak - 1, retry_after)
                self.paused_until = max(self.paused_until, now + delay)
            return max(0.0, self.paused_until - now)

    def wait_out_pause(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        """Wait until the lane's pause after a 429 is over (at once when there is none)."""
        wait = self.paused_until - clock()
        if wait > 0:
            sleep(wait)
