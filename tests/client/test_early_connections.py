"""Connections opened while the manifest loads (kxplan.client._early): the first requests go
over them, TLS included, no request is sent on them before the client's own, and an invalid
manifest still sends none (docs/client.md, "Connections opened early").

The servers here count the TCP connections they accept and the requests they answer. The
certificate in tests/client/tls/ is a self-signed one for localhost and 127.0.0.1, made for
these tests only (its key protects nothing)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient, _early
from tests.support import TOKEN, kxplan, tree, write_manifest

TLS = Path(__file__).parent / "tls"


class _Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.accepted = 0
        self.requests: list[str] = []
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def get_request(self) -> Any:
        got = super().get_request()
        self.accepted += 1
        return got


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Counting

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        body = json.dumps({"count": 0, "results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


Site = tuple[str, "_Counting"]


@pytest.fixture(params=["http", "https"])
def site(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A counting server and its API URL (https with the test certificate trusted)."""
    https = request.param == "https"
    monkeypatch.delenv(_early.ENV, raising=False)
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    if https:
        monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "cert.pem"))
    srv = _Counting(https)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    host = "localhost" if https else "127.0.0.1"
    yield f"{request.param}://{host}:{srv.server_address[1]}/api/v1", srv
    srv.shutdown()
    srv.server_close()
    _early.close_unused()


def _settle(srv: _Counting, accepted: int) -> None:
    deadline = time.monotonic() + 5
    while srv.accepted < accepted and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_first_request_goes_over_a_connection_opened_before_it(site: Site) -> None:
    server, srv = site
    assert _early.open_early(server) == _early.EARLY_CONNECTIONS
    _settle(srv, _early.EARLY_CONNECTIONS)
    # Open (TCP, and TLS for https) and no request on them yet.
    assert srv.accepted == _early.EARLY_CONNECTIONS and srv.requests == []
    with KantataClient(server, TOKEN) as client:
        client.get("/workspaces", {"per_page": 1})
        assert srv.accepted == _early.EARLY_CONNECTIONS  # no connection of its own
    assert len(srv.requests) == 1 and srv.requests[0].startswith("/api/v1/workspaces")


def test_an_old_early_connection_is_closed_unused(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, srv = site
    monkeypatch.setattr(_early, "FRESH_S", 0.0)  # every early connection is too old
    _early.open_early(server, count=1)
    _settle(srv, 1)
    with KantataClient(server, TOKEN) as client:
        client.get("/workspaces", {"per_page": 1})
    assert srv.accepted == 2 and len(srv.requests) == 1


def test_nothing_is_opened_early_when_switched_off_or_through_a_proxy(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, srv = site
    monkeypatch.setenv(_early.ENV, "0")
    assert _early.open_early(server) == 0
    monkeypatch.delenv(_early.ENV)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert _early.open_early(server) == 0
    assert srv.accepted == 0


def test_an_invalid_manifest_opens_connections_but_sends_no_request(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server, srv = site
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nworkspace: W\ntasks:\n  - title: [\n", encoding="utf-8")
    done = kxplan("plan", bad, "--api-url", server)
    assert done.code == 1 and "not valid YAML" in done.err, done.text
    assert srv.requests == []  # no API call, as before


def test_a_plan_takes_its_first_connections_from_the_early_ones(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server, srv = site
    manifest = write_manifest(tmp_path / "m.yaml", {**tree((2,)), "workspace": "Nowhere"})
    done = kxplan("plan", manifest, "--api-url", server)
    # The stand-in knows no workspace: the look-up is the one request, on an early connection.
    assert done.code == 1 and "Nowhere" in done.err, done.text
    # (The second early one may still be opening when the command ends: it is closed then.)
    _settle(srv, _early.EARLY_CONNECTIONS)
    assert len(srv.requests) == 1 and srv.accepted == _early.EARLY_CONNECTIONS
