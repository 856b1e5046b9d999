"""One attempt of one request over httpx: headers, the total deadline, and transport
failures sorted into "send it again" and "the outcome is unknown"."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

from kxplan import __version__
from kxplan.client._deadline import _DeadlineExceeded, deadline, deadline_transport
from kxplan.client._errors import redact
from kxplan.client._retry import Retryable
from kxplan.client._urls import is_loopback, plain_path
from kxplan.errors import ApiError, TransportError

log = logging.getLogger("kxplan.client")

# Failures where the request never left this machine: always safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# The body is decoded already when a response is rebuilt: these headers no longer apply.
_STALE_HEADERS = ("content-encoding", "content-length")


class Transport:
    """Sends one request and reads its whole answer within `deadline` seconds.

    A failure the request may be sent again after raises `Retryable`; a POST that may have
    reached the server raises `TransportError(outcome_unknown=True)`; a refused connection
    to a loopback host (a sandbox that is not running) raises `TransportError` at once.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None,
        max_concurrency: int,
        timeout: float,
        deadline: float,
        clock: Callable[[], float],
    ) -> None:
        self.base_url = base_url
        self.deadline = deadline
        self._token = token
        self._clock = clock
        self._http = _http_client(
            base_url, token, transport, max_concurrency, min(timeout, deadline)
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def send(self, method: str, path: str, query: dict[str, str], json: Any) -> httpx.Response:
        """One attempt; the answer whatever its status (errors are the caller's to judge)."""
        t0 = time.perf_counter()
        try:
            response = self._exchange(method, path, query, json)
        except (httpx.TransportError, _DeadlineExceeded) as exc:
            self._trace(method, self._http.base_url.join(path.lstrip("/")), type(exc).__name__, t0)
            raise self._failure(exc, method, path) from exc
        self._trace(method, response.request.url, str(response.status_code), t0)
        return response

    def _exchange(self, method: str, path: str, query: dict[str, str], json: Any) -> httpx.Response:
        """Send one request and read its body, giving up once `deadline` seconds have passed
        (a server that trickles its answer byte by byte never hangs the run)."""
        t0 = time.monotonic()
        request = self._http.build_request(method, path.lstrip("/"), params=query, json=json)
        try:
            with deadline(self.deadline):  # every socket operation (see _deadline.py)
                streamed, content = self._read(request)
        except httpx.TimeoutException as exc:
            if time.monotonic() - t0 >= self.deadline * 0.99:
                raise self._late() from exc
            raise
        headers = [
            (k, v) for k, v in streamed.headers.multi_items() if k.lower() not in _STALE_HEADERS
        ]
        return httpx.Response(
            streamed.status_code, headers=headers, content=content, request=request
        )

    def _read(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """The streamed response and its whole body, checked against the deadline between
        chunks too (a transport other than kxplan's own honours no socket deadline)."""
        started = self._clock()
        streamed = self._http.send(request, stream=True)
        try:
            chunks = []
            for chunk in streamed.iter_bytes():
                chunks.append(chunk)
                if self._clock() - started > self.deadline:
                    raise self._late()
        finally:
            streamed.close()
        return streamed, b"".join(chunks)

    def _late(self) -> _DeadlineExceeded:
        return _DeadlineExceeded(f"no complete response within the {self.deadline:g} s deadline")

    def _failure(self, exc: Exception, method: str, path: str) -> Exception:
        reason = redact(f"{type(exc).__name__}: {exc}", self._token)
        if isinstance(exc, httpx.ConnectError) and is_loopback(self._http.base_url.host):
            # Nothing listens on this machine's port: waiting will not change that.
            return TransportError(
                f"nothing is listening at {self.base_url} ({reason})",
                method=method,
                path=plain_path(path),
                hint="start the sandbox (`kxplan sandbox`) or check --api-url / KANTATA_API_URL",
            )
        if isinstance(exc, _NOT_SENT) or method != "POST":
            return Retryable(reason)
        return TransportError(
            f"the connection failed after the request was sent ({reason})",
            outcome_unknown=True,
            method=method,
            path=plain_path(path),
            hint="the server may have acted on it; look the object up before retrying",
        )

    def _trace(self, method: str, url: httpx.URL, outcome: str, t0: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            ms = (time.perf_counter() - t0) * 1000
            log.debug("%s %s -> %s (%.0f ms)", method, redact(str(url), self._token), outcome, ms)


def _http_client(
    base_url: str,
    token: str,
    transport: httpx.BaseTransport | None,
    max_concurrency: int,
    timeout: float,
) -> httpx.Client:
    limits = httpx.Limits(
        max_connections=max_concurrency * 2, max_keepalive_connections=max_concurrency
    )
    verify = _tls_for(base_url)
    return httpx.Client(
        base_url=base_url + "/",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": f"kxplan/{__version__}",
        },
        timeout=timeout,
        transport=transport or deadline_transport(limits, verify),
        limits=limits,
        verify=verify,
    )


def _tls_for(base_url: str) -> ssl.SSLContext:
    """For https, the process's one verifying context (httpx's default, made once: the
    connections opened early use it too, kxplan.client._early). For plain http (loopback
    only, see `check_base_url`) a context with no trusted certificates: loading the CA
    bundle costs about 0.1 s of start-up for nothing, and any https it might meet fails
    verification."""
    if httpx.URL(base_url).scheme == "https":
        from kxplan.client._early import tls_context

        return tls_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def decode(response: httpx.Response, method: str, path: str) -> dict[str, Any]:
    """The JSON object of a successful answer (`{}` for 204 or an empty body); ApiError
    when it is anything else (e.g. an HTML page from a wrong --api-url)."""
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
            path=plain_path(path),
            status=response.status_code,
            hint="check that --api-url points at the API root, e.g. .../api/v1",
        )
    return data
