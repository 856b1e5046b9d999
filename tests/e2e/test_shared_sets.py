"""Guarded shared status sets end to end (issue 11, item 3): a plan that changes a set other
workspaces use says how many of their tasks would change status, apply needs
--allow-shared-set-change, and a second stack that disagrees with how the set was last
written is refused instead of flipping it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, read, write_manifest

STATUSES = [
    {"name": "Backlog", "category": "not started"},
    {"name": "Doing", "category": "started"},
    {"name": "Waiting on client", "category": "needs info"},
    {"name": "Done", "category": "completed"},
]
#: Beta's new statuses: "Waiting on client" dropped (its tasks go elsewhere in Kantata).
WITHOUT_WAITING = [s for s in STATUSES if s["name"] != "Waiting on client"]


def _doc(name: str, workspace: str, statuses: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("kickoff", "review", "handover", "launch")
    return {
        "version": 1,
        "name": name,
        "workspace": int(workspace),
        # Statuses that leave the manifest are deleted only with prune (kxplan cannot tell
        # its own statuses from people's), and these manifests mean to delete them.
        "prune": True,
        "status_set": {"name": "Delivery", "statuses": statuses},
        "tasks": [{"key": k, "title": k.capitalize(), "status": "Backlog"} for k in keys],
    }


@pytest.fixture
def two(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[SandboxServer, dict[str, str], dict[str, Path]]:
    """Beta made the set "Delivery", Acme uses it too; three Acme tasks and one Beta task
    are `Waiting on client` (set by people)."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    ids = {t: str(sandbox.model.create_workspace(t)["id"]) for t in ("Beta", "Acme")}
    paths = {}
    for stack, title in (("beta", "Beta"), ("acme", "Acme")):
        path = write_manifest(tmp_path / f"{stack}.yaml", _doc(stack, ids[title], STATUSES))
        applied = kxplan("apply", path, "--auto-approve", "--api-url", sandbox.url)
        assert applied.code == 0, applied.text
        paths[stack] = path
    _wait_on_client(sandbox.url, ids["Acme"], 3)
    _wait_on_client(sandbox.url, ids["Beta"], 1)
    return sandbox, ids, paths


def _wait_on_client(url: str, workspace: str, n: int) -> None:
    tasks = read(url, workspace).tasks
    with KantataClient(url, TOKEN) as client:
        for task in tasks[:n]:
            client.put(f"/stories/{task.id}", json={"story": {"status": "Waiting on client"}})


def _statuses(url: str, workspace: str) -> list[str]:
    live = read(url, workspace)
    found = live.assigned_status_set()
    assert found is not None
    return [s.name for s in found.statuses]


def _writes(server: SandboxServer) -> int:
    return sum(server.log.count(method=m) for m in ("POST", "PUT", "DELETE"))


def test_a_shared_set_change_is_counted_guarded_and_not_flipped_back(
    two: tuple[SandboxServer, dict[str, str], dict[str, Path]], tmp_path: Path
) -> None:
    server, ids, paths = two
    url = server.url
    write_manifest(paths["beta"], _doc("beta", ids["Beta"], WITHOUT_WAITING))

    server.log.reset()
    plan = kxplan("plan", paths["beta"], "--api-url", url)
    assert plan.code == 0, plan.text
    # Acme's three tasks count; Beta's own task on the status is this workspace's, not counted.
    assert (
        'status set "Delivery" is shared: 1 other workspace uses it, 3 of its tasks would '
        "change status (on 'Waiting on client')" in plan.out
    )
    assert "(3 of its tasks would change status)" in plan.out
    assert server.log.count(method="GET", route="/workspaces") == 1
    assert server.log.count(method="GET", route="/external_references") == 1
    assert server.log.count(method="GET", route="/stories") == 2  # one page, one count

    server.log.reset()
    refused = kxplan("apply", paths["beta"], "--auto-approve", "--api-url", url)
    assert refused.code == 1
    assert 'status set "Delivery" is shared: 1 other workspace uses it, 3 of' in refused.err
    assert "--allow-shared-set-change" in refused.err
    assert _writes(server) == 0
    assert "Waiting on client" in _statuses(url, ids["Acme"])

    # The flag does not shape the plan: a saved plan takes it.
    saved = tmp_path / "beta.plan.json"
    assert kxplan("plan", paths["beta"], "--out", str(saved), "--api-url", url).code == 0
    assert json.loads(saved.read_text())["shared_sets"][0]["tasks"] == 3
    assert kxplan("apply", str(saved), "--auto-approve", "--api-url", url).code == 1
    applied = kxplan(
        "apply", str(saved), "--auto-approve", "--allow-shared-set-change", "--api-url", url
    )
    assert applied.code == 0, applied.text
    assert _statuses(url, ids["Acme"]) == ["Backlog", "Doing", "Done"]

    # Acme's manifest still has the old statuses: refused, naming Beta's stack, not flipped.
    server.log.reset()
    back = kxplan("plan", paths["acme"], "--api-url", url)
    assert back.code == 1
    assert "last written by stack 'beta' in workspace 'Beta'" in back.err
    assert "this manifest has 'Waiting on client'" in back.err
    assert "another status_set name" in back.err
    flipped = kxplan(
        "apply", paths["acme"], "--auto-approve", "--allow-shared-set-change", "--api-url", url
    )
    assert flipped.code == 1 and "last written by stack 'beta'" in flipped.err
    assert _writes(server) == 0
    assert _statuses(url, ids["Acme"]) == ["Backlog", "Doing", "Done"]

    # Once the manifests agree there is nothing to change and nothing to refuse.
    write_manifest(paths["acme"], _doc("acme", ids["Acme"], WITHOUT_WAITING))
    agreed = kxplan("plan", paths["acme"], "--detailed-exitcode", "--api-url", url)
    assert agreed.code in (0, 2), agreed.text
    assert "last written" not in agreed.text and "is shared" not in agreed.out


def test_the_last_writer_may_change_the_set_again(
    two: tuple[SandboxServer, dict[str, str], dict[str, Path]],
) -> None:
    server, ids, paths = two
    url = server.url
    write_manifest(paths["beta"], _doc("beta", ids["Beta"], WITHOUT_WAITING))
    args = ("--auto-approve", "--allow-shared-set-change", "--api-url", url)
    assert kxplan("apply", paths["beta"], *args).code == 0
    renamed = [{**WITHOUT_WAITING[1], "name": "In progress", "renamed_from": ["Doing"]}]
    statuses = [WITHOUT_WAITING[0], *renamed, WITHOUT_WAITING[2]]
    write_manifest(paths["beta"], _doc("beta", ids["Beta"], statuses))
    again = kxplan("apply", paths["beta"], *args)
    assert again.code == 0, again.text
    assert _statuses(url, ids["Acme"]) == ["Backlog", "In progress", "Done"]


def test_a_no_change_plan_sends_no_counting_request(
    two: tuple[SandboxServer, dict[str, str], dict[str, Path]],
) -> None:
    server, _, paths = two
    server.log.reset()
    for stack in ("beta", "acme"):
        plan = kxplan("plan", paths[stack], "--detailed-exitcode", "--api-url", server.url)
        assert plan.code == 0, plan.text
    assert server.log.count(method="GET", route="/workspaces") == 0
    assert server.log.count(method="GET", route="/external_references") == 0
    assert server.log.count() == 6  # per plan: the workspace, the sets, one page of stories


def test_two_manifests_of_one_run_that_disagree_about_a_set_are_refused_before_any_request(
    two: tuple[SandboxServer, dict[str, str], dict[str, Path]],
) -> None:
    server, ids, paths = two
    write_manifest(paths["beta"], _doc("beta", ids["Beta"], WITHOUT_WAITING))
    server.log.reset()
    both = kxplan("plan", paths["acme"], paths["beta"], "--api-url", server.url)
    assert both.code == 1
    assert "status set 'Delivery' is defined differently" in both.err
    assert server.log.count() == 0


def test_when_the_last_writer_leaves_the_set_another_stack_may_change_it(
    two: tuple[SandboxServer, dict[str, str], dict[str, Path]],
) -> None:
    server, ids, paths = two
    url = server.url
    write_manifest(paths["beta"], _doc("beta", ids["Beta"], WITHOUT_WAITING))
    args = ("--auto-approve", "--api-url", url)
    assert kxplan("apply", paths["beta"], *args, "--allow-shared-set-change").code == 0
    own = _doc("beta", ids["Beta"], WITHOUT_WAITING)
    own["status_set"]["name"] = "Beta flow"
    write_manifest(paths["beta"], own)
    assert kxplan("apply", paths["beta"], *args).code == 0  # Beta switches to its own set

    # Acme alone uses "Delivery" now: its old statuses come back, no flag needed.
    plan = kxplan("plan", paths["acme"], "--format", "markdown", "--api-url", url)
    assert plan.code == 0, plan.text
    assert "is shared" not in plan.out and "no other workspace uses this set" in plan.out
    assert kxplan("apply", paths["acme"], *args).code == 0
    assert _statuses(url, ids["Acme"]) == [s["name"] for s in STATUSES]


def test_the_markdown_plan_carries_the_shared_set_warning(
    two: tuple[SandboxServer, dict[str, str], dict[str, Path]],
) -> None:
    server, ids, paths = two
    write_manifest(paths["beta"], _doc("beta", ids["Beta"], WITHOUT_WAITING))
    plan = kxplan("plan", paths["beta"], "--format", "markdown", "--api-url", server.url)
    assert plan.code == 0, plan.text
    assert '> **Warning:** status set "Delivery" is shared: 1 other workspace uses it' in plan.out


def test_a_stack_may_not_change_a_set_another_stack_created_and_still_uses(
    two: tuple[SandboxServer, dict[str, str], dict[str, Path]],
) -> None:
    server, ids, paths = two
    write_manifest(paths["acme"], _doc("acme", ids["Acme"], WITHOUT_WAITING))
    server.log.reset()
    plan = kxplan("plan", paths["acme"], "--api-url", server.url)
    assert plan.code == 1
    assert "last written by stack 'beta' in workspace 'Beta'" in plan.err
    assert "the set has 'Waiting on client'" in plan.err
    assert server.log.count(method="GET", route="/stories") == 1  # refused before counting
