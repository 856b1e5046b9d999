"""Plan once, look up once (issue 12): each manifest's workspace is looked up once and each
manifest is planned once, also when its plan changes a status set other workspaces share
(the counts are added to the plan made, not planned again) and on the embedded sandbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kxplan.cli.plan_options import PlanFlags, make_plans
from kxplan.client import KantataClient
from kxplan.manifest import load_manifests
from kxplan.model import LiveState, Manifest, PlanOptions
from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, write_manifest

STATUSES = [
    {"name": "Backlog", "category": "not started"},
    {"name": "Doing", "category": "started"},
    {"name": "Done", "category": "completed"},
]


def _doc(
    name: str, workspace: str, statuses: list[dict[str, str]], status: str = "Backlog"
) -> dict[str, Any]:
    return {
        "version": 1,
        "name": name,
        "workspace": workspace,
        "prune": True,  # a status leaving the manifest is deleted only with prune
        "status_set": {"name": "Delivery", "statuses": statuses},
        "tasks": [{"key": "kickoff", "title": "Kickoff", "status": status}],
    }


def _counting(calls: list[str]) -> Callable[[Manifest, LiveState, PlanOptions], Plan]:
    def planner(manifest: Manifest, live: LiveState, options: PlanOptions) -> Plan:
        calls.append(manifest.name)
        return build_plan(manifest, live, options)

    return planner


def test_a_shared_set_change_is_planned_once_per_manifest(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    for title in ("Beta", "Acme"):
        sandbox.model.create_workspace(title)
        path = write_manifest(
            tmp_path / f"{title}.yaml", _doc(title.lower(), title, STATUSES, "Doing")
        )
        applied = kxplan("apply", path, "--auto-approve", "--api-url", sandbox.url)
        assert applied.code == 0, applied.text
    # Beta drops "Doing", which Acme's task holds: the plan changes a shared set.
    beta = write_manifest(tmp_path / "Beta.yaml", _doc("beta", "Beta", STATUSES[::2]))
    acme = {
        "version": 1,
        "name": "acme",
        "workspace": "Acme",
        "tasks": [{"key": "kickoff", "title": "Kickoff"}],
    }
    other = write_manifest(tmp_path / "other.yaml", acme)
    manifests = load_manifests([beta, other])
    calls: list[str] = []
    sandbox.log.reset()
    with KantataClient(sandbox.url, TOKEN) as client:
        plans = make_plans(manifests, client, PlanFlags(), planner=_counting(calls))
    assert sorted(calls) == ["acme", "beta"]  # once each (planned concurrently)
    assert [s.tasks for s in plans[0].shared_sets] == [1]  # Acme's task on "Doing"
    assert not plans[1].has_changes
    # Two titles: one page of every workspace finds both, and guard_plan's count of who
    # else uses the set reads the same index (kxplan.live.shared).
    lookups = [e.path for e in sandbox.log.entries if e.route == "/workspaces"]
    assert len(lookups) == 1, lookups


def test_plan_on_the_embedded_sandbox_looks_the_workspace_up_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    manifest = write_manifest(tmp_path / "m.yaml", _doc("web", "Website", STATUSES))
    applied = kxplan("apply", manifest, "--sandbox", "--auto-approve")
    assert applied.code == 0, applied.text
    result = kxplan("plan", manifest, "--sandbox", "--log-level", "debug", "--detailed-exitcode")
    assert result.code == 0, result.text
    lookups = [line for line in result.err.splitlines() if "/workspaces?" in line]
    assert len(lookups) == 1, lookups
    assert "matching=Website" in lookups[0]
