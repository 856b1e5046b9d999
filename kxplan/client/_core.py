"""`KantataClient`: one thread-safe httpx client with retries, an adaptive concurrency limit,
request counting and paging that neither double-counts nor misses records."""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from kxplan import __version__
from kxplan.client._deadline import deadline, deadline_transport
from kxplan.client._errors import error_for, redact
from kxplan.client._limit import AdaptiveLimit
from kxplan.client._retry import Backoff, parse_retry_after
from kxplan.errors import ApiError, InconsistentReadError, TransportError, UsageError

log = logging.getLogger("kxplan.client")

T = TypeVar("T")

#: A domain check for `get_all`: what in these records points at nothing (empty: all fine).
Check = Callable[["Records"], Iterable[str]]
R = TypeVar("R")

#: Largest page Kantata serves; larger `per_page` values are silently clamped to it.
PAGE_SIZE = 200

#: A stable order for paging: creation time never changes, and the server adds `id ASC`.
STABLE_ORDER = "created_at:asc"

#: Envelope keys that are not typed maps of objects.
_ENVELOPE_KEYS = frozenset({"count", "results", "meta"})

# Failures where the request never left this machine: always safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

#: Paths with their own, stricter rate limit (Kantata's Rate Limits section names
#: `GET /workspaces` and `POST /workspaces`): one request at a time, on their own limiter.
STRICT_PATHS = frozenset({"/workspaces"})

#: Default total time one attempt may take, response body included. Kantata documents that
#: "all API requests will timeout after 3 minutes"; a read that has not finished after two
#: is retried (or, for a create, looked up) rather than waited on.
DEADLINE = 120.0

#: Default time a request may keep meeting 429s before kxplan gives up: rate limits are not
#: published, so a run slows down rather than fails.
RATE_LIMIT_BUDGET = 900.0


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


def check_base_url(url: str) -> str:
    """`url` without a trailing slash, or UsageError when it is not safe for a token.

    Plain http is allowed only to a loopback host (the sandbox), so a token never crosses a
    network in clear text.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"the API URL {url!r} is not an http(s) URL",
            hint="pass --api-url https://api.mavenlink.com/api/v1 (or set KANTATA_API_URL)",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"refusing to send the API token over plain http to {parts.hostname}",
            hint="use an https:// URL; plain http is allowed only for 127.0.0.1/localhost",
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    """True for localhost and any loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as Kantata reads them: booleans `true`/`false`, lists comma-joined."""
    out: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = str(value)
    return out


def body(
    singular: str, plural: str, data: Mapping[str, Any] | Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """A request body: one object under the singular root key, several under the plural."""
    if isinstance(data, Mapping):
        return {singular: dict(data)}
    return {plural: [dict(d) for d in data]}


class _Retry(Exception):
    """An attempt failed in a way worth another try (internal)."""

    def __init__(self, reason: str, response: httpx.Response | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response

    @property
    def rate_limited(self) -> bool:
        return self.response is not None and self.response.status_code == 429


class _DeadlineExceeded(Exception):
    """The response did not arrive in full within the request deadline (internal)."""


@dataclass(slots=True)
class _Lane:
    """A concurrency limit plus a shared pause: after a 429 every request of the lane waits
    out the server's `Retry-After` (or the backoff) instead of hitting it again at once."""

    limit: AdaptiveLimit
    paused_until: float = 0.0  # no request of the lane is sent before this (clock time)
    paused_at: float = -math.inf  # when the current pause began
    streak: int = 0  # pauses since the lane's last success
    progress_at: float = -math.inf  # when a request of the lane last succeeded


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
        self._lanes = {False: _Lane(self.limit), True: _Lane(self.strict_limit)}
        self._backoff = backoff or Backoff(seed=seed)
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._by_method: dict[str, int] = {}
        limits = httpx.Limits(
            max_connections=self.max_concurrency * 2,
            max_keepalive_connections=self.max_concurrency,
        )
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"kxplan/{__version__}",
            },
            timeout=min(timeout, deadline),
            transport=transport or deadline_transport(limits),
            limits=limits,
        )

    def __repr__(self) -> str:
        return f"KantataClient({self.base_url!r})"  # never the token

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> KantataClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ counters

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests

    @property
    def retries(self) -> int:
        """How many of `requests` were retries."""
        return self._retries

    @property
    def requests_by_method(self) -> dict[str, int]:
        """Requests sent so far, per HTTP method."""
        with self._lock:
            return dict(self._by_method)

    def _count(self, method: str, retry: bool) -> None:
        with self._lock:
            self._requests += 1
            self._retries += int(retry)
            self._by_method[method] = self._by_method.get(method, 0) + 1

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
        method = method.upper()
        query = encode_params(params)
        lane = self._lanes[_plain(path) in STRICT_PATHS]
        started = self._clock()
        attempt = failures = 0
        waited = False
        while True:
            if not waited:  # (right after its own wait, a request goes at once)
                self._wait_out_pause(lane)
            waited = False
            sent_at = self._clock()
            try:
                response = self._send(lane, method, path, query, json, retry=attempt > 0)
                if response.is_success:
                    lane.streak, lane.progress_at = 0, self._clock()
                    return self._decode(response, method, path)
                if not _retryable_status(method, response.status_code):
                    raise error_for(
                        response, method, _plain(path), token=self._token, attempts=attempt + 1
                    )
                raise _Retry(f"{response.status_code}", response)
            except _Retry as failure:
                if failure.rate_limited:
                    # Budgeted from the lane's last success: while others get through, the
                    # limit is being lived with, however long a queue of requests waits.
                    delay = self._pause(lane, failure, sent_at)
                    since, budget = max(started, lane.progress_at), self.rate_limit_budget
                    over = False
                else:
                    failures += 1
                    delay = self._next_delay(failure, failures - 1)
                    since, budget = started, self.retry_time_budget
                    over = failures > self.max_retries
                if over or self._clock() - since + delay > budget:
                    raise self._give_up(failure, method, path, attempt + 1) from None
                log.info(
                    "%s %s failed (%s); retry %d in %.2fs",
                    method, path, failure.reason, attempt + 1, delay,
                )  # fmt: skip
                self._sleep(delay)
                waited = True
                attempt += 1

    def _pause(self, lane: _Lane, failure: _Retry, sent_at: float) -> float:
        """Pause the whole lane after a 429 and return how long this request waits.

        The server's `Retry-After` is honoured as given. Without one, the pause grows
        exponentially (with full jitter) with the lane's run of 429s, counting a burst of 429s
        to requests sent before the last pause began once; a success ends the run.
        """
        assert failure.response is not None
        retry_after = parse_retry_after(failure.response.headers.get("Retry-After"))
        with self._lock:
            now = self._clock()
            fresh = sent_at >= lane.paused_at
            if fresh:
                lane.streak += 1
                lane.paused_at = now
            if retry_after is not None or fresh:
                delay = self._backoff.delay(lane.streak - 1, retry_after)
                lane.paused_until = max(lane.paused_until, now + delay)
            return max(0.0, lane.paused_until - now)

    def _wait_out_pause(self, lane: _Lane) -> None:
        """Wait until the lane's pause after a 429 is over (at once when there is none)."""
        wait = lane.paused_until - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _send(
        self, lane: _Lane, method: str, path: str, query: dict[str, str], json: Any, *, retry: bool
    ) -> httpx.Response:
        """One attempt under the lane's concurrency limit; transport failures sorted into
        retryable (`_Retry`) and outcome-unknown (`TransportError`)."""
        slot = lane.limit.acquire()
        rate_limited = False
        self._count(method, retry)
        t0 = time.perf_counter()
        try:
            response = self._exchange(method, path, query, json)
            rate_limited = response.status_code == 429
            self._trace(method, response.request.url, str(response.status_code), t0)
            return response
        except (httpx.TransportError, _DeadlineExceeded) as exc:
            self._trace(method, self._http.base_url.join(path.lstrip("/")), type(exc).__name__, t0)
            raise self._transport_failure(exc, method, path) from exc
        finally:
            lane.limit.release(slot, rate_limited=rate_limited)

    def _exchange(self, method: str, path: str, query: dict[str, str], json: Any) -> httpx.Response:
        """Send one request and read its body, giving up once `deadline` seconds have passed
        (a server that trickles its answer byte by byte never hangs the run)."""
        started, t0 = self._clock(), time.monotonic()
        request = self._http.build_request(method, path.lstrip("/"), params=query, json=json)
        late = _DeadlineExceeded(f"no complete response within the {self.deadline:g} s deadline")
        try:
            with deadline(self.deadline):  # every socket operation (see _deadline.py)
                streamed = self._http.send(request, stream=True)
                try:
                    chunks = []
                    for chunk in streamed.iter_bytes():
                        chunks.append(chunk)
                        if self._clock() - started > self.deadline:  # any transport
                            raise late
                finally:
                    streamed.close()
        except httpx.TimeoutException as exc:
            if time.monotonic() - t0 >= self.deadline * 0.99:
                raise late from exc
            raise
        # The body is decoded already: its encoding and length headers no longer apply.
        headers = [
            (k, v)
            for k, v in streamed.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(
            streamed.status_code, headers=headers, content=b"".join(chunks), request=request
        )

    def _transport_failure(self, exc: Exception, method: str, path: str) -> Exception:
        reason = redact(f"{type(exc).__name__}: {exc}", self._token)
        host = self._http.base_url.host
        if isinstance(exc, httpx.ConnectError) and is_loopback(host):
            # Nothing listens on this machine's port: waiting will not change that.
            return TransportError(
                f"nothing is listening at {self.base_url} ({reason})",
                method=method,
                path=_plain(path),
                hint="start the sandbox (`kxplan sandbox`) or check --api-url / KANTATA_API_URL",
            )
        if isinstance(exc, _NOT_SENT) or method != "POST":
            return _Retry(reason)
        return TransportError(
            f"the connection failed after the request was sent ({reason})",
            outcome_unknown=True,
            method=method,
            path=_plain(path),
            hint="the server may have acted on it; look the object up before retrying",
        )

    def _trace(self, method: str, url: httpx.URL, outcome: str, t0: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            ms = (time.perf_counter() - t0) * 1000
            log.debug("%s %s -> %s (%.0f ms)", method, redact(str(url), self._token), outcome, ms)

    def _next_delay(self, failure: _Retry, attempt: int) -> float:
        retry_after = None
        if failure.response is not None:
            retry_after = parse_retry_after(failure.response.headers.get("Retry-After"))
        return self._backoff.delay(attempt, retry_after)

    def _give_up(self, failure: _Retry, method: str, path: str, attempts: int) -> ApiError:
        if failure.response is not None:
            return error_for(
                failure.response, method, _plain(path), token=self._token, attempts=attempts
            )
        if failure.reason.startswith(_DeadlineExceeded.__name__):
            return TransportError(
                f"Kantata did not answer in full in time ({failure.reason}) after {attempts} "
                "attempts",
                method=method,
                path=_plain(path),
                hint="Kantata (or a proxy on the way) is very slow; try again later",
            )
        return TransportError(
            f"could not reach Kantata ({failure.reason}) after {attempts} attempts",
            method=method,
            path=_plain(path),
            hint="check the network and --api-url / KANTATA_API_URL",
        )

    def _decode(self, response: httpx.Response, method: str, path: str) -> dict[str, Any]:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ApiError(
                "the response was not a JSON object",
                method=method,
                path=_plain(path),
                status=response.status_code,
                hint="check that --api-url points at the API root, e.g. .../api/v1",
            )
        return data

    # ------------------------------------------------------------------ concurrency

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`[fn(x) for x in items]`, run on threads under the adaptive limit; order kept.

        The first failure cancels what has not started and is raised.
        """
        todo = list(items)
        if len(todo) <= 1:
            return [fn(x) for x in todo]
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(todo)))
        futures: list[Future[R]] = [pool.submit(fn, x) for x in todo]
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
        query = {"order": STABLE_ORDER, **(params or {}), "per_page": PAGE_SIZE}
        problems: list[str] = []
        for attempt in range(2):
            envelopes = self._read_pages(path, query)
            records = collect(envelopes)
            problems = listing_problems(envelopes, PAGE_SIZE)
            if not problems and check is not None:
                problems = list(check(records))
            if not problems:
                return records
            if attempt == 0:
                log.warning("GET %s contradicted itself (%s); reading it again", path, problems[0])
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        shown = "; ".join(problems[:3]) + more
        raise InconsistentReadError(
            f"the listing contradicted itself on two reads in a row: {shown}",
            problems=tuple(problems),
            method="GET",
            path=_plain(path),
            hint="kxplan stopped before changing anything based on it; try again in a minute, "
            "and report it to Kantata support if it persists",
        )

    def _read_pages(self, path: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        first = self.get(path, {**query, "page": 1})
        if _total(first) is None:
            return self._walk_pages(path, query, first)
        pages = page_count(first, PAGE_SIZE)
        if _plain(path) in STRICT_PATHS:  # one page at a time under the stricter limit
            rest = [self.get(path, {**query, "page": n}) for n in range(2, pages + 1)]
        else:
            rest = self.map_concurrent(
                lambda n: self.get(path, {**query, "page": n}), range(2, pages + 1)
            )
        return [first, *rest]

    def _walk_pages(
        self, path: str, query: dict[str, Any], first: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Pages of a listing that says nothing about its size (neither `meta` nor `count`):
        one after another until a page is short or brings nothing new."""
        envelopes = [first]
        seen = {_ref(r) for r in first.get("results") or ()}
        while len(envelopes[-1].get("results") or ()) >= PAGE_SIZE:
            page = self.get(path, {**query, "page": len(envelopes) + 1})
            refs = {_ref(r) for r in page.get("results") or ()}
            if not refs - seen:
                break  # a server that ignores `page` would otherwise be read forever
            seen |= refs
            envelopes.append(page)
        return envelopes


def _retryable_status(method: str, status: int) -> bool:
    if status in (429, 503):
        return True  # the server did not act on it
    return status in (502, 504) and method != "POST"


def _plain(path: str) -> str:
    return "/" + path.lstrip("/")


def _total(envelope: Mapping[str, Any]) -> int | None:
    """The listing's total from `count` (or `meta.count`); None when the server sent neither."""
    count = envelope.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    meta = envelope.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("count"), int):
        return int(meta["count"])
    return None


def _count(envelope: Mapping[str, Any]) -> int:
    total = _total(envelope)
    return len(envelope.get("results") or ()) if total is None else total


def _ref(ref: Mapping[str, Any]) -> tuple[str, str]:
    return (str(ref.get("key")), str(ref.get("id")))


def listing_problems(envelopes: Sequence[Mapping[str, Any]], page_size: int) -> list[str]:
    """What makes these pages of one listing contradict themselves (empty when nothing):
    totals that differ between pages, a page larger than its page size, `results` entries
    naming an object the page does not carry, or more or fewer distinct records than the
    total says. (A listing that changed while it was read shows up the same way.)"""
    problems: list[str] = []
    totals = sorted({t for e in envelopes if (t := _total(e)) is not None})
    if len(totals) > 1:
        problems.append(f"the total changed between pages ({', '.join(map(str, totals))})")
    records: set[tuple[str, str]] = set()
    for number, env in enumerate(envelopes, start=1):
        refs = [_ref(r) for r in env.get("results") or () if isinstance(r, Mapping)]
        if len(refs) > page_size:
            problems.append(f"page {number} has {len(refs)} results, more than a page holds")
        dangling = [f"{k} {i}" for k, i in refs if i not in (env.get(k) or {})]
        if dangling:
            problems.append(
                f"page {number} lists {', '.join(dangling[:3])}"
                + (f" (and {len(dangling) - 3} more)" if len(dangling) > 3 else "")
                + " in `results` without the object"
            )
        records.update(refs)
    if len(totals) == 1 and len(records) != totals[0] and not problems:
        problems.append(f"`count` says {totals[0]} but the pages held {len(records)} records")
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
        for key, objects in env.items():
            if key not in _ENVELOPE_KEYS and isinstance(objects, dict):
                bucket = included.setdefault(key, {})
                for oid, obj in objects.items():
                    bucket.setdefault(str(oid), obj)
        for ref in env.get("results") or ():
            ident = (str(ref.get("key")), str(ref.get("id")))
            obj = included.get(ident[0], {}).get(ident[1])
            if ident in seen or obj is None:
                continue
            seen.add(ident)
            items.append(obj)
    return Records(tuple(items), included, count, pages)
