"""Suspected renames end to end: a title edit on a task whose key is derived from its title
is shown as one suspected rename, and apply creates nothing until the user says which it is
(`renamed_from` keeps the task and its history; `--accept-new` creates a new task)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.model import LiveTask
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, read, run_on_terminal, write_manifest

STACK = "site"
OLD, NEW = "audit/content-inventory", "audit/content-audit"
LINE = f"renamed_from: [{OLD}]"


def _doc(workspace: str, title: str, **extra: Any) -> dict[str, Any]:
    inventory = {"title": title, "due_date": "2027-01-20", "checklist": ["List pages"], **extra}
    audit = {"title": "Audit", "children": [inventory, {"title": "Link check"}]}
    return {"version": 1, "name": STACK, "workspace": int(workspace), "tasks": [audit]}


@pytest.fixture
def env(
    sandbox_workspace: tuple[SandboxServer, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> tuple[SandboxServer, str, Path]:
    """A workspace where "Content inventory" was applied and a PM has worked on it, and a
    manifest that renames it to "Content audit"."""
    server, workspace = sandbox_workspace
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    path = write_manifest(tmp_path / "site.yaml", _doc(workspace, "Content inventory"))
    assert kxplan("apply", path, "--auto-approve", "--api-url", server.url).code == 0
    task = _tasks(str(server.url), workspace)[OLD]
    with KantataClient(str(server.url), TOKEN) as client:  # a PM records progress by hand
        client.put(f"/stories/{task.id}", json={"story": {"state": "started"}})
        item = task.checklist[0]
        client.put(f"/story_tasks/{item.id}", json={"story_task": {"completed": True}})
    write_manifest(path, _doc(workspace, "Content audit"))
    return server, workspace, path


def _tasks(url: str, workspace: str) -> dict[str, LiveTask]:
    return {t.key_for(STACK) or f"#{t.id}": t for t in read(url, workspace).tasks}


def _writes(server: SandboxServer) -> int:
    return sum(server.log.count(method=m) for m in ("POST", "PUT", "DELETE"))


def test_plan_shows_one_suspected_rename_with_the_line_to_add(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    old_id = _tasks(str(server.url), workspace)[OLD].id
    text = kxplan("plan", path, "--detailed-exitcode", "--api-url", server.url)
    assert text.code == 2, text.text
    assert "Suspected renames (apply creates none of these until you choose):" in text.out
    assert (
        f'! task {NEW} "Content audit" looks like task {OLD} (#{old_id}) "Content inventory", '
        "which the plan keeps" in text.out
    )
    assert f"add to the task at {path}:" in text.out and f"          {LINE}\n" in text.out
    assert f"apply with --accept-new {NEW}" in text.out

    pruned = kxplan("plan", path, "--prune", "--format", "json", "--api-url", server.url)
    (entry,) = json.loads(pruned.out)["suspected_renames"]
    assert entry["key"] == NEW and entry["renamed_from"] == OLD and entry["id"] == old_id
    assert entry["old_action"] == "delete" and entry["line"] == LINE
    assert entry["location"].startswith(f"{path}:")

    markdown = kxplan("plan", path, "--format", "markdown", "--api-url", server.url)
    assert f"add `{LINE}` to the task at" in markdown.out


@pytest.mark.parametrize("prune", [False, True], ids=["keep", "prune"])
def test_apply_refuses_before_any_write_and_names_both_ways_out(
    env: tuple[SandboxServer, str, Path], prune: bool
) -> None:
    server, workspace, path = env
    before, writes = _tasks(str(server.url), workspace), _writes(server)
    flags = ("--prune",) if prune else ()
    result = kxplan("apply", path, "--auto-approve", *flags, "--api-url", server.url)
    assert result.code == 1, result.text
    assert "refusing to apply: 1 planned task create looks like a task" in result.err
    assert f"add `{LINE}` to the task at {path}:" in result.err
    assert f"--accept-new {NEW}" in result.err
    assert _writes(server) == writes
    assert set(_tasks(str(server.url), workspace)) == set(before)


def test_on_a_terminal_apply_refuses_before_asking(env: tuple[SandboxServer, str, Path]) -> None:
    server, _, path = env
    writes = _writes(server)
    code, seen = run_on_terminal(["apply", str(path), "--api-url", str(server.url)], "y")
    assert code == 1, seen
    assert "refusing to apply" in seen and "Apply these changes?" not in seen
    assert _writes(server) == writes


def test_a_saved_plan_is_gated_too(env: tuple[SandboxServer, str, Path], tmp_path: Path) -> None:
    server, workspace, path = env
    planfile = tmp_path / "plan.json"
    assert kxplan("plan", path, "--out", planfile, "--api-url", server.url).code == 0
    writes = _writes(server)
    refused = kxplan("apply", planfile, "--auto-approve", "--api-url", server.url)
    assert refused.code == 1 and f"--accept-new {NEW}" in refused.err
    assert _writes(server) == writes
    accepted = kxplan(
        "apply", planfile, "--auto-approve", "--accept-new", NEW, "--api-url", server.url
    )
    assert accepted.code == 0, accepted.text
    assert {OLD, NEW} <= set(_tasks(str(server.url), workspace))


def test_the_suggested_renamed_from_line_keeps_the_task_and_its_history(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    old = _tasks(str(server.url), workspace)[OLD]
    write_manifest(path, _doc(workspace, "Content audit", renamed_from=[OLD]))
    plan = kxplan("plan", path, "--prune", "--api-url", server.url)
    assert "Suspected renames" not in plan.out and f"~ task {NEW}  (#{old.id})" in plan.out
    applied = kxplan("apply", path, "--prune", "--auto-approve", "--api-url", server.url)
    assert applied.code == 0, applied.text
    assert server.log.count(method="DELETE") == 0
    tasks = _tasks(str(server.url), workspace)
    assert OLD not in tasks
    kept = tasks[NEW]
    assert (kept.id, kept.title, kept.state) == (old.id, "Content audit", "started")
    assert [(i.id, i.completed) for i in kept.checklist] == [(old.checklist[0].id, True)]


def test_accept_new_creates_the_task_and_prune_deletes_the_old_one(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    old_id = _tasks(str(server.url), workspace)[OLD].id
    unrelated = kxplan(
        "apply", path, "--auto-approve", "--accept-new", "audit/other", "--api-url", server.url
    )
    assert unrelated.code == 1  # accepting some other key does not resolve this one
    assert "--accept-new audit/other names no suspected rename (a typo?)" in unrelated.err

    applied = kxplan(
        "apply", path, "--auto-approve", "--prune", "--accept-new", NEW, "--api-url", server.url
    )
    assert applied.code == 0, applied.text
    assert "1 added, 0 changed, 0 moved, 1 deleted" in applied.out
    stale = kxplan(
        "apply", path, "--auto-approve", "--accept-new", NEW, "--api-url", server.url
    )  # a CI script that keeps the flag after the rename is resolved still works
    assert stale.code == 0 and "No changes." in stale.out
    tasks = _tasks(str(server.url), workspace)
    assert OLD not in tasks and tasks[NEW].id != old_id
    assert kxplan("plan", path, "--detailed-exitcode", "--api-url", server.url).code == 0


def test_accept_all_new_keeps_the_old_task_without_prune(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    old_id = _tasks(str(server.url), workspace)[OLD].id
    applied = kxplan("apply", path, "--auto-approve", "--accept-all-new", "--api-url", server.url)
    assert applied.code == 0, applied.text
    tasks = _tasks(str(server.url), workspace)
    assert tasks[OLD].id == old_id and NEW in tasks
    again = kxplan("plan", path, "--detailed-exitcode", "--api-url", server.url)
    assert again.code == 0 and "Suspected renames" not in again.out
