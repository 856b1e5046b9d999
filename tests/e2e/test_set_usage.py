"""Shared status sets end to end: a plan that changes an existing set counts the other
workspaces using it, and only such a plan lists the workspaces (a rate-limited request)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, write_manifest

STATUSES = [
    {"name": "Backlog", "category": "not started"},
    {"name": "Doing", "category": "started"},
    {"name": "Done", "category": "completed"},
]


def _doc(name: str, workspace: str, statuses: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 1,
        "name": name,
        "workspace": int(workspace),
        "status_set": {"name": "Delivery", "statuses": statuses},
        "tasks": [{"key": "kickoff", "title": "Kickoff", "status": "Backlog"}],
    }


@pytest.fixture
def shared(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[SandboxServer, str, Path]:
    """Workspaces A and B both using the set "Delivery" (and C using none); the manifest of A."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    url = str(sandbox.url)
    ids = [str(sandbox.model.create_workspace(t)["id"]) for t in ("A", "B", "C")]
    for name, workspace in (("alpha", ids[0]), ("beta", ids[1])):
        path = write_manifest(tmp_path / f"{name}.yaml", _doc(name, workspace, STATUSES))
        applied = kxplan("apply", path, "--auto-approve", "--api-url", url)
        assert applied.code == 0, applied.text
    return sandbox, ids[0], tmp_path / "alpha.yaml"


def _listings(server: SandboxServer) -> int:
    return server.log.count(method="GET", route="/workspaces")


def test_renaming_a_status_says_one_other_workspace_uses_the_set(
    shared: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = shared
    renamed = [{**STATUSES[1], "name": "In progress", "renamed_from": ["Doing"]}]
    write_manifest(path, _doc("alpha", workspace, [STATUSES[0], *renamed, STATUSES[2]]))
    before = _listings(server)
    plan = kxplan("plan", path, "--api-url", server.url)
    assert plan.code == 0, plan.text
    assert '~ status "In progress" of set "Delivery"' in plan.out
    assert "# 1 other workspace uses this set and sees this change too" in plan.out
    assert _listings(server) == before + 1  # one page of workspaces, read once

    data = json.loads(kxplan("plan", path, "--format", "json", "--api-url", server.url).out)
    (change,) = [c for c in data["changes"] if c["kind"] == "status"]
    assert "1 other workspace uses this set" in change["reason"]


def test_a_no_change_plan_never_lists_the_workspaces(
    shared: tuple[SandboxServer, str, Path],
) -> None:
    server, _, path = shared
    server.log.reset()
    plan = kxplan("plan", path, "--detailed-exitcode", "--api-url", server.url)
    assert plan.code == 0, plan.text
    assert _listings(server) == 0
    assert server.log.count() == 3  # the workspace, the sets, one page of stories


def test_a_set_created_by_the_plan_lists_no_workspaces(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    workspace = str(sandbox.model.create_workspace("Fresh")["id"])
    path = write_manifest(tmp_path / "fresh.yaml", _doc("fresh", workspace, STATUSES))
    plan = kxplan("plan", path, "--api-url", sandbox.url)
    assert plan.code == 0, plan.text
    assert '+ status set "Delivery"' in plan.out
    assert _listings(sandbox) == 0
    assert "other workspace" not in plan.out


def test_apply_reports_the_count_before_it_changes_the_set(
    shared: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = shared
    extra = {"name": "Review", "category": "started"}
    write_manifest(path, _doc("alpha", workspace, [*STATUSES[:2], extra, STATUSES[2]]))
    # A shared set changes only with --allow-shared-set-change (issue 11: guarded sets).
    refused = kxplan("apply", path, "--auto-approve", "--api-url", server.url)
    assert refused.code == 1 and "--allow-shared-set-change" in refused.err
    applied = kxplan(
        "apply", path, "--auto-approve", "--allow-shared-set-change", "--api-url", server.url
    )
    assert applied.code == 0, applied.text
    assert '+ status "Review" of set "Delivery"' in applied.out
    assert "1 other workspace uses this set" in applied.out
    after = kxplan("plan", path, "--detailed-exitcode", "--api-url", server.url)
    assert after.code == 0 and "No changes." in after.out
