"""The commit-late fault: a create's answer is dropped at once and the write lands later."""

from __future__ import annotations

import time

import httpx
import pytest

from kxplan.sandbox import Faults, SandboxServer
from tests.support import api


def _titles(c: httpx.Client, workspace_id: str) -> list[str]:
    body = c.get("/stories", params={"workspace_id": workspace_id}).json()
    return [s["title"] for s in body["stories"].values()]


def test_a_create_committed_late_is_absent_at_first_and_present_later(
    sandbox: SandboxServer,
) -> None:
    ws = sandbox.model.create_workspace("Late")
    sandbox.faults = Faults(p_commit_late=1.0, commit_late_s=0.2)
    with api(sandbox) as c:
        with pytest.raises(httpx.TransportError):
            c.post("/stories", json={"story": {"workspace_id": int(ws["id"]), "title": "Slow"}})
        assert _titles(c, ws["id"]) == []  # answer lost, nothing committed yet
        c.put(f"/workspaces/{ws['id']}", json={"workspace": {"title": "Late!"}})  # PUTs unaffected
        for _ in range(200):  # wait for the commit (bounded: 10 s)
            if _titles(c, ws["id"]):
                break
            time.sleep(0.05)
        assert _titles(c, ws["id"]) == ["Slow"]
    outcomes = [e.outcome for e in sandbox.log.entries if e.method != "GET"]
    assert outcomes == ["committed_late", "ok"]


def test_commit_late_off_leaves_the_seeded_faults_as_they_were() -> None:
    from kxplan.sandbox.faults import FaultInjector

    plain = FaultInjector(Faults(seed=3, p_503=0.5, p_drop_after=0.5))
    late_off = FaultInjector(Faults(seed=3, p_503=0.5, p_drop_after=0.5, commit_late_s=9.0))
    assert [plain.decide("POST") for _ in range(50)] == [late_off.decide("POST") for _ in range(50)]
