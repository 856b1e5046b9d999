"""The server around the rules: auth, errors, faults, the request log, control endpoints,
persistence, concurrency and the `kxplan sandbox` command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kxplan.sandbox import Faults, SandboxServer
from tests.support import api, create, ids

MakeSandbox = Callable[..., SandboxServer]
REPO = Path(__file__).resolve().parents[2]
OAUTH = {"errors": [{"type": "oauth", "message": "Invalid OAuth 2 Request"}]}


def test_any_bearer_token_works_unless_one_is_configured(make_sandbox: MakeSandbox) -> None:
    open_server = make_sandbox()
    locked = make_sandbox(token="s3cret")
    with api(open_server, token=None) as anonymous:
        missing = anonymous.get("/workspaces")
        lowercase = anonymous.get("/workspaces", headers={"Authorization": "bearer anything"})
        empty = anonymous.get("/workspaces", headers={"Authorization": "Bearer"})
    with api(locked, token="wrong") as wrong, api(locked, token="s3cret") as right:
        refused = wrong.get("/workspaces")
        accepted = right.get("/workspaces")
    assert missing.status_code == 401 and missing.json() == OAUTH
    assert lowercase.status_code == 200
    assert empty.status_code == 401
    assert refused.status_code == 401 and "s3cret" not in refused.text
    assert accepted.status_code == 200


def test_unknown_records_and_routes_are_the_documented_404(sandbox: SandboxServer) -> None:
    with api(sandbox) as c:
        record = c.get("/stories/123")
        route = c.get("/no_such_things")
    not_found = {"errors": [{"type": "system", "message": "Not found"}]}
    assert record.status_code == 404 and record.json() == not_found
    assert route.status_code == 404 and route.json() == not_found


def test_latency_is_added_to_every_request(make_sandbox: MakeSandbox) -> None:
    server = make_sandbox(faults=Faults(latency_ms=60))
    with api(server) as c:
        c.get("/workspaces")
        started = time.perf_counter()
        c.get("/workspaces")
        elapsed = time.perf_counter() - started
    assert 0.06 <= elapsed < 1.0


def test_a_new_connections_first_request_waits_out_its_handshakes(
    make_sandbox: MakeSandbox,
) -> None:
    server = make_sandbox(faults=Faults(connect_ms=600))
    with api(server) as c:
        started = time.perf_counter()
        c.get("/workspaces")  # connects, then sends at once: waits the handshakes out
        first = time.perf_counter() - started
        started = time.perf_counter()
        c.get("/workspaces")  # the same connection: nothing more to wait
        second = time.perf_counter() - started
    assert first >= 0.6 and second < 0.5
    # A connection opened earlier (as kxplan opens its first ones while the manifest loads)
    # has had its handshakes meanwhile.
    url = httpx.URL(server.url)
    with socket.create_connection((url.host, url.port or 80)) as sock:
        time.sleep(0.6)
        path = f"{url.path.rstrip('/')}/workspaces.json"
        started = time.perf_counter()
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n".encode())
        answer = sock.recv(64)
        waited = time.perf_counter() - started
    assert answer.startswith(b"HTTP/1.1 200") and waited < 0.5


def _outcomes(server: SandboxServer, n: int) -> list[int]:
    with api(server) as c:
        return [c.get("/workspaces").status_code for _ in range(n)]


def test_503s_follow_the_seed_deterministically(make_sandbox: MakeSandbox) -> None:
    first = _outcomes(make_sandbox(faults=Faults(seed=7, p_503=0.3)), 40)
    again = _outcomes(make_sandbox(faults=Faults(seed=7, p_503=0.3)), 40)
    other = _outcomes(make_sandbox(faults=Faults(seed=8, p_503=0.3)), 40)
    assert first == again and first != other
    assert 3 <= first.count(503) <= 25 and set(first) == {200, 503}


def test_rate_limit_answers_429_with_or_without_retry_after(make_sandbox: MakeSandbox) -> None:
    # One token per 100 s: no refill during the test, however loaded the machine.
    plain = make_sandbox(faults=Faults(rate_limit=0.01, burst=3))
    hinted = make_sandbox(faults=Faults(rate_limit=0.01, burst=1, retry_after=2))
    with api(plain) as c:
        statuses = [c.get("/workspaces") for _ in range(5)]
    with api(hinted) as c:
        c.get("/workspaces")
        limited = c.get("/workspaces")
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    assert "Retry-After" not in statuses[3].headers
    assert statuses[3].json()["errors"][0]["message"] == "Rate limit exceeded"
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert plain.log.count(route="/workspaces") == 5


def test_every_nth_request_answers_429_however_slow_the_client(make_sandbox: MakeSandbox) -> None:
    server = make_sandbox(faults=Faults(every_429=3, retry_after=1, seed=5, p_503=0.2))
    seeded = make_sandbox(faults=Faults(seed=5, p_503=0.2))
    statuses = _outcomes(server, 9)
    assert [s for i, s in enumerate(statuses) if i % 3 == 2] == [429, 429, 429]
    assert 429 not in [s for i, s in enumerate(statuses) if i % 3 != 2]
    # No random number is drawn for it: the seeded 503s fall where they fall without it.
    plain = _outcomes(seeded, 9)
    assert [s for i, s in enumerate(statuses) if i % 3 != 2] == [
        s for i, s in enumerate(plain) if i % 3 != 2
    ]


def test_a_drop_after_commit_keeps_the_row_while_the_client_sees_no_response(
    make_sandbox: MakeSandbox,
) -> None:
    server = make_sandbox()
    ws = server.model.create_workspace("Drops")
    server.faults = Faults(p_drop_after=1.0)
    with api(server) as c:
        with pytest.raises(httpx.TransportError):
            c.post("/stories", json={"story": {"workspace_id": int(ws["id"]), "title": "Landed"}})
        assert c.get("/stories", params={"workspace_id": ws["id"]}).json()["count"] == 1
    server.faults = Faults(p_drop_before=1.0)
    with api(server) as c:
        with pytest.raises(httpx.TransportError):
            c.post("/stories", json={"story": {"workspace_id": int(ws["id"]), "title": "Lost"}})
        body = c.get("/stories", params={"workspace_id": ws["id"]}).json()
    assert [s["title"] for s in body["stories"].values()] == ["Landed"]
    outcomes = [e.outcome for e in server.log.entries if e.method == "POST"]
    assert outcomes == ["dropped_after", "dropped_before"]


def test_the_log_counts_requests_by_method_and_route(sandbox: SandboxServer) -> None:
    ws = sandbox.model.create_workspace("Counted")
    with api(sandbox) as c:
        story = create(c, ws["id"], title="a")
        c.get(f"/stories/{story['id']}.json")
        c.get("/stories")
        c.put(f"/stories/{story['id']}", json={"story": {"title": "b"}})
    assert sandbox.log.count() == 4
    assert sandbox.log.count("GET") == 2
    assert sandbox.log.count(route="/stories/{id}") == 2
    assert sandbox.log.count("POST", "/stories") == 1
    sandbox.log.reset()
    assert sandbox.log.count() == 0


def test_control_endpoints_read_stats_set_faults_and_reset(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.base_url) as control, api(sandbox) as c:
        seeded = control.post("/__sandbox/workspaces", json={"title": "From control"}).json()
        c.get("/workspaces")
        stats = control.get("/__sandbox/stats").json()
        faults = control.put("/__sandbox/faults", json={"p_503": 1.0, "seed": 3}).json()
        failing = c.get("/workspaces").status_code
        bad = control.put("/__sandbox/faults", json={"p_404": 1})
        control.put("/__sandbox/faults", json={})
        control.post("/__sandbox/reset")
        after = c.get("/workspaces").json()
    assert seeded["workspace"]["title"] == "From control"
    assert stats["requests"] == 1 and stats["by_route"] == {"GET /workspaces": 1}
    assert faults["faults"]["p_503"] == 1.0 and failing == 503
    assert bad.status_code == 400
    assert after["count"] == 0


def test_data_survives_a_restart_when_stored_in_a_file(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    data = tmp_path / "nested" / "sandbox.db"
    first = make_sandbox(data=data)
    ws = first.model.create_workspace("Persistent")
    with api(first) as c:
        story = create(c, ws["id"], title="kept", checklist=["one"])
    first.stop()
    second = make_sandbox(data=data)
    with api(second) as c:
        body = c.get(f"/stories/{story['id']}", params={"include": "story_tasks"}).json()
    assert body["stories"][story["id"]]["title"] == "kept"
    assert len(body["story_tasks"]) == 1


def test_concurrent_creates_never_collide(sandbox_workspace: tuple[SandboxServer, str]) -> None:
    server, ws = sandbox_workspace

    def post(i: int) -> int:
        with api(server) as c:
            items = [{"workspace_id": int(ws), "title": f"{i}-{j}"} for j in range(20)]
            return c.post("/stories", json={"stories": items}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(16)))
    with api(server) as c:
        body = c.get("/stories", params={"workspace_id": ws, "per_page": 200, "page": 2}).json()
        positions = c.get("/stories", params={"workspace_id": ws, "per_page": 200}).json()
    assert statuses == [200] * 16
    assert body["count"] == 320
    assert len({s["position"] for s in positions["stories"].values()}) == 200


def test_kxplan_sandbox_command_serves_and_seeds_a_workspace(tmp_path: Path) -> None:
    args = ["sandbox", "--port", "0", "--data", "sb.db", "--seed-workspace", "Acme — Onboarding"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kxplan", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        url = lines[1].split()[-1]
        headers = {"Authorization": "Bearer anything"}
        body = httpx.get(url + "/workspaces", headers=headers, timeout=10).json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert lines[0].startswith('Created workspace "Acme — Onboarding"')
    assert [w["title"] for w in body["workspaces"].values()] == ["Acme — Onboarding"]
    assert ids(body) == list(body["workspaces"])
    assert (tmp_path / "sb.db").is_file()
