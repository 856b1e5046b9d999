"""One HTTP request on the wire: the stdlib request handler behind `SandboxServer`.

A request goes: the `on_request` hook -> faults (latency, 429, 503) -> auth (401) -> route
(404) -> body (400)
-> maybe drop before the write -> handler inside one store transaction -> maybe drop
after the commit -> JSON response -> request log and the `on_response` hook. (A create
chosen to commit late is dropped at once and handled `commit_late_s` later: see Faults.)
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from kxplan.sandbox.bodies import is_form, parse_form, parse_json
from kxplan.sandbox.control import bad_request
from kxplan.sandbox.errors import SandboxError
from kxplan.sandbox.faults import Decision
from kxplan.sandbox.handlers.base import Handler, Request, Response
from kxplan.sandbox.log import LogEntry
from kxplan.sandbox.routes import match_route
from kxplan.sandbox.store import SANDBOX_USER_ID

if TYPE_CHECKING:
    from kxplan.sandbox.server import SandboxServer

API_PREFIX = "/api/v1"
CONTROL_PREFIX = "/__sandbox"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One answered API request, as the `on_response` hook (e.g. conformance checks) sees it."""

    method: str
    route: str
    params: dict[str, str]
    request_body: Any
    status: int
    response_body: Any
    form: bool = False  # the request body came form-encoded (its values are all strings)


@dataclass(frozen=True, slots=True)
class Arrival:
    """An API request as the `on_request` hook sees it, before anything is done with it.
    `token` is the bearer token it carries (None: none), so a test can tell its clients apart."""

    method: str
    route: str
    params: dict[str, str]
    token: str | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """An API request as read off the socket, before faults, auth and the handler."""

    method: str
    route: str  # the route template, or the raw path when it names no route
    handler: Handler | None
    oid: int | None
    params: dict[str, str]
    raw: bytes
    form: bool  # the body is form-encoded (its values are all strings)

    def request(self, body: Any, user_id: int = SANDBOX_USER_ID) -> Request:
        """What the handler sees, with the parsed body and the user it acts as."""
        return Request(self.method, self.route, self.params, body, self.oid, user_id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a request ended: the response (None: dropped), the log's word, the parsed body."""

    resp: Response | None
    outcome: str
    body: Any = None


def _api_path(path: str) -> str | None:
    """The path below `/api/v1` without a `.json` suffix (None: not an API path)."""
    if not path.startswith(API_PREFIX):
        return None
    path = path[len(API_PREFIX) :]
    return path[: -len(".json")] if path.endswith(".json") else path


class RequestHandler(BaseHTTPRequestHandler):
    """Serves one connection for `sandbox` (set on a subclass per server)."""

    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    # Headers and body go out in two writes; with Nagle on, the second waits ~40 ms for
    # the client's delayed ACK on every request.
    disable_nagle_algorithm = True
    server_version = "kxplan-sandbox"
    sandbox: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (the RequestLog records requests)."""

    def setup(self) -> None:
        super().setup()
        self._accepted = time.monotonic()  # fault `connect_ms`: when the handshake began
        self._handshake_done = False

    def _handshake(self) -> None:
        """Fault `connect_ms`: the connection's first request waits out what is left of
        the handshakes a network would make before it could be sent."""
        if self._handshake_done:
            return
        self._handshake_done = True
        left = self.sandbox.faults.connect_ms / 1000.0 - (time.monotonic() - self._accepted)
        if left > 0:
            time.sleep(left)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        started = time.perf_counter()
        parts = urlsplit(self.path)
        raw = self._read_body()
        if parts.path.startswith(CONTROL_PREFIX + "/"):
            self._serve_control(method, parts.path[len(CONTROL_PREFIX) :], raw)
            return
        incoming = self._incoming(method, parts, raw)
        self._arrived(incoming)
        self._handshake()
        done, decision = self._process(incoming)
        status = done.resp.status if done.resp else None
        elapsed_ms = (time.perf_counter() - started) * 1000
        entry = LogEntry(method, incoming.route, parts.path, status, elapsed_ms, done.outcome)
        self.sandbox.log.add(entry)
        if done.resp is None:
            self.close_connection = True  # dropped: no response at all
            return
        self._send(done.resp, decision.trickle_s)
        self._report(incoming, done, done.resp)

    def _serve_control(self, method: str, path: str, raw: bytes) -> None:
        try:
            body = parse_json(raw)
        except ValueError:
            # A settings body that does not parse must not reset the settings to defaults.
            self._send(bad_request("the body is not valid JSON"))
            return
        self._send(self.sandbox.control(method, path, body))

    def _incoming(self, method: str, parts: SplitResult, raw: bytes) -> Incoming:
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        path = _api_path(parts.path)
        route, handler, oid = match_route(method, path or "")
        if path is None:
            route = parts.path
        form = is_form(self.headers.get("Content-Type"))
        return Incoming(method, route, handler, oid, params, raw, form)

    def _arrived(self, incoming: Incoming) -> None:
        """Hand the request to the server's `on_request` hook (API routes only); it may block."""
        hook = self.sandbox.on_request
        if hook is not None and incoming.handler is not None:
            scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
            token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
            hook(Arrival(incoming.method, incoming.route, incoming.params, token))

    def _report(self, incoming: Incoming, done: Outcome, resp: Response) -> None:
        """Hand the exchange to the server's `on_response` hook (API routes only)."""
        hook = self.sandbox.on_response
        if hook is not None and incoming.handler is not None:
            i = incoming
            hook(Exchange(i.method, i.route, i.params, done.body, resp.status, resp.body, i.form))

    def _process(self, incoming: Incoming) -> tuple[Outcome, Decision]:
        decision = self.sandbox.decide(incoming.method, incoming.route)
        if decision.delay_s:
            time.sleep(decision.delay_s)
        done = self._refused(incoming, decision) or self._run(incoming, decision)
        if done.resp is not None and incoming.handler is not None:
            done = Outcome(self.sandbox.lie(incoming.route, done.resp), done.outcome, done.body)
        return done, decision

    def _refused(self, incoming: Incoming, decision: Decision) -> Outcome | None:
        """The answer to a request that never reaches its handler: a fault's 429 or 503,
        a 401, or a 404 for a path no route has (None: it goes on)."""
        if decision.status is not None:
            kind = "rate_limited" if decision.status == 429 else "unavailable"
            headers = {}
            if decision.retry_after is not None and self.sandbox.variants.retry_after == "present":
                headers["Retry-After"] = f"{decision.retry_after:g}"
            return Outcome(
                Response(decision.status, SandboxError(kind).body(), headers), str(decision.status)
            )
        if not self.sandbox.authorized(self.headers.get("Authorization")):
            return Outcome(Response(401, SandboxError("unauthorized").body()), "unauthorized")
        if incoming.handler is None:
            return Outcome(Response(404, SandboxError("not_found").body()), "error")
        return None

    def _run(self, incoming: Incoming, decision: Decision) -> Outcome:
        """Parse the body and run the handler, or drop or delay it as the faults say."""
        assert incoming.handler is not None
        raw, form = incoming.raw, incoming.form
        try:
            body = (parse_form(raw) if form else parse_json(raw)) if raw.strip() else None
        except ValueError:
            message = "The form-encoded request body is malformed" if form else None
            return Outcome(Response(400, SandboxError("bad_json", message).body()), "error")
        if decision.drop_before:
            return Outcome(None, "dropped_before", body)
        req = incoming.request(body, self.sandbox.acting_user(self.headers.get("Authorization")))
        if decision.commit_late:
            late = self.sandbox.faults.commit_late_s - decision.delay_s  # since it arrived
            self.sandbox.commit_later(incoming.handler, req, late)
            return Outcome(None, "committed_late", body)
        answer = self.sandbox.handle(incoming.handler, req)
        if decision.drop_after:
            return Outcome(None, "dropped_after", body)
        return Outcome(answer, "ok" if answer.status < 400 else "error", body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, resp: Response, trickle_s: float = 0.0) -> None:
        data = b"" if resp.body is None else json.dumps(resp.body).encode("utf-8")
        headers = [("Content-Length", str(len(data))), ("X-Request-Id", uuid.uuid4().hex)]
        if resp.body is not None:
            headers.insert(0, ("Content-Type", "application/json; charset=utf-8"))
        headers.extend(resp.headers.items())
        if trickle_s > 0:  # status line, headers and body, one byte at a time
            self.log_request(resp.status)
            phrase = self.responses.get(resp.status, ("",))[0]
            lines = [f"{self.protocol_version} {resp.status} {phrase}"]
            lines += [f"{name}: {value}" for name, value in headers]
            self._trickle("\r\n".join([*lines, "", ""]).encode("latin-1") + data, trickle_s)
            return
        self.send_response(resp.status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _trickle(self, data: bytes, every_s: float) -> None:
        """Send `data` one byte every `every_s` seconds, until done or the client hangs up
        (fault `p_trickle`: a client without a total deadline would wait for ever)."""
        try:
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(every_s)
        except OSError:
            self.close_connection = True
