"""Golden files for the text and Markdown renderers (tests/render/golden/).

To accept a deliberate change in the output, regenerate them and review the diff:

    KXPLAN_UPDATE_GOLDEN=1 python -m pytest tests/render/test_render_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kxplan.model import LiveState, LiveTask, Manifest
from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.render import render_markdown, render_text
from tests.support import live_from, manifest_from, options_from

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("KXPLAN_UPDATE_GOLDEN") == "1"

#: One plan with every kind of change, kept and blocked tasks, and warnings.
EVERYTHING: dict[str, Any] = {
    "manifest": {
        "name": "onboarding",
        "prune": True,
        "status_set": {
            "name": "Delivery",
            "statuses": [
                {"name": "Backlog", "category": "not started", "renamed_from": ["To do"]},
                {"name": "Doing", "category": "started"},
                {"name": "Waiting on client", "category": "needs info"},
                {"name": "Done", "category": "completed"},
            ],
        },
        "tasks": [
            {
                "key": "discovery",
                "title": "Discovery",
                "type": "milestone",
                "due_date": "2027-01-18",
                "tags": ["phase-1", "client"],
                "checklist": [
                    "Kickoff call held",
                    {"name": "Scope signed off", "renamed_from": ["Scope signed"]},
                ],
                "children": [
                    {
                        "key": "kickoff",
                        "title": "Kickoff | intro",
                        "start_date": "2027-01-04",
                        "checklist": ["Agenda sent", {"name": "Room booked", "completed": True}],
                    },
                    {"key": "interviews", "title": "Stakeholder interviews"},
                ],
            },
            {
                "key": "build",
                "title": "Build",
                "renamed_from": ["implementation"],
                "description": "Configure the workspace.\nThen migrate the data.",
            },
            {"key": "legacy", "title": "Legacy import"},
        ],
    },
    "live": {
        "workspace": {"id": 700, "title": "Acme — Onboarding", "task_status_set_id": 50},
        "status_sets": [
            {
                "id": 50,
                "name": "Delivery",
                "statuses": [
                    {"id": 51, "name": "To do", "category": "not started"},
                    {"id": 52, "name": "Doing", "category": "needs info"},
                    {"id": 53, "name": "Done", "category": "completed"},
                    {"id": 54, "name": "Parked", "category": "needs info"},
                ],
            }
        ],
        "tasks": [
            {
                "id": 100,
                "title": "Discovery phase",
                "key": "discovery",
                "type": "milestone",
                "due_date": "2027-01-11",
                "tags": ["client"],
                "checklist": [{"name": "Scope signed", "completed": True}, "Old item"],
                "children": [
                    {
                        "id": 103,
                        "title": "Stakeholder interviews",
                        "key": "interviews",
                        "status": "Doing",
                        "custom_task_status_id": 52,
                    }
                ],
            },
            {
                "id": 101,
                "title": "Implementation",
                "key": "implementation",
                "description": "Configure the workspace.",
            },
            {"id": 102, "title": "Legacy import"},
            {
                "id": 104,
                "title": "Retired",
                "key": "retired",
                "children": [{"id": 105, "title": "Notes from the client"}],
            },
            {"id": 106, "title": "Old report", "key": "old-report"},
        ],
    },
    "options": {"adopt": True},
}


def _plan(data: dict[str, Any]) -> Plan:
    def adopter(manifest: Manifest, live: LiveState) -> dict[str, LiveTask]:
        return {"legacy": next(t for t in live.tasks if t.id == "102")}

    return build_plan(
        manifest_from(data["manifest"], path="onboarding.yaml"),
        live_from(data["live"], stack="onboarding"),
        options_from(data.get("options")),
        adopter=adopter,
    )


def _no_changes() -> Plan:
    manifest = {
        "name": "onboarding",
        "tasks": [{"key": "a", "title": "A"}, {"key": "b", "title": "B"}],
    }
    live = {
        "workspace": {"id": 700, "title": "Acme — Onboarding"},
        "tasks": [
            {"id": 11, "title": "B", "key": "b", "position": 1},
            {"id": 10, "title": "A", "key": "a", "position": 2},
            {"id": 12, "title": "A person's task"},
            {"id": 13, "title": "Gone", "key": "gone"},
        ],
    }
    return _plan({"manifest": manifest, "live": live})


RENDERINGS = {
    "everything.txt": lambda: render_text(_plan(EVERYTHING)),
    "everything.color.txt": lambda: render_text(_plan(EVERYTHING), color=True),
    "everything.md": lambda: render_markdown(_plan(EVERYTHING)),
    "no-changes.txt": lambda: render_text(_no_changes()),
    "no-changes.md": lambda: render_markdown(_no_changes()),
}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_rendering_matches_golden_file(name: str) -> None:
    actual = RENDERINGS[name]()
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing {path}: run with KXPLAN_UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(encoding="utf-8")
