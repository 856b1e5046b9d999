"""Every request has a total deadline, and a sandbox that is not running is said so at once."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.errors import TransportError
from kxplan.sandbox import Faults
from tests.support import kxplan

Connect = Callable[..., KantataClient]


def test_a_trickling_read_is_abandoned_at_the_deadline_and_retried(
    sandbox_workspace: tuple[Any, str], connect: Connect
) -> None:
    server, ws_id = sandbox_workspace
    server.faults = Faults(p_trickle=1.0, trickle_s=0.05)  # ~300 bytes: 15 s an answer
    client = connect(server, deadline=0.3, max_retries=2)

    with pytest.raises(TransportError) as info:
        client.get(f"/workspaces/{ws_id}")

    assert "did not answer in full in time" in str(info.value)
    assert "deadline" in str(info.value) and "after 3 attempts" in str(info.value)
    assert client.requests == 3
    server.faults = Faults()
    assert client.get(f"/workspaces/{ws_id}")["results"]  # the next answer is read in full


def test_a_trickling_create_is_reported_as_outcome_unknown_not_resent(
    sandbox_workspace: tuple[Any, str], connect: Connect
) -> None:
    server, ws_id = sandbox_workspace
    server.faults = Faults(p_trickle=1.0, trickle_s=0.05)
    client = connect(server, deadline=0.3)

    with pytest.raises(TransportError) as info:
        client.post("/stories", json={"story": {"title": "A", "workspace_id": int(ws_id)}})

    assert info.value.outcome_unknown
    assert client.requests == 1  # not sent again: the caller looks the task up first
    assert server.log.count("POST", "/stories") <= 1


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def test_a_refused_loopback_connection_fails_at_once_without_retries() -> None:
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{_dead_port()}/api/v1"
    with (
        KantataClient(url, "tok", sleep=sleeps.append) as client,
        pytest.raises(TransportError) as info,
    ):
        client.get("/workspaces/1")
    assert client.requests == 1 and sleeps == []
    assert "nothing is listening at http://127.0.0.1:" in str(info.value)
    assert "kxplan sandbox" in info.value.format()


def test_plan_against_a_stopped_sandbox_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", "tok")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "version: 1\nname: s\nworkspace: W\ntasks:\n  - {key: a, title: A}\n", encoding="utf-8"
    )
    result = kxplan("plan", manifest, "--api-url", f"http://127.0.0.1:{_dead_port()}/api/v1")
    assert result.code == 1
    assert "nothing is listening" in result.err and "kxplan sandbox" in result.err
