"""Connections opened while the manifest loads, with no request on them.

An invalid manifest may send no request (docs/manifest.md), so `plan` and `apply` load and
check it before their first request. What need not wait is the connection that request
goes over: its TCP handshake, and for https its TLS handshake (one or two round trips
each). `open_early(url)` starts opening `EARLY_CONNECTIONS` connections to the API's host on
daemon threads (they wait on the network, with the GIL released, while the main thread loads
the manifest); the client's network backend (kxplan.client._deadline) takes one for each
new connection it needs, before connecting itself.

Nothing depends on them. One that failed to open, or is not open within the client's own
connect timeout, is passed over: the client connects itself (and reports its own error).
One older than `FRESH_S` is closed unused (the server may have closed it meanwhile), as is
any still unused when the client closes. No byte is written on them before the client
sends a request: opening one is not an API call. With a proxy variable set none is opened
(httpx then sends through the proxy).
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

import httpcore  # (loaded already, trio hidden, by kxplan.client: see _deadline)
import httpx

#: Connections opened early: the first request takes one, and the two that often follow it
#: side by side (the stories and the status sets) find the first back in the pool plus one.
EARLY_CONNECTIONS = 2

#: An early connection not taken within this many seconds is closed unused: like httpx's
#: keep-alive expiry (5 s), past which a server may have closed an idle connection.
FRESH_S = 5.0

#: With one of these set (any case), httpx may send through a proxy: nothing is opened early.
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")

#: `KXPLAN_EARLY_CONNECT=0` opens nothing early (the connections open with the first request).
ENV = "KXPLAN_EARLY_CONNECT"


@dataclass(slots=True)
class _Early:
    future: Future[httpcore.NetworkStream]
    started: float


_lock = threading.Lock()
_early: dict[tuple[str, int], list[_Early]] = {}
#: The TLS context, by the CA variables httpx reads (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
_tls: dict[tuple[str, str], Future[ssl.SSLContext]] = {}


def open_early(base_url: str, *, count: int = EARLY_CONNECTIONS, timeout: float = 10.0) -> int:
    """Start opening `count` connections to `base_url`'s host (TLS for https); how many were
    started (0 with `KXPLAN_EARLY_CONNECT=0`, when a proxy may apply, or for a URL that is
    not http(s))."""
    url = httpx.URL(base_url)
    off = os.environ.get(ENV, "").strip() == "0"
    if off or url.scheme not in ("http", "https") or not url.host or _proxy_set():
        return 0
    host = url.raw_host.decode("ascii")  # as httpcore's connect_tcp will be given it
    port = url.port or (443 if url.scheme == "https" else 80)
    https = url.scheme == "https"
    with _lock:
        waiting = _early.setdefault((host, port), [])
        for _ in range(count):
            entry = _Early(Future(), time.monotonic())
            waiting.append(entry)
            threading.Thread(
                target=_open,
                args=(entry.future, host, port, https, timeout),
                name="kxplan-connect",
                daemon=True,
            ).start()
    return count


def tls_context() -> ssl.SSLContext:
    """The one TLS context of this process's https connections (httpx's, verifying with its
    CA bundle, or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set): the early connections are made
    with it, so the client's pool must use it too (its `verify`). The CA bundle is loaded
    once, by whoever asks first."""
    key = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _lock:
        made = _tls.get(key)
        mine = made is None
        if made is None:
            made = _tls[key] = Future()
    if mine:
        try:
            context = httpx.create_ssl_context()
            context.set_alpn_protocols(["http/1.1"])  # as httpcore sets it (no HTTP/2)
            made.set_result(context)
        except BaseException as err:
            with _lock:
                _tls.pop(key, None)  # the next caller tries again, and reports its own error
            made.set_exception(err)
            raise
    return made.result()


def take(host: str, port: int, timeout: float | None) -> httpcore.NetworkStream | None:
    """An early connection to `host:port` (waiting up to `timeout` in all for one still
    opening), or None: none was opened, it failed, or it is too old (then closed)."""
    until = None if timeout is None else time.monotonic() + timeout
    while True:
        with _lock:
            waiting = _early.get((host, port))
            if not waiting:
                return None
            entry = waiting.pop(0)
        left = None if until is None else max(0.0, until - time.monotonic())
        try:
            stream = entry.future.result(left)
        except Exception:  # failed, or not open in time: the caller connects itself
            entry.future.add_done_callback(_close)  # (a slow one is closed once open)
            continue
        if time.monotonic() - entry.started > FRESH_S:
            stream.close()
            continue
        return stream


def close_unused() -> None:
    """Close the early connections nobody took (the command is ending)."""
    with _lock:
        entries = [e for waiting in _early.values() for e in waiting]
        _early.clear()
    for entry in entries:
        entry.future.add_done_callback(_close)


def _open(
    future: Future[httpcore.NetworkStream], host: str, port: int, https: bool, timeout: float
) -> None:
    try:
        stream = httpcore.SyncBackend().connect_tcp(host, port, timeout=timeout)
        if https:
            try:
                stream = stream.start_tls(tls_context(), server_hostname=host, timeout=timeout)
            except BaseException:
                stream.close()
                raise
    except BaseException as err:  # the client connects itself and reports its own error
        future.set_exception(err)
        return
    future.set_result(stream)


def _close(future: Future[httpcore.NetworkStream]) -> None:
    if future.exception() is None:
        future.result().close()


def _proxy_set() -> bool:
    names = {name.lower() for name, value in os.environ.items() if value}
    return any(name in names for name in _PROXY_VARIABLES)
