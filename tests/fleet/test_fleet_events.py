"""`--json` of a fleet: one stream for every workspace, each event naming its workspace, and
a workspace that fails reported as its own error while the others go on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import kxplan
from tests.support.events import events_of, of
from tests.support.fleets import CLIENTS, fleet_site, title, titles, write_fleet


def test_plan_json_streams_each_workspace_plan_in_fleet_order(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml")
    result = kxplan("plan", fleet, "--api-url", sandbox.url, "--json", "--detailed-exitcode")

    assert result.code == 2, result.err
    events = events_of(result)
    plans = of(events, "plan")
    assert [p["workspace"] for p in plans] == [{"id": ids[c], "title": title(c)} for c in CLIENTS]
    changes = Counter(e["workspace"]["id"] for e in of(events, "change"))
    assert changes == {ids[c]: 3 for c in CLIENTS}
    assert events[-1]["workspaces"] == {"total": 3, "failed": 0}
    assert events[-1]["planned"]["create"] == 9
    assert "Fleet 'onboarding': plan:" in result.err  # the table for people, on stderr


def test_apply_json_reports_each_workspace_and_the_one_that_failed(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml", (*CLIENTS[:2], "Hooli"))
    result = kxplan("apply", fleet, "--api-url", sandbox.url, "--json", "--auto-approve")

    assert result.code == 1
    events = events_of(result)
    applied = Counter(
        e["workspace"]["id"] for e in of(events, "apply") if e["outcome"] == "applied"
    )
    for client in CLIENTS[:2]:
        assert applied[ids[client]] == len(titles(sandbox, ids[client])) == 3
    errors = [d for d in of(events, "diagnostic") if d["level"] == "error"]
    hooli = [d for d in errors if d.get("workspace", {}).get("title") == title("Hooli")]
    assert len(hooli) == 1 and "was not found" in hooli[0]["message"]
    assert errors[-1]["message"].startswith("1 of 3 workspaces of the fleet failed")
    assert events[-1]["workspaces"] == {"total": 3, "failed": 1}
    assert events[-1]["outcomes"] == {"applied": 6, "failed": 0, "skipped": 0}
    assert "Fleet 'onboarding': applied:" in result.err
