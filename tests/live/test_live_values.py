"""Converting Kantata story/workspace objects into live model values (no network)."""

from __future__ import annotations

from typing import Any

from kxplan.live import task_from_api, workspace_from_api
from kxplan.live._parsing import priority_name
from kxplan.model import LiveChecklistItem, LiveMarker, LiveTask

ENVELOPE: dict[str, Any] = {
    "count": 1,
    "tags": {"1": {"id": "1", "name": "beta"}, "2": {"id": "2", "name": "Alpha"}},
    "story_tasks": {
        "10": {"id": "10", "name": "second", "completed": True, "position": 2, "story_id": "5"},
        "11": {"id": "11", "name": "first", "completed": False, "position": 1, "story_id": "5"},
        "9": {"id": "9", "name": "tie", "completed": False, "position": 2, "story_id": "5"},
    },
    "external_references": {
        "70": {
            "id": "70",
            "service_name": "kxplan",
            "service_model": "onboarding",
            "service_model_ref": "discovery",
            "subject_id": 5,
            "subject_type": "Story",
        }
    },
}

STORY: dict[str, Any] = {
    "id": "5",
    "title": "Discovery",
    "parent_id": "4",
    "story_type": "milestone",
    "description": None,
    "start_date": "2027-01-04",
    "due_date": "2027-01-18",
    "priority": "high",
    "status": "Backlog",
    "state": "not started",
    "percentage_complete": 0,
    "archived": True,
    "position": 3,
    "tag_ids": ["1", "2"],
    "story_task_ids": ["10", "11", "9"],
    "external_reference_ids": ["70"],
    "created_at": "2027-01-01T10:00:00Z",
    "updated_at": "2027-01-02T10:00:00Z",
    "custom_task_status_id": 31,
}


def test_story_becomes_a_live_task_with_tags_checklist_and_marker() -> None:
    task = task_from_api(STORY, ENVELOPE)
    assert (task.id, task.parent_id, task.type, task.archived) == ("5", "4", "milestone", True)
    assert (task.status, task.state, task.priority) == ("Backlog", "not started", "high")
    assert task.tags == ("Alpha", "beta")  # case-insensitive order
    assert [i.id for i in task.checklist] == ["11", "9", "10"]  # position, then numeric id
    assert task.checklist[0] == LiveChecklistItem("11", "first", False, 1)
    assert task.markers == (LiveMarker("70", "kxplan", "onboarding", "discovery"),)
    assert task.key_for("onboarding") == "discovery"
    assert task.custom_task_status_id == "31"


def test_related_objects_are_found_by_foreign_key_when_ids_are_missing() -> None:
    story = {k: v for k, v in STORY.items() if not k.endswith("_ids")}
    task = task_from_api(story, ENVELOPE)
    assert [i.name for i in task.checklist] == ["first", "tie", "second"]
    assert task.key_for("onboarding") == "discovery"
    assert task.tags == ()  # tags have no foreign key: only tag_ids tell


def test_a_bare_story_gets_defaults() -> None:
    task = task_from_api({"id": 8, "title": "T", "parent_id": None}, {})
    assert (task.id, task.parent_id, task.status, task.state, task.priority) == (
        "8",
        None,
        None,
        "not started",
        None,
    )
    assert task.checklist == () and task.markers == ()


def test_priority_from_name_or_level() -> None:
    assert priority_name("Critical") == "critical"
    assert priority_name(0) == "low"
    assert priority_name("2") == "high"
    assert priority_name(None) is None


def test_workspace_ids_become_strings() -> None:
    ws = workspace_from_api({"id": 12, "title": "Acme", "task_status_set_id": 3})
    assert (ws.id, ws.title, ws.task_status_set_id) == ("12", "Acme", "3")
    assert workspace_from_api({"id": "1", "title": "X"}).task_status_set_id is None


def test_every_story_field_lands_in_its_own_task_field() -> None:
    # The parser builds the model objects with positional arguments: distinct values for
    # every field catch one put in the wrong place.
    story = {
        **STORY,
        "title": "Title",
        "description": "Description",
        "start_date": "2027-01-04T08:00:00Z",
        "due_date": "2027-01-18",
        "percentage_complete": "40",
        "position": 3,
        "tag_ids": ["2"],
        "story_task_ids": ["11"],
    }
    envelope = {
        **ENVELOPE,
        "story_tasks": {
            "11": {
                "id": "11",
                "name": "Item",
                "completed": True,
                "position": 6,
                "updated_at": "2027-01-03T10:00:00Z",
            }
        },
        "external_references": {
            "70": {
                "id": "70",
                "service_name": "kxplan",
                "service_model": "onboarding",
                "service_model_ref": "discovery",
                "external_status": "protected",
                "external_message": "kx1 t=1",
                "subject_type": "Story",
            }
        },
    }
    assert task_from_api(story, envelope) == LiveTask(
        id="5",
        title="Title",
        parent_id="4",
        type="milestone",
        description="Description",
        start_date="2027-01-04",
        due_date="2027-01-18",
        priority="high",
        status="Backlog",
        state="not started",
        percentage_complete=40,
        archived=True,
        position=3,
        tags=("Alpha",),
        checklist=(
            LiveChecklistItem(
                id="11",
                name="Item",
                completed=True,
                position=6,
                updated_at="2027-01-03T10:00:00Z",
            ),
        ),
        markers=(
            LiveMarker(
                id="70",
                service_name="kxplan",
                service_model="onboarding",
                service_model_ref="discovery",
                protected=True,
                message="kx1 t=1",
            ),
        ),
        created_at="2027-01-01T10:00:00Z",
        updated_at="2027-01-02T10:00:00Z",
        custom_task_status_id="31",
    )
