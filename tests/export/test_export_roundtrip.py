"""Export then adopt, with no network: the exported manifest takes over its own workspace.

The live side is a deliberately messy hand-built workspace (repeated titles under different
parents, five levels, unicode and emoji, empty and completed checklists, archived tasks,
tasks with no dates, a custom status set). The sandbox version of this is in tests/export/.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kxplan.export import export_manifest
from kxplan.manifest import load_manifest
from kxplan.model import (
    LiveChecklistItem,
    LiveMarker,
    LiveState,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
    LiveWorkspace,
    PlanOptions,
)
from kxplan.plan import Action
from kxplan.planner import build_plan

SET = LiveStatusSet(
    "70",
    "Delivery ✓",
    (
        LiveStatus("1", "Backlog", "not started", 1),
        LiveStatus("2", "Doing", "started", 2),
        LiveStatus("3", "Waiting on client", "needs info", 3),
        LiveStatus("4", "Done", "completed", 4),
    ),
)


def item(id: str, name: str, completed: bool = False) -> LiveChecklistItem:
    return LiveChecklistItem(id, name, completed, int(id))


def messy() -> LiveState:
    t = LiveTask
    tasks = (
        t(
            "1",
            "Phase 1",
            None,
            type="milestone",
            start_date="2027-01-04",
            due_date="2027-02-01",
            status="Doing",
            tags=("client", "phase-1"),
        ),
        t(
            "2",
            "Kickoff",
            "1",
            description="Agenda\nand scope\n",
            priority="high",
            status="Done",
            checklist=(item("11", "Agenda sent", True), item("12", "Call held", True)),
        ),
        t("3", "Phase 2", None, status="Backlog"),
        t("4", "Kickoff", "3", status="Backlog", checklist=()),
        t("5", "L0", None, status="Backlog"),
        t("6", "L1", "5", status="Backlog"),
        t("7", "L2", "6", status="Backlog"),
        t("8", "L3", "7", status="Backlog"),
        t("9", "L4 — deepest 🧨", "8", status="Waiting on client", type="issue"),
        t("10", "🚀 Launch", None, status="Backlog", priority="critical"),
        t(
            "13",
            "Überprüfung: café ${x} 日本語",
            None,
            status="Backlog",
            checklist=(item("14", "yes"), item("15", "2027-01-01", True), item("16", "*bold*")),
        ),
        t("17", "Old stuff", None, archived=True, status="Done"),
        t("18", "yes", "17", archived=True, status="Backlog", tags=("Legacy",)),
        t("19", "   padded title  ", None, status="Backlog"),
    )
    ws = LiveWorkspace("42", "Messy — workspace", task_status_set_id="70")
    return LiveState(workspace=ws, tasks=tasks, status_sets=(SET,))


def with_markers(live: LiveState, stack: str, keys: dict[str, str]) -> LiveState:
    """What `apply` does for adopt changes: write this stack's marker on each story."""
    tasks = tuple(
        replace(t, markers=(LiveMarker("m" + t.id, "kxplan", stack, keys[t.id]),))
        if t.id in keys
        else t
        for t in live.tasks
    )
    return replace(live, tasks=tasks)


def test_export_adopts_its_own_workspace_and_then_plans_no_changes(tmp_path: Path) -> None:
    live = messy()
    path = tmp_path / "messy.yaml"
    path.write_text(export_manifest(live, "messy"), encoding="utf-8")
    manifest = load_manifest(path)
    assert len(manifest.tasks) == len(live.tasks)

    plan = build_plan(manifest, live, PlanOptions(adopt=True))
    adopts = [c for c in plan.actionable]
    assert {c.action for c in adopts} == {Action.ADOPT}
    assert all(c.fields == ("key",) for c in adopts), [c.to_json() for c in adopts]
    keys = {c.id: c.key for c in adopts if c.id is not None}
    assert sorted(keys, key=int) == [t.id for t in live.tasks]

    after = with_markers(live, "messy", keys)
    assert not build_plan(manifest, after, PlanOptions()).has_changes
    assert not build_plan(manifest, after, PlanOptions(adopt=True)).has_changes


def test_export_of_an_adopted_workspace_is_unchanged(tmp_path: Path) -> None:
    live = messy()
    text = export_manifest(live, "messy")
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    plan = build_plan(load_manifest(path), live, PlanOptions(adopt=True))
    keys = {c.id: c.key for c in plan.actionable if c.id is not None}
    assert export_manifest(with_markers(live, "messy", keys), "messy") == text
