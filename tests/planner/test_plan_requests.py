"""Estimated write requests and saved-plan fingerprints."""

from __future__ import annotations

from dataclasses import replace

from kxplan.model import PlanOptions
from kxplan.plan import fingerprint
from kxplan.planner import build_plan
from kxplan.saved_plans import fingerprints_for
from tests.support import live_from, manifest_from


def test_bulk_creates_take_one_request_per_300_at_each_depth() -> None:
    children = [{"key": f"c{i}", "title": f"C{i}"} for i in range(301)]
    manifest = manifest_from({"tasks": [{"key": "top", "title": "Top", "children": children}]})
    plan = build_plan(manifest, live_from({}))
    assert plan.requests["write"] == 1 + 2  # 1 top-level create, 301 children in 2 requests


def test_completed_checklist_items_on_create_cost_one_request_each() -> None:
    checklist = [{"name": "a", "completed": True}, {"name": "b", "completed": True}, "c"]
    manifest = manifest_from({"tasks": [{"key": "t", "title": "T", "checklist": checklist}]})
    assert build_plan(manifest, live_from({})).requests["write"] == 3


def test_fingerprints_cover_exactly_the_live_objects_touched() -> None:
    manifest = manifest_from(
        {
            "prune": True,
            "status_set": {"name": "Flow", "statuses": [{"name": "Done", "category": "completed"}]},
            "tasks": [
                {"key": "a", "title": "A2", "checklist": ["one"]},
                {"key": "b", "title": "B"},
                {"key": "new", "title": "New"},
            ],
        }
    )
    live = live_from(
        {
            "workspace": {"task_status_set_id": 50},
            "status_sets": [
                {
                    "id": 50,
                    "name": "Flow",
                    "statuses": [
                        {"id": 51, "name": "Done", "category": "completed"},
                        {"id": 52, "name": "Old", "category": "started"},
                    ],
                }
            ],
            "tasks": [
                {"id": 10, "title": "A", "key": "a", "checklist": ["one", "two"]},
                {"id": 11, "title": "B", "key": "b"},
                {"id": 12, "title": "Gone", "key": "gone"},
            ],
        }
    )
    plan = build_plan(manifest, live, PlanOptions())
    prints = fingerprints_for(plan, live)
    assert sorted(prints) == [
        "checklist_item:1001",
        "status:52",
        "status_set:50",
        "task:10",
        "task:12",
    ]
    assert prints["task:10"] == fingerprint(live.tasks[0])
    changed = replace(live, tasks=(replace(live.tasks[0], title="Edited"), *live.tasks[1:]))
    assert fingerprints_for(plan, changed)["task:10"] != prints["task:10"]
