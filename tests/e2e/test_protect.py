"""`protect: true` end to end: the flag is written on Kantata, so a protected task that
leaves the manifest is never deleted, even with --prune, until it is released."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, read, write_manifest

STACK = "contracts"


def _doc(workspace: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": 1, "name": STACK, "workspace": int(workspace), "tasks": tasks}


CONTRACT = {"key": "contract", "title": "Signed contract", "protect": True}
PHASE = {"key": "phase", "title": "Phase 1", "children": [{"key": "kickoff", "title": "Kickoff"}]}


@pytest.fixture
def env(
    sandbox_workspace: tuple[SandboxServer, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> tuple[SandboxServer, str, Path]:
    server, workspace = sandbox_workspace
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    return server, workspace, tmp_path / "contracts.yaml"


def _ids(url: str, workspace: str) -> dict[str, str]:
    return {t.key_for(STACK) or t.title: t.id for t in read(url, workspace).tasks}


def _protected(url: str, workspace: str) -> dict[str, bool]:
    out = {}
    for task in read(url, workspace).tasks:
        marker = task.marker_for(STACK)
        if marker is not None:
            out[marker.service_model_ref] = marker.protected
    return out


def test_a_protected_task_survives_prune_until_it_is_released(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    write_manifest(path, _doc(workspace, [CONTRACT, PHASE]))
    assert kxplan("apply", path, "--auto-approve", "--api-url", url).code == 0
    assert _protected(url, workspace) == {"contract": True, "phase": False, "kickoff": False}
    contract_id = _ids(url, workspace)["contract"]

    # Removed from the manifest: blocked, never deleted, with --prune too.
    write_manifest(path, _doc(workspace, [PHASE]))
    plan = kxplan("plan", path, "--prune", "--detailed-exitcode", "--api-url", url)
    assert plan.code == 0, plan.text  # a blocked task is not a change
    assert f"! task contract (#{contract_id}) blocked: protected" in plan.out
    assert "put it back in the manifest with `protect: false`" in plan.out
    assert "No changes." in plan.out

    deletes = server.log.count(method="DELETE")
    applied = kxplan("apply", path, "--prune", "--auto-approve", "--api-url", url)
    assert applied.code == 0, applied.text
    assert server.log.count(method="DELETE") == deletes
    assert _ids(url, workspace)["contract"] == contract_id
    again = kxplan("plan", path, "--prune", "--detailed-exitcode", "--api-url", url)
    assert again.code == 0 and again.out == plan.out  # stable

    # Release: back in the manifest with protect: false, apply, then remove it.
    write_manifest(path, _doc(workspace, [{**CONTRACT, "protect": False}, PHASE]))
    release = kxplan("plan", path, "--detailed-exitcode", "--api-url", url)
    assert release.code == 2
    assert f"~ task contract  (#{contract_id})" in release.out
    assert "protect  true -> false" in release.out
    puts = server.log.count(method="PUT")
    assert kxplan("apply", path, "--auto-approve", "--api-url", url).code == 0
    assert server.log.count(method="PUT") == puts + 1  # one PUT rewrites the marker
    assert _protected(url, workspace)["contract"] is False

    write_manifest(path, _doc(workspace, [PHASE]))
    gone = kxplan("apply", path, "--prune", "--auto-approve", "--api-url", url)
    assert gone.code == 0, gone.text
    assert "contract" not in _ids(url, workspace)
    final = kxplan("plan", path, "--prune", "--detailed-exitcode", "--api-url", url)
    assert final.code == 0 and "No changes." in final.out


def test_a_protected_subtask_blocks_its_removed_parent(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    phase = {**PHASE, "children": [{"key": "kickoff", "title": "Kickoff", "protect": True}]}
    write_manifest(path, _doc(workspace, [phase, {"key": "other", "title": "Other"}]))
    assert kxplan("apply", path, "--auto-approve", "--api-url", url).code == 0
    before = _ids(url, workspace)

    write_manifest(path, _doc(workspace, [{"key": "other", "title": "Other"}]))
    applied = kxplan("apply", path, "--prune", "--auto-approve", "--api-url", url)
    assert applied.code == 0, applied.text
    assert "its subtask 'Kickoff'" in applied.out and "is protected" in applied.out
    assert _ids(url, workspace) == before  # Kantata would have taken the subtask along


def test_protecting_an_existing_task_later_is_one_marker_rewrite(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    write_manifest(path, _doc(workspace, [{**CONTRACT, "protect": False}]))
    assert kxplan("apply", path, "--auto-approve", "--api-url", url).code == 0
    assert _protected(url, workspace) == {"contract": False}

    write_manifest(path, _doc(workspace, [{**CONTRACT, "title": "Contract (signed)"}]))
    puts = server.log.count(method="PUT")
    applied = kxplan("apply", path, "--auto-approve", "--api-url", url)
    assert applied.code == 0, applied.text
    assert server.log.count(method="PUT") == puts + 1  # title and flag in one PUT
    assert _protected(url, workspace) == {"contract": True}
    plan = kxplan("plan", path, "--detailed-exitcode", "--api-url", url)
    assert plan.code == 0, plan.out


def test_export_keeps_the_flag(env: tuple[SandboxServer, str, Path]) -> None:
    server, workspace, path = env
    url = str(server.url)
    write_manifest(path, _doc(workspace, [CONTRACT, PHASE]))
    assert kxplan("apply", path, "--auto-approve", "--api-url", url).code == 0
    exported = kxplan("export", "-w", workspace, "--name", STACK, "--api-url", url)
    assert exported.code == 0, exported.text
    assert exported.out.count("protect: true") == 1
    out = path.with_name("exported.yaml")
    out.write_text(exported.out, encoding="utf-8")
    plan = kxplan("plan", out, "--detailed-exitcode", "--api-url", url)
    assert plan.code == 0, plan.out
