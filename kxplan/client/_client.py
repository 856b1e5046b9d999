"""`KantataClient`: one thread-safe client with retries, an adaptive concurrency limit,
request counting and paging that neither double-counts nor misses records."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from kxplan.client._encoding import encode_params
from kxplan.client._errors import error_for
from kxplan.client._lanes import STRICT_PATHS, Lane
from kxplan.client._limit import AdaptiveLimit
from kxplan.client._paging import Check, Records, read_listing
from kxplan.client._retry import Backoff, Retryable, give_up, retryable_status
from kxplan.client._transport import Transport, decode
from kxplan.client._urls import check_base_url, plain_path

log = logging.getLogger("kxplan.client")

T = TypeVar("T")
R = TypeVar("R")

#: Default total time one attempt may take, response body included. Kantata documents that
#: "all API requests will timeout after 3 minutes"; a read that has not finished after two
#: is retried (or, for a create, looked up) rather than waited on.
DEADLINE = 120.0

#: Default time a request may keep meeting 429s before kxplan gives up: rate limits are not
#: published, so a run slows down rather than fails.
RATE_LIMIT_BUDGET = 900.0


class Tally:
    """Requests sent within one `KantataClient.tally()` block, on whichever threads its
    work ran (`map_concurrent` and `in_context` carry the block along); thread-safe."""

    def __init__(self, parent: Tally | None) -> None:
        self.requests = 0
        self._parent = parent
        self._lock = threading.Lock()

    def add(self) -> None:
        tally: Tally | None = self
        while tally is not None:
            with tally._lock:
                tally.requests += 1
            tally = tally._parent


#: The innermost open tally of the current context (None outside any).
_TALLY: contextvars.ContextVar[Tally | None] = contextvars.ContextVar("kxplan_tally", default=None)


def in_context(fn: Callable[..., R]) -> Callable[..., R]:
    """`fn`, to run once on another thread inside the caller's context (so its requests
    count in the caller's open tally). One copy of the context per call: two threads
    cannot run in the same copy at once."""
    context = contextvars.copy_context()
    return lambda *args: context.run(fn, *args)


@dataclass(slots=True)
class _Call:
    """One call of `request` across its attempts."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    lane: Lane
    started: float
    attempt: int = 0  # attempts made before the current one
    failures: int = 0  # attempts that failed other than with a 429
    waited: bool = False  # slept right before this attempt
    sent_at: float = 0.0  # when the current attempt was sent


class KantataClient:
    """A client for the Kantata OX REST API, safe to share between threads.

    Every call goes through `request`, which retries 503 (and 502/504 on reads), connection
    failures and timeouts with exponential backoff and full jitter within `max_retries` and
    `retry_time_budget` seconds; 429s are retried until `rate_limit_budget` seconds pass without
    any request of the same limiter succeeding (rate limits are unpublished: a run slows down
    instead of failing), honouring
    `Retry-After` and pausing every request of the same limiter meanwhile. Each attempt has a
    total `deadline` (headers and body). A POST whose outcome is unknown (dropped after
    sending, timed out) is never retried: it raises `TransportError(outcome_unknown=True)` so
    the caller can look the object up first. A refused connection to a loopback host (a
    sandbox that is not running) fails at once. `GET`/`POST /workspaces` go through their own
    limiter of one request at a time (`strict_limit`), so their stricter rate limit never
    narrows story traffic. `sleep` and `clock` are injectable so tests need not wait.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        max_concurrency: int = 8,
        max_retries: int = 8,
        retry_time_budget: float = 180.0,
        rate_limit_budget: float = RATE_LIMIT_BUDGET,
        timeout: float = 60.0,
        deadline: float = DEADLINE,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self._token = token
        self.max_concurrency = max(1, max_concurrency)
        self.max_retries = max(0, max_retries)
        self.retry_time_budget = retry_time_budget
        self.rate_limit_budget = rate_limit_budget
        self.deadline = deadline
        self.limit = AdaptiveLimit(self.max_concurrency)
        self.strict_limit = AdaptiveLimit(1)
        self._lanes = {False: Lane(self.limit), True: Lane(self.strict_limit)}
        self._backoff = backoff or Backoff(seed=seed)
        self._sleep, self._clock = sleep, clock
        self._counts = _Counts()
        self._transport = Transport(
            self.base_url,
            token,
            transport=transport,
            max_concurrency=self.max_concurrency,
            timeout=timeout,
            deadline=deadline,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"KantataClient({self.base_url!r})"  # never the token

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection pool."""
        self._transport.close()

    def __enter__(self) -> KantataClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ counters

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._counts.requests

    @property
    def retries(self) -> int:
        """How many of `requests` were retries."""
        return self._counts.retries

    @property
    def requests_by_method(self) -> dict[str, int]:
        """Requests sent so far, per HTTP method."""
        return self._counts.by_method()

    @contextmanager
    def tally(self) -> Iterator[Tally]:
        """Count the requests sent by the work inside the block (retries included), even
        while other threads of the run send requests of their own: what one workspace's
        read cost when several are read at once."""
        tally = Tally(_TALLY.get())
        token = _TALLY.set(tally)
        try:
            yield tally
        finally:
            _TALLY.reset(token)

    # ------------------------------------------------------------------ requests

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET `path` (relative to the base URL, e.g. `/stories`)."""
        return self.request("GET", path, params=params)

    def post(
        self, path: str, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST a JSON body; not retried once it may have reached the server."""
        return self.request("POST", path, params=params, json=json)

    def put(
        self, path: str, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """PUT a JSON body."""
        return self.request("PUT", path, params=params, json=json)

    def delete(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """DELETE `path`; a 204 gives `{}`."""
        return self.request("DELETE", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one API call, retrying what is safe to retry; the decoded JSON body (204 -> {}).

        Raises an `ApiError` subclass naming the method, path and status.
        """
        lane = self._lanes[plain_path(path) in STRICT_PATHS]
        call = _Call(method.upper(), path, encode_params(params), json, lane, self._clock())
        while True:
            try:
                return self._attempt(call)
            except Retryable as failure:
                self._wait_before_retry(call, failure)

    def _wait_before_retry(self, call: _Call, failure: Retryable) -> None:
        """Sleep until the next attempt of `call` may go, or raise once its budget is spent."""
        delay = self._delay_or_give_up(call, failure)
        log.info(
            "%s %s failed (%s); retry %d in %.2fs",
            call.method, call.path, failure.reason, call.attempt + 1, delay,
        )  # fmt: skip
        self._sleep(delay)
        call.waited = True
        call.attempt += 1

    def _attempt(self, call: _Call) -> dict[str, Any]:
        """One attempt of `call`: its decoded answer, an ApiError, or `Retryable`."""
        if not call.waited:  # (right after its own wait, a request goes at once)
            call.lane.wait_out_pause(self._clock, self._sleep)
        call.waited = False
        call.sent_at = self._clock()
        response = self._send(call)
        if response.is_success:
            call.lane.succeeded(self._clock())
            return decode(response, call.method, call.path)
        if not retryable_status(call.method, response.status_code):
            raise error_for(
                response,
                call.method,
                plain_path(call.path),
                token=self._token,
                attempts=call.attempt + 1,
            )
        raise Retryable(f"{response.status_code}", response)

    def _send(self, call: _Call) -> httpx.Response:
        """One attempt under the lane's concurrency limit, counted."""
        slot = call.lane.limit.acquire()
        rate_limited = False
        self._counts.add(call.method, retry=call.attempt > 0)
        tally = _TALLY.get()
        if tally is not None:
            tally.add()
        try:
            response = self._transport.send(call.method, call.path, call.query, call.json)
            rate_limited = response.status_code == 429
            return response
        finally:
            call.lane.limit.release(slot, rate_limited=rate_limited)

    def _delay_or_give_up(self, call: _Call, failure: Retryable) -> float:
        """How long to wait before the next attempt, or the error once the budget is spent."""
        if failure.rate_limited:
            # Budgeted from the lane's last success: while others get through, the
            # limit is being lived with, however long a queue of requests waits.
            delay = call.lane.pause(failure.retry_after, call.sent_at, self._clock, self._backoff)
            since, budget = max(call.started, call.lane.progress_at), self.rate_limit_budget
            over = False
        else:
            call.failures += 1
            delay = self._backoff.delay(call.failures - 1, failure.retry_after)
            since, budget = call.started, self.retry_time_budget
            over = call.failures > self.max_retries
        if over or self._clock() - since + delay > budget:
            raise give_up(failure, call.method, call.path, call.attempt + 1, self._token) from None
        return delay

    # ------------------------------------------------------------------ concurrency

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`[fn(x) for x in items]`, run on threads under the adaptive limit; order kept.
        Each runs in the caller's context (its requests count in the caller's tally).

        The first failure cancels what has not started and is raised.
        """
        todo = list(items)
        if len(todo) <= 1:
            return [fn(x) for x in todo]
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(todo)))
        futures: list[Future[R]] = [pool.submit(in_context(fn), x) for x in todo]
        try:
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ paging

    def get_all(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        check: Check | None = None,
    ) -> Records:
        """Every record of a listing: walks `results` (never the typed map, which mixes in
        side-loaded objects of the same type), in a stable order, 200 per page, pages 2..n
        fetched concurrently once page 1 tells how many there are (from `meta.page_count`,
        else from `count` and page 1's size), de-duplicated by id.

        A listing that contradicts itself — the total changed between pages, more or fewer
        records than `count`, `results` naming objects the response lacks, or whatever
        `check(records)` reports (e.g. ids pointing at nothing) — is read once more; if the
        second read contradicts itself too, `InconsistentReadError` stops the caller before
        it acts on it.
        """
        return read_listing(self.get, self.map_concurrent, path, params, check)


class _Counts:
    """Requests sent, retries among them, and requests per method (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self._by_method: dict[str, int] = {}

    def add(self, method: str, *, retry: bool) -> None:
        with self._lock:
            self.requests += 1
            self.retries += int(retry)
            self._by_method[method] = self._by_method.get(method, 0) + 1

    def by_method(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_method)
