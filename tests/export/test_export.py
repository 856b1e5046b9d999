"""`export_manifest`: live workspace -> manifest YAML a user can keep in git."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kxplan.export import build_export, export_manifest
from kxplan.manifest.vars import substitute
from kxplan.manifest.yaml_loader import parse_document
from kxplan.model import (
    LiveChecklistItem,
    LiveMarker,
    LiveState,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
    LiveWorkspace,
)

WS = LiveWorkspace(id="42", title="Acme — Onboarding")


def task(id: str, title: str, parent: str | None = None, **kw: Any) -> LiveTask:
    return LiveTask(id=id, title=title, parent_id=parent, **kw)


def state(*tasks: LiveTask, **kw: Any) -> LiveState:
    return LiveState(workspace=kw.pop("workspace", WS), tasks=tasks, **kw)


def load(text: str) -> Any:
    doc, problems = parse_document(text, "export.yaml")
    assert not problems and doc is not None
    return doc.data


def flat(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in tasks:
        out.append(t)
        out.extend(flat(t.get("children", [])))
    return out


def marker(stack: str, key: str) -> LiveMarker:
    return LiveMarker(
        id="m" + key, service_name="kxplan", service_model=stack, service_model_ref=key
    )


def test_header_top_level_and_nesting() -> None:
    text = export_manifest(state(task("1", "Design"), task("2", "Review", "1")), "acme")
    assert text.startswith("# yaml-language-server: $schema=")
    data = load(text)
    assert (data["version"], data["name"], data["workspace"]) == (1, "acme", "Acme — Onboarding")
    assert data["tasks"] == [
        {"key": "design", "title": "Design", "children": [{"key": "review", "title": "Review"}]}
    ]


def test_siblings_follow_live_position_then_id() -> None:
    live = state(
        task("9", "C", position=2), task("10", "B", position=1), task("3", "A", position=1)
    )
    assert [t["title"] for t in load(export_manifest(live, "s"))["tasks"]] == ["A", "B", "C"]


def test_same_bytes_whatever_order_the_live_read_returned() -> None:
    tasks = [task(str(i), f"T{i % 7}", str(i // 3) if i >= 3 else None) for i in range(60)]
    first = export_manifest(state(*tasks), "s")
    random.Random(1).shuffle(tasks)
    assert export_manifest(state(*tasks), "s") == first


def test_every_managed_field_that_is_not_a_default_is_written() -> None:
    t = task(
        "1",
        "Kickoff",
        type="milestone",
        description="Scope\nand plan",
        start_date="2027-01-04",
        due_date="2027-01-18",
        priority="high",
        status="started",
        tags=("client", "Phase-1"),
        checklist=(
            LiveChecklistItem("a", "Agenda sent", True, 1),
            LiveChecklistItem("b", "Call held", False, 2),
        ),
        archived=True,
    )
    (data,) = load(export_manifest(state(t), "s"))["tasks"]
    assert data == {
        "key": "kickoff",
        "title": "Kickoff",
        "type": "milestone",
        "description": "Scope\nand plan",
        "start_date": "2027-01-04",
        "due_date": "2027-01-18",
        "priority": "high",
        "status": "started",
        "tags": ["Phase-1", "client"],
        "checklist": [{"name": "Agenda sent", "completed": True}, "Call held"],
        "archived": True,
    }


def test_kantata_defaults_are_left_out() -> None:
    t = task("1", "Plain", type="task", priority="normal", status="not started", description="")
    (data,) = load(export_manifest(state(t), "s"))["tasks"]
    assert data == {"key": "plain", "title": "Plain", "status": "not started"}


def test_status_set_is_exported_with_each_tasks_status() -> None:
    ss = LiveStatusSet(
        "7",
        "Delivery",
        (LiveStatus("1", "Backlog", "not started", 1), LiveStatus("2", "Done", "completed", 2)),
    )
    ws = LiveWorkspace(id="42", title="W", task_status_set_id="7")
    live = state(
        task("1", "A", status="Done"),
        task("2", "B", status="started"),  # not a status of the set: cannot validate
        workspace=ws,
        status_sets=(ss,),
    )
    export = build_export(live, "s")
    data = load(export.text)
    assert data["status_set"] == {
        "name": "Delivery",
        "statuses": [
            {"name": "Backlog", "category": "not started"},
            {"name": "Done", "category": "completed"},
        ],
    }
    assert [t.get("status") for t in data["tasks"]] == ["Done", None]
    assert any("'started' is not in the set" in w for w in export.warnings)


def test_keys_are_readable_unique_and_qualified_only_when_titles_repeat() -> None:
    live = state(
        task("1", "Phase 1"),
        task("2", "Kickoff", "1"),
        task("3", "Phase 2"),
        task("4", "Kickoff", "3"),
        task("5", "Café Überblick", "3"),
        task("6", "🚀🚀"),
        task("7", "QA", position=5),
        task("8", "QA", position=6),
    )
    keys = [t["key"] for t in flat(load(export_manifest(live, "s"))["tasks"])]
    assert keys == [
        "phase-1",
        "phase-1/kickoff",
        "phase-2",
        "phase-2/kickoff",
        "cafe-uberblick",
        keys[5],
        "qa",
        "qa-2",
    ]
    assert keys[5].startswith("t-")


def test_a_qualified_key_never_takes_a_title_slug_another_task_owns() -> None:
    # "phase-1/kickoff" cannot clash, but a numbered key must skip a real title's slug.
    live = state(task("1", "QA"), task("2", "QA"), task("3", "QA 2"))
    keys = [t["key"] for t in load(export_manifest(live, "s"))["tasks"]]
    assert keys == ["qa", "qa-3", "qa-2"]


def test_tasks_managed_by_this_stack_keep_their_keys() -> None:
    live = state(task("1", "Design", markers=(marker("s", "discovery"),)), task("2", "Discovery"))
    keys = [t["key"] for t in load(export_manifest(live, "s"))["tasks"]]
    assert keys == ["discovery", "discovery-2"]


def test_other_stacks_subtrees_are_left_out_with_a_note() -> None:
    live = state(
        task("1", "Mine"),
        task("2", "Theirs", markers=(marker("other", "x"),)),
        task("3", "Their child", "2"),
    )
    export = build_export(live, "s")
    assert [t["title"] for t in flat(load(export.text)["tasks"])] == ["Mine"]
    assert "# Not exported: 2 task(s) managed by stack other" in export.text
    (warning,) = export.warnings
    assert "stack 'other' were not exported (export them with --name other)" in warning


def test_duplicate_checklist_names_are_kept_once_with_a_warning() -> None:
    items = (LiveChecklistItem("1", "Sign", False, 1), LiveChecklistItem("2", "Sign", True, 2))
    export = build_export(state(task("1", "T", checklist=items)), "s")
    assert load(export.text)["tasks"][0]["checklist"] == ["Sign"]
    assert export.warnings and "duplicate checklist" in export.warnings[0]


def test_empty_workspace_exports_an_empty_task_list() -> None:
    assert load(export_manifest(state(), "s"))["tasks"] == []


TRICKY = [
    "yes",
    "No",
    "1.0",
    "0x1F",
    "null",
    "~",
    "2027-01-01",
    "*star",
    "&anchor",
    "!tag",
    "- dash",
    "#hash",
    "a: b",
    "@at",
    "`tick",
    "%pct",
    "'quoted'",
    '"dq"',
    "${kickoff}",
    "$${x}",
    "🚀 Launch ✨",
    "日本語のタスク",
    " padded ",
    "tab\there",
    "line\nbreak",
    "trailing space \n next",
    "\u00a0nbsp",
]


def test_tricky_strings_survive_the_manifest_loader_exactly() -> None:
    tasks = [
        task(str(i), title, description=title, tags=(title.strip() or "x",))
        for i, title in enumerate(TRICKY)
    ]
    data = load(export_manifest(state(*tasks), "s"))
    for t, want in zip(data["tasks"], TRICKY, strict=True):
        assert substitute(t["title"], {}) == want
        assert substitute(t["description"], {}) == want


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(max_size=80))
def test_any_title_and_description_round_trip(title: str, description: str) -> None:
    text = export_manifest(state(task("1", title, description=description)), "s")
    (t,) = load(text)["tasks"]
    assert substitute(t["title"], {}) == title
    assert substitute(t.get("description", ""), {}) == description


def test_tasks_under_a_parent_that_was_not_read_are_left_out_with_a_warning() -> None:
    # Written top-level, they would not match on --adopt and would be created again.
    live = state(task("1", "Kept"), task("2", "Orphan", "99"), task("3", "Its child", "2"))
    export = build_export(live, "s")
    assert [t["title"] for t in flat(load(export.text)["tasks"])] == ["Kept"]
    assert export.tasks == 1
    assert export.warnings == (
        "2 task(s) under #99, a story kxplan cannot read (deleted?), were not exported",
    )
