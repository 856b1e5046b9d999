"""What is retried, how long to wait before the next try (exponential backoff with full
jitter, or the server's `Retry-After`), and the error once the client gives up."""

from __future__ import annotations

import email.utils
import random
import time
from datetime import UTC, datetime

import httpx

from kxplan.client._deadline import _DeadlineExceeded
from kxplan.client._errors import error_for
from kxplan.client._urls import plain_path
from kxplan.errors import ApiError, TransportError


class Retryable(Exception):
    """An attempt failed in a way worth another try (internal)."""

    def __init__(self, reason: str, response: httpx.Response | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response

    @property
    def rate_limited(self) -> bool:
        """A 429: the lane pauses, and the rate-limit budget applies."""
        return self.response is not None and self.response.status_code == 429

    @property
    def retry_after(self) -> float | None:
        """The server's `Retry-After`, in seconds (None when it sent none)."""
        if self.response is None:
            return None
        return parse_retry_after(self.response.headers.get("Retry-After"))


def retryable_status(method: str, status: int) -> bool:
    """Whether an answer with this status is worth sending again."""
    if status in (429, 503):
        return True  # the server did not act on it
    return status in (502, 504) and method != "POST"


def give_up(failure: Retryable, method: str, path: str, attempts: int, token: str) -> ApiError:
    """The error for a request whose retries ran out: the server's last answer, else what
    kept it from arriving."""
    if failure.response is not None:
        return error_for(failure.response, method, plain_path(path), token=token, attempts=attempts)
    if failure.reason.startswith(_DeadlineExceeded.__name__):
        return TransportError(
            f"Kantata did not answer in full in time ({failure.reason}) after {attempts} attempts",
            method=method,
            path=plain_path(path),
            hint="Kantata (or a proxy on the way) is very slow; try again later",
        )
    return TransportError(
        f"could not reach Kantata ({failure.reason}) after {attempts} attempts",
        method=method,
        path=plain_path(path),
        hint="check the network and --api-url / KANTATA_API_URL",
    )


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
