"""The typed plan contract (kxplan.changes) against its JSON boundary: the plan schema says
what the types say, every type survives a saved plan, and old saved plans still load."""

from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import pytest

from kxplan import changes as ch
from kxplan.changes import ReasonCode
from kxplan.changes.codec import CHANGE_TYPES, REGISTRY, from_json, to_json
from kxplan.changes.schema import regenerated
from kxplan.errors import ApplyError
from kxplan.plan import Change, Plan
from kxplan.render import render_json, render_text
from kxplan.resources import load_schema

_GONE: ch.task.GoneTask = {"title": "Gone", "parent": None}

#: One change of every type, as the planner makes them.
SAMPLES: tuple[Change, ...] = (
    ch.StatusSetCreate(key="Delivery", after={"name": "Delivery"}),
    ch.StatusCreate(
        key="Review",
        parent="Delivery",
        after={"name": "Review", "category": "started", "position": 2},
    ),
    ch.StatusUpdate(
        key="Doing",
        id="7",
        parent="Delivery",
        before={"name": "In progress", "position": 3},
        after={"name": "Doing", "position": 2},
        fields=("name", "position"),
    ),
    ch.StatusReplace(
        key="Blocked",
        id="8",
        parent="Delivery",
        before={"name": "Blocked", "category": "started"},
        after={"name": "Blocked", "category": "not started", "position": 4, "task_ids": ["12"]},
        fields=("category",),
        code=ReasonCode.CATEGORY_CHANGED,
    ),
    ch.StatusDelete(
        key="Old",
        id="9",
        parent="Delivery",
        before={"name": "Old", "category": "completed"},
        code=ReasonCode.PRUNED,
    ),
    ch.StatusKeep(
        key="Kept",
        id="10",
        parent="Delivery",
        before={"name": "Kept", "category": "completed"},
        code=ReasonCode.REMOVED_KEPT,
    ),
    ch.WorkspaceCreate(
        key="Acme — Onboarding",
        path="Acme — Onboarding",
        after={"title": "Acme — Onboarding", "description": "Onboarding", "due_date": None},
    ),
    ch.WorkspaceUpdate(
        key="1",
        id="1",
        before={"status_set": None},
        after={"status_set": "Delivery"},
        code=ReasonCode.USE_SET,
    ),
    ch.WorkspaceUpdate(
        key="1",
        id="1",
        path="Acme — Onboarding",
        before={"description": None, "due_date": "2027-01-01"},
        after={"description": "Onboarding", "due_date": "2027-02-01"},
        fields=("description", "due_date"),
    ),
    ch.TaskCreate(
        key="kickoff",
        parent="discovery",
        after={
            "title": "Kickoff",
            "type": "milestone",
            "parent": "discovery",
            "parent_id": "100",
            "tags": ["phase-1"],
            "checklist": [{"name": "Agenda", "completed": True}],
            "protect": True,
        },
    ),
    ch.TaskAdopt(
        key="report",
        id="101",
        before={"key": None},
        after={"key": "report"},
        fields=("key",),
        code=ReasonCode.ADOPTED,
    ),
    ch.TaskUpdate(
        key="call",
        id="102",
        before={"due_date": None, "protect": False},
        after={"due_date": "2027-01-04", "protect": True, "marker": {"stack": "s", "key": "call"}},
        fields=("due_date", "protect"),
        origin={"due_date": "kantata"},
        code=ReasonCode.FIELD_ORIGIN,
    ),
    ch.TaskMove(
        key="call",
        id="102",
        parent="kickoff",
        before={"parent": None, "parent_id": None},
        after={"parent": "kickoff", "parent_id": None},
        code=ReasonCode.NEW_PARENT_FIRST,
    ),
    ch.TaskDelete(key="gone", id="103", before=_GONE, code=ReasonCode.PRUNED),
    ch.TaskDelete(
        key="gone",
        id="104",
        before={"title": "Gone", "copy_of": "103"},
        code=ReasonCode.DUPLICATE_COPY,
    ),
    ch.TaskKeep(key="kept", id="105", before=_GONE, code=ReasonCode.REMOVED_KEPT),
    ch.TaskBlocked(key="held", id="106", before=_GONE, code=ReasonCode.PROTECTED),
    ch.ChecklistItemCreate(
        key="Agenda",
        parent="call",
        after={"name": "Agenda", "completed": False, "position": 1, "task_id": "102"},
    ),
    ch.ChecklistItemUpdate(
        key="Notes",
        id="201",
        parent="call",
        before={"name": "Minutes"},
        after={"name": "Notes"},
        fields=("name",),
    ),
    ch.ChecklistItemDelete(
        key="Extra", id="202", parent="call", before={"name": "Extra", "completed": False}
    ),
    ch.ChecklistItemKeep(
        key="Mine", id="203", parent="call", before={"name": "Mine", "completed": True}
    ),
    ch.PostCreate(key="welcome", after={"message": "Hi", "task": "call", "task_id": None}),
    ch.PostUpdate(
        key="agenda",
        id="400",
        before={"message": "Old"},
        after={"message": "New", "task": None, "task_id": None},
        fields=("message",),
        code=ReasonCode.FIELD_ORIGIN,
    ),
    ch.PostDelete(key="gone", id="401", before={"message": "Bye", "task": None}),
    ch.PostKeep(key="kept", id="402", before={"message": "Stay", "task": "call"}),
    ch.Note(key="Loose", id="300", reason="unmanaged: no marker", code=ReasonCode.UNMANAGED),
    ch.Note(
        key="(duplicate markers)",
        before={
            "copies": [
                {"key": "a", "id": "2", "task_id": "1", "title": "A", "work": [], "deleted": False}
            ]
        },
        code=ReasonCode.DUPLICATES,
    ),
)


def _plan(changes: tuple[Change, ...]) -> Plan:
    return Plan("s", "s.yaml", {"id": "1", "title": "W"}, changes)


def test_the_schema_holds_what_the_types_say() -> None:
    schema = load_schema("plan.schema.json")
    assert regenerated(schema) == schema, "run `python -m kxplan.changes.schema`"


def test_every_type_is_in_the_schema_and_registered_once() -> None:
    change = load_schema("plan.schema.json")["$defs"]["change"]["properties"]
    assert len(REGISTRY) == len(CHANGE_TYPES)
    assert {t.kind.value for t in CHANGE_TYPES} == set(change["kind"]["enum"])
    assert {t.action.value for t in CHANGE_TYPES} == set(change["action"]["enum"])
    assert {type(c) for c in SAMPLES} == set(CHANGE_TYPES)


def test_one_change_of_every_type_validates_and_survives_a_saved_plan() -> None:
    data = json.loads(render_json(_plan(SAMPLES)))
    jsonschema.validate(data, load_schema("plan.schema.json"))
    back = Plan.from_json(data)
    assert back.changes == tuple(replace(c, path=c.path or c.key) for c in SAMPLES)
    assert back.to_json() == data


@pytest.mark.parametrize("change", SAMPLES, ids=lambda c: type(c).__name__)
def test_a_change_the_types_do_not_allow_is_refused_by_the_schema(change: Change) -> None:
    data = json.loads(render_json(_plan((change,))))
    data["changes"][0]["before"] = {"no_such_field": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, load_schema("plan.schema.json"))


def test_a_plan_saved_before_reason_codes_still_loads_and_renders_the_same() -> None:
    new = _plan((SAMPLES[-2],))
    old = new.to_json()
    for c in old["changes"]:
        del c["code"]
    loaded = Plan.from_json(old)
    assert loaded.changes[0].code is ReasonCode.UNMANAGED
    assert render_text(loaded) == render_text(new)


def test_a_saved_change_this_kxplan_cannot_apply_is_named() -> None:
    data = to_json(SAMPLES[0]) | {"kind": "task", "action": "replace", "key": "odd"}
    with pytest.raises(ApplyError) as info:
        from_json(data)
    assert "cannot apply replace of a task ('odd')" in info.value.format()
