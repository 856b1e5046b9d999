"""Edge cases a user meets: a hard failure part-way, swapped parents, a status whose category
changes, adoption of hand-made tasks."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import ApplyFailed, apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from tests.support import TOKEN, duplicates, kxplan, read, snapshot, write_manifest

from .scenario import STACK, WORKSPACE, base, edited


@pytest.fixture
def url(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    sandbox.model.create_workspace(WORKSPACE)
    return str(sandbox.url)


def _apply(url: str, manifest: Path, *flags: str) -> None:
    result = kxplan("apply", manifest, "--auto-approve", "--api-url", url, *flags)
    assert result.code == 0, result.text
    assert "Verified: the workspace matches the manifest." in result.out


def test_a_hard_failure_stops_says_what_was_not_applied_and_the_next_plan_finishes(
    url: str, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "m.yaml", base())
    _apply(url, manifest)
    write_manifest(manifest, edited())
    with KantataClient(url, TOKEN) as client:
        plan = build_plan(load_manifest(manifest), read_live(client, WORKSPACE), PlanOptions(True))
        build = next(t for t in read_live(client, WORKSPACE).tasks if t.key_for(STACK) == "build")
        client.delete(f"/stories/{build.id}")  # someone deletes the move's target meanwhile
        with pytest.raises(ApplyFailed) as failed:
            apply_plan(plan, client)
    err = failed.value
    text = err.format()
    assert "PUT /stories/" in text and "Not applied:" in text
    assert "→ task interview-ceo" in text
    assert err.applied and err.pending
    assert len(err.applied) + len(err.pending) == len(plan.actionable)
    # Nothing to repair: the manifest's next apply finishes the job (recreating `build`).
    _apply(url, manifest, "--prune")
    assert duplicates(read(url, WORKSPACE), STACK) == []


def test_swapping_a_parent_and_its_child_converges(url: str, tmp_path: Path) -> None:
    doc = base()
    manifest = write_manifest(tmp_path / "m.yaml", doc)
    _apply(url, manifest)
    swapped = copy.deepcopy(doc)
    interviews = swapped["tasks"][0]["children"][1]
    ceo = interviews.pop("children")[0]
    ceo["children"] = [interviews]
    swapped["tasks"][0]["children"][1] = ceo  # interview-ceo now holds interviews
    write_manifest(manifest, swapped)
    _apply(url, manifest)
    tasks = snapshot(read(url, WORKSPACE), STACK)["tasks"]
    assert tasks["interview-ceo"][1] == "discovery"
    assert tasks["interviews"][1] == "interview-ceo"


def test_a_status_whose_category_changes_is_replaced_and_its_tasks_keep_it(
    url: str, tmp_path: Path
) -> None:
    doc = base()
    doc["tasks"][0]["children"][0]["status"] = "Waiting on client"
    manifest = write_manifest(tmp_path / "m.yaml", doc)
    _apply(url, manifest)
    doc["status_set"]["statuses"][2]["category"] = "started"
    write_manifest(manifest, doc)
    _apply(url, manifest)
    live = read(url, WORKSPACE)
    assert ("Waiting on client", "started") in snapshot(live, STACK)["statuses"]
    kickoff = next(t for t in live.tasks if t.key_for(STACK) == "kickoff")
    assert kickoff.status == "Waiting on client" and kickoff.state == "started"
    assert duplicates(live, STACK) == []


def test_adopt_takes_over_hand_made_tasks_instead_of_duplicating_them(
    url: str, tmp_path: Path
) -> None:
    workspace_id = int(read(url, WORKSPACE).workspace.id)
    with KantataClient(url, TOKEN) as client:
        made = client.post(
            "/stories", json={"story": {"title": "Build", "workspace_id": workspace_id}}
        )
    build_id = made["results"][0]["id"]
    manifest = write_manifest(tmp_path / "m.yaml", base())
    _apply(url, manifest, "--adopt")
    live = read(url, WORKSPACE)
    adopted = next(t for t in live.tasks if t.key_for(STACK) == "build")
    assert adopted.id == build_id  # the same story, now carrying the marker
    assert [t.title for t in live.tasks].count("Build") == 1


def _chain_doc(depth: int, *, leaf_children: int = 0) -> list[dict[str, Any]]:
    """t0 > t1 > ... > t<depth-1>, the last with `leaf_children` children."""
    node: dict[str, Any] = {"key": f"t{depth - 1}", "title": f"Level {depth - 1}"}
    if leaf_children:
        node["children"] = [{"key": f"c{i}", "title": f"Child {i}"} for i in range(leaf_children)]
    for level in range(depth - 2, -1, -1):
        node = {"key": f"t{level}", "title": f"Level {level}", "children": [node]}
    return [node]


def _tree_doc(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": 1, "name": STACK, "workspace": WORKSPACE, "tasks": tasks}


def test_a_task_moved_deeper_sheds_the_children_the_plan_deletes_first(
    url: str, tmp_path: Path
) -> None:
    # `mover` has two levels below it; moved under t3 (depth 4) it fits only without them.
    before = _chain_doc(4)
    before.append(
        {
            "key": "mover",
            "title": "Mover",
            "children": [{"key": "m1", "title": "M1", "children": [{"key": "m2", "title": "M2"}]}],
        }
    )
    manifest = write_manifest(tmp_path / "m.yaml", _tree_doc(before))
    _apply(url, manifest)
    after = _chain_doc(4)
    after[0]["children"][0]["children"][0]["children"][0]["children"] = [
        {"key": "mover", "title": "Mover"}
    ]
    write_manifest(manifest, _tree_doc(after))
    _apply(url, manifest, "--prune", "--allow-mass-delete")
    tasks = snapshot(read(url, WORKSPACE), STACK)["tasks"]
    assert tasks["mover"][1] == "t3" and "m1" not in tasks and "m2" not in tasks


def test_a_new_child_of_a_task_that_moves_up_is_created_after_the_move(
    url: str, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "m.yaml", _tree_doc(_chain_doc(5)))
    _apply(url, manifest)
    # t4 (depth 4) moves to the top and gets a new child: too deep under its old place.
    after = _chain_doc(4)
    after.append({"key": "t4", "title": "Level 4", "children": [{"key": "new", "title": "New"}]})
    write_manifest(manifest, _tree_doc(after))
    _apply(url, manifest)
    tasks = snapshot(read(url, WORKSPACE), STACK)["tasks"]
    assert tasks["t4"][1] is None and tasks["new"][1] == "t4"
