"""A total deadline for one HTTP exchange, enforced on every socket operation.

httpx's timeouts bound each read, not the whole exchange: a server that sends one byte every
two seconds — in its status line, headers or body — never trips a 60 s read timeout. The
client's own HTTP transport therefore wraps httpcore's network backend so that each connect,
read and write gets at most the time left before the deadline of the exchange running on the
calling thread, and fails with a read timeout once it has passed.

    with deadline(120.0):
        response = http.send(request)   # connect + headers + body: 120 s at most
"""

from __future__ import annotations

import ssl
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from kxplan._deferred import request_sent

# httpcore imports trio, when it is installed, for the locks of its async API
# (`httpcore/_synchronization.py`); that import alone took 0.13 s of every run's start-up on a
# machine where trio happened to be installed, and kxplan uses httpcore's synchronous API only.
# So unless the process has loaded trio already (someone uses it), trio is hidden while httpcore
# loads and importable again right after; httpcore's async API under trio is then unavailable
# in this process (docs/client.md, "Start-up and CPU").
_HIDE_TRIO = "httpcore" not in sys.modules and "trio" not in sys.modules
if _HIDE_TRIO:
    sys.modules["trio"] = None  # type: ignore[assignment]  # `import trio` raises ImportError
try:
    import httpcore
finally:
    if _HIDE_TRIO:
        del sys.modules["trio"]

_current = threading.local()


class _DeadlineExceeded(Exception):
    """The response did not arrive in full within the request deadline (internal; the
    class name appears in error messages as it always has, so it keeps its underscore)."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """While open, socket operations on this thread end `seconds` from now at the latest."""
    previous = getattr(_current, "at", None)
    _current.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _current.at = previous


def _left(timeout: float | None) -> float | None:
    """`timeout`, shortened to the time left before this thread's deadline."""
    at: float | None = getattr(_current, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout))
        request_sent()  # the command's deferred imports overlap the wait (kxplan._deferred)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        if self._inner.get_extra_info("ssl_object") is not None:
            return self  # an early connection (kxplan.client._early): its TLS is set up
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        from kxplan.client import _early  # (it imports this module)

        if local_address is None and not socket_options:  # an early one is a plain connect
            early = _early.take(host, port, _left(timeout))
            if early is not None:
                return _Stream(early)
        stream = self._inner.connect_tcp(host, port, _left(timeout), local_address, socket_options)
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _left(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(
    limits: httpx.Limits, verify: ssl.SSLContext | bool = True
) -> httpx.HTTPTransport:
    """httpx's default transport whose connections honour `deadline()`."""
    transport = httpx.HTTPTransport(limits=limits, verify=verify)
    pool = transport._pool  # private: httpx offers no public hook for the network backend
    if isinstance(pool, httpcore.ConnectionPool):
        pool._network_backend = _Backend(pool._network_backend)
    return transport
