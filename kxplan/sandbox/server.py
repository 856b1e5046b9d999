"""The sandbox HTTP server: stdlib ThreadingHTTPServer, routes -> thin handlers -> rules.

One request goes: faults (latency, 429, 503) -> auth (401) -> route (404) -> body (400)
-> maybe drop before the write -> handler inside one store transaction -> maybe drop
after the commit -> JSON response -> request log and the `on_response` hook. (A create
chosen to commit late is dropped at once and handled `commit_late_s` later: see Faults.)

Control endpoints live outside `/api/v1`, need no token and are never faulted:
`GET /__sandbox/stats`, `POST /__sandbox/reset`, `PUT /__sandbox/faults`,
`GET|PUT /__sandbox/variants` (which answer to each open question is played; see
`kxplan.sandbox.variants`), `POST /__sandbox/workspaces` (`{"title": ...}`; creates a workspace).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kxplan.sandbox import handlers, present
from kxplan.sandbox.errors import SandboxError
from kxplan.sandbox.faults import Decision, FaultInjector, Faults
from kxplan.sandbox.handlers import Handler, Request, Response
from kxplan.sandbox.log import LogEntry, RequestLog
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.variants import Variants

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


def _compile(template: str) -> re.Pattern[str]:
    return re.compile("^" + template.replace("{id}", r"(?P<id>\d+)") + "$")


_ROUTES = tuple((m, t, _compile(t), h) for m, t, h in handlers.ROUTES)


def match_route(method: str, path: str) -> tuple[str, Handler | None, int | None]:
    """(route template, handler, path id) for an API path without the prefix or `.json`."""
    known_path = False
    for m, template, pattern, handler in _ROUTES:
        found = pattern.match(path)
        if found:
            known_path = True
            if m == method:
                oid = found.groupdict().get("id")
                return template, handler, int(oid) if oid else None
    return (path if known_path else "(unknown)"), None, None


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
    ) -> None:
        self.model = SandboxModel(data, variants=variants)
        self.token = token
        self.host = host
        self.port = port
        self.log = RequestLog()
        self.on_response: Callable[[Exchange], None] | None = None
        self.crashes: list[str] = []  # tracebacks of 500s (sandbox bugs); tests assert none
        self._injector = FaultInjector(faults or Faults())
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._late: list[threading.Timer] = []  # pending late commits (Faults.p_commit_late)

    @property
    def faults(self) -> Faults:
        """The fault settings in force; assign new `Faults` to change them (state restarts)."""
        return self._injector.faults

    @faults.setter
    def faults(self, value: Faults | None) -> None:
        self._injector = FaultInjector(value or Faults())

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
        """Any non-empty bearer token, or exactly `token` when one was configured."""
        scheme, _, value = (header or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return False
        return self.token is None or hmac.compare_digest(value, self.token)

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
        """The `/__sandbox/...` endpoints."""
        if method == "GET" and path == "/stats":
            stats = self.log.stats()
            return Response(
                200, {**stats, "faults": self.faults.to_json(), "variants": self.variants.to_json()}
            )
        if path == "/variants" and method in ("GET", "PUT"):
            if method == "PUT":
                try:
                    self.variants = Variants.from_json(body or {})
                except (TypeError, ValueError) as err:
                    return Response(400, {"errors": [{"type": "system", "message": str(err)}]})
            return Response(200, {"variants": self.variants.to_json()})
        if method == "POST" and path == "/reset":
            self.model.reset()
            self.log.reset()
            return Response(200, {"reset": True})
        if method == "PUT" and path == "/faults":
            try:
                self.faults = Faults.from_json(body or {})
            except (TypeError, ValueError) as err:
                return Response(400, {"errors": [{"type": "system", "message": str(err)}]})
            return Response(200, {"faults": self.faults.to_json()})
        if method == "POST" and path == "/workspaces" and isinstance(body, dict):
            try:
                ws = self.model.create_workspace(str(body.get("title", "")))
            except SandboxError as err:
                return Response(err.status, err.body())
            return Response(200, {"workspace": ws})
        return Response(404, {"errors": [{"type": "system", "message": "Not found"}]})

    def commit_later(self, handler: Handler, req: Request, seconds: float) -> None:
        """Handle `req` `seconds` from now, its answer going nowhere (a late commit)."""
        timer = threading.Timer(max(0.0, seconds), self.handle, (handler, req))
        timer.daemon = True
        self._late.append(timer)
        timer.start()

    def handle(self, handler: Handler, req: Request) -> Response:
        """Run a handler in one transaction; errors become Kantata error bodies."""
        try:
            with self.model.store.transaction():
                answer = handler(self.model, req)
        except SandboxError as err:
            return Response(err.status, err.body())
        except Exception:  # a sandbox bug: answer like Kantata's 500, keep the traceback
            self.crashes.append(traceback.format_exc())
            return Response(500, SandboxError("server_error").body())
        if self.variants.meta == "absent":
            answer = replace(answer, body=present.without_meta(answer.body))
        return answer


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(_RequestHandler):
        sandbox = server

    return _Handler


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    # Headers and body go out in two writes; with Nagle on, the second waits ~40 ms for
    # the client's delayed ACK on every request.
    disable_nagle_algorithm = True
    server_version = "kxplan-sandbox"
    sandbox: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (the RequestLog records requests)."""

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
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = self._read_body()
        if parts.path.startswith(CONTROL_PREFIX + "/"):
            try:
                body = _parse_json(raw)
            except ValueError:
                # A settings body that does not parse must not reset the settings to defaults.
                message = "the body is not valid JSON"
                self._send(Response(400, {"errors": [{"type": "system", "message": message}]}))
                return
            self._send(self.sandbox.control(method, parts.path[len(CONTROL_PREFIX) :], body))
            return
        path = parts.path[len(API_PREFIX) :] if parts.path.startswith(API_PREFIX) else None
        if path is not None and path.endswith(".json"):
            path = path[: -len(".json")]
        route, handler, oid = match_route(method, path or "")
        if path is None:
            route = parts.path
        form = _is_form(self.headers.get("Content-Type"))
        resp, outcome, body, trickle_s = self._process(
            method, route, handler, oid, params, raw, form
        )
        entry = LogEntry(
            method,
            route,
            parts.path,
            resp.status if resp else None,
            (time.perf_counter() - started) * 1000,
            outcome,
        )
        self.sandbox.log.add(entry)
        if resp is None:
            self.close_connection = True  # dropped: no response at all
            return
        self._send(resp, trickle_s)
        hook = self.sandbox.on_response
        if hook is not None and handler is not None:
            hook(Exchange(method, route, params, body, resp.status, resp.body, form))

    def _process(
        self,
        method: str,
        route: str,
        handler: Handler | None,
        oid: int | None,
        params: dict[str, str],
        raw: bytes,
        form: bool = False,
    ) -> tuple[Response | None, str, Any, float]:
        resp, outcome, body, decision = self._decide_and_handle(
            method, route, handler, oid, params, raw, form
        )
        if resp is not None and handler is not None:
            resp = self.sandbox.lie(route, resp)
        return resp, outcome, body, decision.trickle_s

    def _decide_and_handle(
        self,
        method: str,
        route: str,
        handler: Handler | None,
        oid: int | None,
        params: dict[str, str],
        raw: bytes,
        form: bool,
    ) -> tuple[Response | None, str, Any, Decision]:
        decision = self.sandbox.decide(method, route)
        if decision.delay_s:
            time.sleep(decision.delay_s)
        if decision.status is not None:
            kind = "rate_limited" if decision.status == 429 else "unavailable"
            headers = {}
            if decision.retry_after is not None and self.sandbox.variants.retry_after == "present":
                headers["Retry-After"] = f"{decision.retry_after:g}"
            resp = Response(decision.status, SandboxError(kind).body(), headers)
            return resp, str(decision.status), None, decision
        if not self.sandbox.authorized(self.headers.get("Authorization")):
            denied = Response(401, SandboxError("unauthorized").body())
            return denied, "unauthorized", None, decision
        if handler is None:
            return Response(404, SandboxError("not_found").body()), "error", None, decision
        try:
            body = (_parse_form(raw) if form else _parse_json(raw)) if raw.strip() else None
        except ValueError:
            message = "The form-encoded request body is malformed" if form else None
            bad = Response(400, SandboxError("bad_json", message).body())
            return bad, "error", None, decision
        if decision.drop_before:
            return None, "dropped_before", body, decision
        if decision.commit_late:
            late = self.sandbox.faults.commit_late_s - decision.delay_s  # since it arrived
            self.sandbox.commit_later(handler, Request(method, route, params, body, oid), late)
            return None, "committed_late", body, decision
        answer = self.sandbox.handle(handler, Request(method, route, params, body, oid))
        if decision.drop_after:
            return None, "dropped_after", body, decision
        return answer, "ok" if answer.status < 400 else "error", body, decision

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


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    return json.loads(raw.decode("utf-8"))


FORM_TYPE = "application/x-www-form-urlencoded"
_FORM_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == FORM_TYPE


def _parse_form(raw: bytes) -> dict[str, Any]:
    """A Rails structured form body: `story[title]=x`, `story[checklist][]=a`,
    `stories[][title]=a&stories[][title]=b` (a new object starts when a key repeats).
    Values stay strings, as Rails receives them (docs/sandbox.md, "Fidelity")."""
    body: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
        found = _FORM_KEY.match(key)
        if found is None:
            raise ValueError(f"bad form key {key!r}")
        path = [found.group(1), *re.findall(r"\[([^\[\]]*)\]", found.group(2))]
        _assign(body, path, value)
    return body


def _assign(node: dict[str, Any], path: list[str], value: str) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        node[head] = value
        return
    if rest[0] != "":
        child = node.setdefault(head, {})
        if not isinstance(child, dict):
            raise ValueError(f"form key {head!r} is both a value and an object")
        _assign(child, rest, value)
        return
    items = node.setdefault(head, [])
    if not isinstance(items, list):
        raise ValueError(f"form key {head!r} is both a value and a list")
    if len(rest) == 1:
        items.append(value)
    elif items and isinstance(items[-1], dict) and not _has_path(items[-1], rest[1:]):
        _assign(items[-1], rest[1:], value)
    else:
        items.append({})
        _assign(items[-1], rest[1:], value)


def _has_path(node: dict[str, Any], path: list[str]) -> bool:
    """Rails' `params_hash_has_key?`: a path through `[]` never counts as present."""
    if "" in path:
        return False
    current: Any = node
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    return True
