"""The sandbox HTTP server: stdlib ThreadingHTTPServer, routes -> thin handlers -> rules.

`SandboxServer` owns the model, the request log, the faults and the listening socket; one
request's path through faults, auth, routing and the handler is `wire.py`'s.

Control endpoints live outside `/api/v1`, need no token and are never faulted:
`GET /__sandbox/stats`, `POST /__sandbox/reset`, `PUT /__sandbox/faults`,
`GET|PUT /__sandbox/variants` (which answer to each open question is played; see
`kxplan.sandbox.variants`), `POST /__sandbox/workspaces` (`{"title": ...}`; creates a
workspace), `POST /__sandbox/users` (`{"full_name": ..., "token": ...}`; registers a person
whose token then acts as them). They are answered by `control.py`.
"""

from __future__ import annotations

import hmac
import threading
import traceback
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kxplan.sandbox import control, present
from kxplan.sandbox.errors import SandboxError
from kxplan.sandbox.faults import Decision, FaultInjector, Faults
from kxplan.sandbox.handlers.base import Handler, Request, Response
from kxplan.sandbox.log import RequestLog
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.resources.people import acting_as, user_for_token
from kxplan.sandbox.store import SANDBOX_USER_ID
from kxplan.sandbox.variants import Variants
from kxplan.sandbox.wire import API_PREFIX, Arrival, Exchange, RequestHandler

__all__ = ["API_PREFIX", "Arrival", "Exchange", "SandboxServer"]


class SandboxServer:
    """A Kantata OX-compatible API on loopback; usable in-process, as a context manager."""

    def __init__(
        self,
        data: str | Path = ":memory:",
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        variants: Variants | None = None,
        fault_clock: Callable[[], float] | None = None,
    ) -> None:
        self.model = SandboxModel(data, variants=variants)
        self.token = token
        self.host = host
        self.port = port
        self.log = RequestLog()
        self.on_response: Callable[[Exchange], None] | None = None
        # Called with each API request as it arrives, in its own thread, before faults and
        # handler; it may block that request (tests use it as a barrier between processes).
        self.on_request: Callable[[Arrival], None] | None = None
        self.crashes: list[str] = []  # tracebacks of 500s (sandbox bugs); tests assert none
        #: The clock the rate-limit buckets run on (default: time.monotonic); a test passes
        #: one that advances per request to make 429s independent of the machine's speed.
        self._fault_clock = fault_clock
        self._injector = self._new_injector(faults)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._late: list[threading.Timer] = []  # pending late commits (Faults.p_commit_late)

    @property
    def faults(self) -> Faults:
        """The fault settings in force; assign new `Faults` to change them (state restarts)."""
        return self._injector.faults

    @faults.setter
    def faults(self, value: Faults | None) -> None:
        self._injector = self._new_injector(value)

    def _new_injector(self, faults: Faults | None) -> FaultInjector:
        if self._fault_clock is None:
            return FaultInjector(faults or Faults())
        return FaultInjector(faults or Faults(), clock=self._fault_clock)

    @property
    def variants(self) -> Variants:
        """The answers played to the questions Kantata's documentation leaves open."""
        return self.model.variants

    @variants.setter
    def variants(self, value: Variants | None) -> None:
        self.model.variants = value or Variants()

    @property
    def base_url(self) -> str:
        """`http://host:port` (no API prefix)."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL clients use: `http://127.0.0.1:<port>/api/v1`."""
        return self.base_url + API_PREFIX

    def bind(self) -> None:
        """Open the listening socket (port 0 picks a free port)."""
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), _make_handler(self))
            self.port = int(self._httpd.server_address[1])

    def start(self) -> SandboxServer:
        """Serve in a background thread; returns self."""
        self.bind()
        assert self._httpd is not None
        # A short poll interval: `stop()` waits for the loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"kxplan-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until `stop()` or KeyboardInterrupt."""
        self.bind()
        assert self._httpd is not None
        try:
            self._httpd.serve_forever()
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving and close the store."""
        if self._httpd is not None and self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._close()

    def _close(self) -> None:
        for timer in self._late:
            timer.cancel()
            timer.join(timeout=5)
        if self._httpd is not None:
            self._httpd.server_close()
            self._httpd = None
        self.model.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- request processing (called from handler threads) ------------------------------

    def authorized(self, header: str | None) -> bool:
        """Any non-empty bearer token, or exactly `token` when one was configured (or the
        token of a registered person)."""
        value = _bearer(header)
        if not value:
            return False
        if self.token is None or hmac.compare_digest(value, self.token):
            return True
        return user_for_token(self.model.store, value) != SANDBOX_USER_ID

    def acting_user(self, header: str | None) -> int:
        """The user a request with this Authorization header acts as (its token's person,
        else the sandbox user; docs/sandbox.md "People and tokens")."""
        return user_for_token(self.model.store, _bearer(header))

    def decide(self, method: str, route: str = "") -> Decision:
        """This request's faults (`route`: the route template, e.g. `/workspaces`)."""
        return self._injector.decide(method, route)

    def lie(self, route: str, answer: Response) -> Response:
        """`answer` as the liar faults distort story listings (unchanged when none is set)."""
        f, body = self.faults, answer.body
        if route != "/stories" or not isinstance(body, dict) or "results" not in body:
            return answer
        if f.lie_count:
            body = {**body, "count": max(0, int(body.get("count") or 0) + f.lie_count)}
            meta = body.get("meta")
            if isinstance(meta, dict):
                size = int(meta.get("page_size") or 1) or 1
                pages = -(-body["count"] // size)
                body["meta"] = {**meta, "count": body["count"], "page_count": pages}
        if f.hide_markers and "external_references" in body:
            body = {**body, "external_references": {}}
        return replace(answer, body=body)

    def control(self, method: str, path: str, body: Any) -> Response:
        """The `/__sandbox/...` endpoints (`control.py`)."""
        return control.control(self, method, path, body)

    def commit_later(self, handler: Handler, req: Request, seconds: float) -> None:
        """Handle `req` `seconds` from now, its answer going nowhere (a late commit)."""
        timer = threading.Timer(max(0.0, seconds), self.handle, (handler, req))
        timer.daemon = True
        self._late.append(timer)
        timer.start()

    def handle(self, handler: Handler, req: Request) -> Response:
        """Run a handler in one transaction; errors become Kantata error bodies."""
        try:
            with self.model.store.transaction(), acting_as(req.user_id):
                answer = handler(self.model, req)
        except SandboxError as err:
            return Response(err.status, err.body())
        except Exception:  # a sandbox bug: answer like Kantata's 500, keep the traceback
            self.crashes.append(traceback.format_exc())
            return Response(500, SandboxError("server_error").body())
        if self.variants.meta == "absent":
            answer = replace(answer, body=present.without_meta(answer.body))
        return answer


def _bearer(header: str | None) -> str:
    """The token of a `Bearer` Authorization header ("" for none)."""
    scheme, _, value = (header or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(RequestHandler):
        sandbox = server

    return _Handler
