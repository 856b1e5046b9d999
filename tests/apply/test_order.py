"""The applier's ordering rules: parents are created before children, children deleted first,
and a failure report names what was not applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from kxplan.apply import ApplyFailed
from kxplan.apply._core import _run_wave
from kxplan.apply._creates import create_levels
from kxplan.apply._payload import completed_names, create_item
from kxplan.apply._tasks import delete_heights
from kxplan.changes import ChecklistItemCreate, TaskCreate, TaskDelete
from kxplan.changes.base import Action, Kind
from kxplan.changes.batches import BULK_LIMIT
from kxplan.errors import ApplyError, ServerError
from kxplan.plan import Change
from kxplan.planner.memory import decode


def _create(key: str, parent: str | None = None) -> Change:
    return TaskCreate(
        key=key,
        parent=parent,
        after={"title": key, "type": "task", "parent": parent, "parent_id": None},
    )


def _delete(key: str, parent: str | None = None) -> Change:
    return TaskDelete(key=key, id=key, parent=parent, before={"title": key})


def test_parents_are_created_in_an_earlier_request_than_their_children() -> None:
    # Listed children first and with a wrong depth: the order comes from the parent keys.
    changes = [_create("c", "b"), _create("b", "a"), _create("a"), _create("x"), _create("y", "x")]
    levels = [[c.key for c in level] for level in create_levels(changes)]
    assert levels == [["a", "x"], ["b", "y"], ["c"]]


def test_children_under_an_existing_parent_go_in_the_first_request() -> None:
    levels = create_levels([_create("child", "already-live")])
    assert [[c.key for c in level] for level in levels] == [["child"]]


def test_children_are_deleted_before_their_parents() -> None:
    changes = [_delete("a"), _delete("b", "a"), _delete("c", "b"), _delete("d", "a"), _delete("e")]
    heights = [sorted(c.key for c in group) for group in delete_heights(changes)]
    assert heights == [["c", "d", "e"], ["b"], ["a"]]


def test_a_created_task_carries_marker_checklist_and_tags_in_one_item() -> None:
    after = {
        "title": "Kickoff",
        "type": "milestone",
        "parent": "discovery",
        "tags": ["phase-1", "client"],
        "checklist": [{"name": "Agenda", "completed": False}, {"name": "Call", "completed": True}],
    }
    item = create_item("onboarding", "kickoff", after, "42", "7")
    # The memory of what the create writes rides in the marker (docs/apply.md).
    memory = decode(item["external_reference"].pop("external_message"))
    assert memory is not None and memory.created_item("Agenda") and memory.created_item("Call")
    assert set(memory.fields) == {"title", "type", "tags"}
    assert item == {
        "title": "Kickoff",
        "story_type": "milestone",
        "tag_list": "phase-1,client",
        "workspace_id": 42,
        "parent_id": 7,
        "checklist": ["Agenda", "Call"],
        "project_plan": True,  # a project task whatever Kantata's default
        "external_reference": {
            "service_name": "kxplan",
            "service_model": "onboarding",
            "service_model_ref": "kickoff",
        },
    }
    assert completed_names(after) == ("Call",)


def test_bulk_limit_is_kantatas() -> None:
    assert BULK_LIMIT == 300


def test_a_failure_report_lists_what_was_not_applied() -> None:
    done = [_create("a")]
    pending = [
        _create("b", "a"),
        ChecklistItemCreate(
            key="Call",
            parent="a",
            after={"name": "Call", "completed": False, "position": 1, "task_id": "1"},
        ),
    ]
    err = ApplyFailed(
        ServerError("Service is unavailable", method="POST", path="/stories", status=503),
        done,
        pending,
    )
    text = err.format()
    assert "POST /stories -> 503: Service is unavailable" in text
    assert "Applied 1 of 3 changes:\n  + task a\nNot applied:\n  + task b\n" in text
    assert "+ task b" in text
    assert "+ checklist_item a/Call" in text
    assert "kxplan plan" in text
    assert err.exit_code == 1


def test_a_change_no_stage_takes_is_refused_by_name_before_anything_is_sent() -> None:
    # A plan from a newer kxplan may hold a change type this applier has no stage for.
    @dataclass(frozen=True)
    class Unknown(Change):
        kind: ClassVar[Kind] = Kind.TASK
        action: ClassVar[Action] = Action.UPDATE

    class NoRun:
        applied: ClassVar[list[Change]] = []

        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"the run was used ({name}): a request could have gone out")

    with pytest.raises(ApplyError, match=r"cannot apply update of a task \('later'\)"):
        _run_wave(NoRun(), [Unknown(key="later")])  # type: ignore[arg-type]
