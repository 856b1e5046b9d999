"""Moves in the fewest requests: one PUT each unless Kantata's depth rules need a lift, and a
plan whose "Estimated requests" is what apply sends (counted by the sandbox's request log)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import LiveState, PlanOptions
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, write_manifest

from .scenario import STACK, WORKSPACE, base

WRITES = ("POST", "PUT", "DELETE")


@dataclass(frozen=True)
class Applied:
    estimate: int  # the plan's requests.write
    writes: int  # POST + PUT + DELETE the sandbox saw
    story_puts: int
    lifts: int
    live: LiveState
    cascaded: int = 0  # planned deletes not sent: Kantata deleted them with their parent

    def key_ids(self) -> dict[str, str]:
        return {t.key_for(STACK) or t.title: t.id for t in self.live.tasks}

    def parent_of(self, key: str) -> str | None:
        by_id = {t.id: t.key_for(STACK) for t in self.live.tasks}
        task = next(t for t in self.live.tasks if t.key_for(STACK) == key)
        return by_id.get(task.parent_id or "")


@pytest.fixture
def apply_doc(sandbox: SandboxServer, tmp_path: Path) -> Any:
    """Apply a manifest document in-process; check that planning again finds nothing."""
    sandbox.model.create_workspace(WORKSPACE)

    def apply_doc(doc: dict[str, Any]) -> Applied:
        manifest = load_manifest(write_manifest(tmp_path / "m.yaml", doc))
        options = PlanOptions(prune=True, allow_mass_delete=True)
        with KantataClient(sandbox.url, TOKEN) as client:
            plan = build_plan(manifest, read_live(client, WORKSPACE), options)
            sandbox.log.reset()
            result = apply_plan(plan, client)
            writes = sum(sandbox.log.count(m) for m in WRITES)
            puts = sandbox.log.count(method="PUT", route="/stories/{id}")
            live = read_live(client, WORKSPACE)
        again = build_plan(manifest, live, options)
        assert [(c.action.value, c.key) for c in again.actionable] == []
        return Applied(plan.requests["write"], writes, puts, result.lifts, live, result.cascaded)

    return apply_doc


def _doc(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": 1, "name": STACK, "workspace": WORKSPACE, "tasks": tasks}


def _chain(depth: int) -> dict[str, Any]:
    """t0 > t1 > ... > t<depth-1>."""
    node: dict[str, Any] = {"key": f"t{depth - 1}", "title": f"Level {depth - 1}"}
    for level in range(depth - 2, -1, -1):
        node = {"key": f"t{level}", "title": f"Level {level}", "children": [node]}
    return node


def _deepest(chain: dict[str, Any]) -> dict[str, Any]:
    while chain.get("children"):
        chain = chain["children"][0]
    return chain


def test_a_leaf_moved_to_another_phase_at_the_same_depth_takes_one_put(apply_doc: Any) -> None:
    doc = base()
    apply_doc(doc)
    moved = copy.deepcopy(doc)
    setup = moved["tasks"][1]["children"].pop()
    moved["tasks"][0]["children"].append(setup)  # setup: build -> discovery
    done = apply_doc(moved)
    assert done.story_puts == 1 and done.lifts == 0
    assert done.writes == done.estimate == 1
    assert done.parent_of("setup") == "discovery"


def test_a_move_and_a_field_update_of_one_task_share_one_put(apply_doc: Any) -> None:
    doc = base()
    apply_doc(doc)
    moved = copy.deepcopy(doc)
    setup = moved["tasks"][1]["children"].pop()
    setup.update(title="Set up the environment", tags=["infra", "week-1"])
    moved["tasks"][0]["children"].append(setup)
    done = apply_doc(moved)
    assert done.story_puts == 1
    assert done.writes == done.estimate == 1
    task = next(t for t in done.live.tasks if t.key_for(STACK) == "setup")
    assert task.title == "Set up the environment" and sorted(task.tags) == ["infra", "week-1"]


def test_a_rename_a_move_and_three_checklist_edits_take_five_requests(apply_doc: Any) -> None:
    doc = base()
    apply_doc(doc)
    edited = copy.deepcopy(doc)
    discovery, build, _ = edited["tasks"]
    kickoff, interviews = discovery["children"]
    kickoff.update(key="kick-off", title="Kick-off meeting", renamed_from=["kickoff"])
    kickoff["checklist"] = [
        {"name": "Agenda emailed", "renamed_from": ["Agenda sent"]},
        "Room booked",
    ]  # "Notes shared" removed
    build["children"].append(interviews.pop("children")[0])  # interview-ceo -> build
    done = apply_doc(edited)
    # rename: 1 PUT, move: 1 PUT, items renamed, deleted, created: 3 (lifting took 6)
    assert done.writes == done.estimate == 5
    assert done.story_puts == 2 and done.lifts == 0


def test_swapping_a_parent_and_its_child_takes_one_put_each(apply_doc: Any) -> None:
    doc = base()
    first = apply_doc(doc).key_ids()
    swapped = copy.deepcopy(doc)
    interviews = swapped["tasks"][0]["children"][1]
    ceo = interviews.pop("children")[0]
    ceo["children"] = [interviews]
    swapped["tasks"][0]["children"][1] = ceo  # interview-ceo now holds interviews
    done = apply_doc(swapped)
    assert done.parent_of("interview-ceo") == "discovery"
    assert done.parent_of("interviews") == "interview-ceo"
    assert done.writes == done.estimate == done.story_puts == 2
    assert done.key_ids()["interviews"] == first["interviews"]


def test_a_subtree_moved_deep_sheds_its_deleted_children_with_a_lift(apply_doc: Any) -> None:
    # x is under d (deleted) and holds x1 > x2 (deleted); under t3 (depth 3) only a leaf
    # fits, and x must leave d before d's delete takes it along: lifted, then placed.
    x = {"key": "x", "title": "X", "children": [{"key": "x1", "title": "X1"}]}
    x["children"][0]["children"] = [{"key": "x2", "title": "X2"}]
    first = apply_doc(_doc([_chain(4), {"key": "d", "title": "D", "children": [x]}])).key_ids()
    chain = _chain(4)
    _deepest(chain)["children"] = [{"key": "x", "title": "X"}]
    done = apply_doc(_doc([chain]))
    assert done.parent_of("x") == "t3" and done.key_ids()["x"] == first["x"]
    assert not {"d", "x1", "x2"} & set(done.key_ids())
    assert done.lifts == 1 and done.story_puts == 2
    # x2 went with x1 (the sandbox cascades): its DELETE is not sent (docs/apply.md, "Deletes").
    assert done.cascaded == 1
    assert done.writes == done.estimate - done.cascaded == 2 + 3 - 1  # the plan counts the lift


def test_a_subtree_moved_deep_after_its_deleted_children_go_takes_one_put(apply_doc: Any) -> None:
    # Nothing that moves is under a deleted task: the deletes run first, then x fits.
    x = {"key": "x", "title": "X", "children": [{"key": "x1", "title": "X1"}]}
    x["children"][0]["children"] = [{"key": "x2", "title": "X2"}]
    apply_doc(_doc([_chain(4), x]))
    chain = _chain(4)
    _deepest(chain)["children"] = [{"key": "x", "title": "X"}]
    done = apply_doc(_doc([chain]))
    assert done.parent_of("x") == "t3"
    assert done.story_puts == 1 and done.lifts == 0
    # x2 went with x1 (the sandbox cascades): its DELETE is not sent (docs/apply.md, "Deletes").
    assert done.cascaded == 1
    assert done.writes == done.estimate - done.cascaded == 1 + 2 - 1


def test_a_task_moved_out_of_a_deleted_subtree_keeps_its_id(apply_doc: Any) -> None:
    old = {
        "key": "old",
        "title": "Old phase",
        "children": [
            {"key": "keep", "title": "Keep me", "children": [{"key": "kid", "title": "Kid"}]},
            {"key": "gone", "title": "Gone"},
        ],
    }
    first = apply_doc(_doc([old, {"key": "new", "title": "New phase"}])).key_ids()
    keep = old["children"][0]
    done = apply_doc(_doc([{"key": "new", "title": "New phase", "children": [keep]}]))
    ids = done.key_ids()
    assert ids["keep"] == first["keep"] and ids["kid"] == first["kid"]
    assert done.parent_of("keep") == "new" and done.parent_of("kid") == "keep"
    assert "old" not in ids and "gone" not in ids
    assert done.story_puts == 1 and done.lifts == 0
    # "gone" went with "old" (the sandbox cascades): its DELETE is not sent.
    assert done.cascaded == 1
    assert done.writes == done.estimate - done.cascaded == 1 + 2 - 1


def test_a_deep_chain_turned_upside_down_takes_one_put_per_task(apply_doc: Any) -> None:
    # Every task moves while holding the next; placed top first, each goes in one PUT.
    apply_doc(_doc([_chain(5)]))
    upside_down: dict[str, Any] = {"key": "t0", "title": "Level 0"}
    for level in range(1, 5):
        upside_down = {"key": f"t{level}", "title": f"Level {level}", "children": [upside_down]}
    done = apply_doc(_doc([upside_down]))
    assert done.parent_of("t4") is None and done.parent_of("t0") == "t1"
    assert done.writes == done.estimate == done.story_puts == 5 and done.lifts == 0
