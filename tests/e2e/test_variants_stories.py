"""kxplan against each answer the sandbox can play about story creates, deletes, placement and
To Dos (docs/sandbox.md, "Variants: stories"): the first apply works, the re-plan is empty,
nothing is duplicated, people's tasks survive, and sibling order follows the manifest
wherever the API allows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from kxplan.apply import apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from kxplan.sandbox.variants import Variants
from tests.support import TOKEN, duplicates, kxplan, read, write_manifest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "software-implementation.yaml"
MakeSandbox = Callable[..., SandboxServer]

#: One row per answer of the four story questions (the defaults first), plus all unusual.
ROWS = [
    Variants(),
    Variants(results_order="reversed"),
    Variants(results_order="sorted"),
    Variants(results_order="shuffled"),
    Variants(project_plan_default="todo"),
    Variants(new_siblings="last"),
    Variants(delete_cascade="none"),
    Variants(
        results_order="shuffled",
        project_plan_default="todo",
        new_siblings="last",
        delete_cascade="none",
    ),
]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)


def _apply(url: str, manifest: Path, *flags: str) -> str:
    result = kxplan("apply", manifest, "--auto-approve", "--api-url", url, *flags)
    assert result.code == 0, result.text
    assert "Verified: the workspace matches the manifest." in result.out
    return result.out


def _replan(url: str, manifest: Path, *flags: str) -> str:
    result = kxplan("plan", manifest, "--detailed-exitcode", "--api-url", url, *flags)
    assert result.code == 0, result.text  # 0: nothing to change
    return result.out


def _default_list(url: str, workspace_id: str) -> list[str]:
    """Story ids a plain `GET /stories` shows (default filters: no To Dos)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
        body = c.get("/stories", params={"workspace_id": workspace_id, "per_page": 200}).json()
    return [r["id"] for r in body["results"]]


@pytest.mark.parametrize("variants", ROWS, ids=str)
def test_the_five_level_example_bootstraps_once_and_replans_empty(
    make_sandbox: MakeSandbox, variants: Variants
) -> None:
    server = make_sandbox(variants=variants)
    manifest = load_manifest(EXAMPLE)
    assert isinstance(manifest.workspace, str)
    workspace = server.model.create_workspace(manifest.workspace)
    _apply(server.url, EXAMPLE)
    replan = _replan(server.url, EXAMPLE)
    live = read(server.url, manifest.workspace)
    keys = [t.key_for(manifest.name) for t in live.tasks]
    assert sorted(k for k in keys if k) == sorted(t.key for t in manifest.tasks)
    assert duplicates(live, manifest.name) == []
    # Project tasks whatever the default: all of them are in Kantata's plain list.
    assert len(_default_list(server.url, str(workspace["id"]))) == len(manifest.tasks)
    # A fresh workspace shows no placement before the first create, so the top level goes
    # by the guess (new siblings first); everything below follows what the server showed.
    if variants.new_siblings == "first":
        assert "task order" not in replan
    else:
        [line] = [x for x in replan.splitlines() if "task order" in x]
        assert "task order at the top level differs" in line


def test_new_siblings_placed_last_are_learnt_from_the_live_tasks(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    server = make_sandbox(variants=Variants(new_siblings="last"))
    manifest = load_manifest(EXAMPLE)
    assert isinstance(manifest.workspace, str)
    ws = server.model.create_workspace(manifest.workspace)
    server.model.create_stories(ws["id"], [{"title": "Notes"}, {"title": "Links"}])  # people's
    _apply(server.url, EXAMPLE)
    assert "task order" not in _replan(server.url, EXAMPLE)  # the API allowed it: no drift


def _doc(workspace: int) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "prune",
        "workspace": workspace,
        "tasks": [
            {"key": "keep", "title": "Keep"},
            {
                "key": "old",
                "title": "Old phase",
                "children": [
                    {"key": "old/a", "title": "A", "children": [{"key": "old/a1", "title": "A1"}]},
                    {"key": "old/b", "title": "B"},
                ],
            },
            {"key": "shared", "title": "Shared", "children": [{"key": "shared/x", "title": "X"}]},
        ],
    }


@pytest.mark.parametrize("cascade", ["cascade", "none"])
def test_prune_of_parents_converges_and_keeps_peoples_subtasks(
    make_sandbox: MakeSandbox, tmp_path: Path, cascade: str
) -> None:
    server = make_sandbox(variants=Variants(delete_cascade=cascade))
    ws = int(server.model.create_workspace("Prune")["id"])
    path = write_manifest(tmp_path / "prune.yaml", _doc(ws))
    _apply(server.url, path)
    shared = next(t for t in read(server.url, ws).tasks if t.key_for("prune") == "shared")
    [note] = server.model.create_stories(ws, [{"title": "My note", "parent_id": int(shared.id)}])
    doc = _doc(ws)
    doc["tasks"] = [doc["tasks"][0]]  # `old` (3 levels) and `shared` leave the manifest
    write_manifest(path, doc)
    out = _apply(server.url, path, "--prune", "--allow-mass-delete")
    # `shared` holds a person's subtask: not deleted, whatever Kantata would do with it.
    assert "not deleted: subtask 'My note'" in out
    # old, old/a, old/a1, old/b, shared/x; under a cascade old/a, old/a1 and old/b go with
    # old, which a read shows, and get no DELETE of their own (docs/apply.md, "Deletes").
    deletes = 2 if cascade == "cascade" else 5
    assert server.log.count("DELETE", "/stories/{id}") == deletes
    live = read(server.url, ws)
    assert {t.key_for("prune") or t.title for t in live.tasks} == {"keep", "shared", "My note"}
    assert note in {t.id for t in live.tasks}
    assert duplicates(live, "prune") == []
    replan = kxplan("plan", path, "--prune", "--detailed-exitcode", "--api-url", server.url)
    assert replan.code == 0, replan.text


@pytest.mark.parametrize("cascade", ["cascade", "none"])
def test_a_delete_that_finds_the_story_already_gone_is_verified_not_failed(
    make_sandbox: MakeSandbox, tmp_path: Path, cascade: str
) -> None:
    server = make_sandbox(variants=Variants(delete_cascade=cascade))
    ws = int(server.model.create_workspace("Gone")["id"])
    path = write_manifest(tmp_path / "gone.yaml", _doc(ws))
    _apply(server.url, path)
    doc = _doc(ws)
    doc["tasks"] = [doc["tasks"][0], doc["tasks"][2]]
    write_manifest(path, doc)
    with KantataClient(server.url, TOKEN) as client:
        plan = build_plan(load_manifest(path), read_live(client, ws), PlanOptions(prune=True))
        old = next(t for t in read_live(client, ws).tasks if t.key_for("prune") == "old")
        client.delete(f"/stories/{old.id}")  # someone deletes the parent meanwhile
        result = apply_plan(plan, client)
    assert len(result.applied) == 4  # every planned delete is done: gone is gone
    assert {t.key_for("prune") for t in read(server.url, ws).tasks} == {
        "keep",
        "shared",
        "shared/x",
    }
