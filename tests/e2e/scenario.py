"""A small but complete manifest and an edit of it that touches every kind of change."""

from __future__ import annotations

import copy
from typing import Any

STACK = "onboarding"
WORKSPACE = "Acme — Onboarding"


def base() -> dict[str, Any]:
    """Status set, three levels, tags, checklists (one item completed on create)."""
    return {
        "version": 1,
        "name": STACK,
        "workspace": WORKSPACE,
        "status_set": {
            "name": "Delivery workflow",
            "statuses": [
                {"name": "Backlog", "category": "not started"},
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
                "tags": ["phase-1"],
                "checklist": ["Kickoff call held", {"name": "Scope signed", "completed": True}],
                "children": [
                    {
                        "key": "kickoff",
                        "title": "Kickoff",
                        "status": "Backlog",
                        "checklist": ["Agenda sent", "Notes shared"],
                    },
                    {
                        "key": "interviews",
                        "title": "Stakeholder interviews",
                        "children": [{"key": "interview-ceo", "title": "Interview the CEO"}],
                    },
                ],
            },
            {
                "key": "build",
                "title": "Build",
                "children": [{"key": "setup", "title": "Set up environment", "tags": ["infra"]}],
            },
            {"key": "cleanup", "title": "Old cleanup task"},
        ],
    }


def edited() -> dict[str, Any]:
    """Rename (renamed_from), move, delete, checklist add/rename/reorder/remove, tags, statuses."""
    doc = copy.deepcopy(base())
    doc["status_set"]["statuses"] = [
        {"name": "Backlog", "category": "not started"},
        {"name": "Review", "category": "started"},
        {"name": "In progress", "category": "started", "renamed_from": ["Doing"]},
        {"name": "Done", "category": "completed"},
    ]
    discovery, build, _cleanup = doc["tasks"]
    discovery["tags"] = ["phase-1", "client"]
    discovery["checklist"] = [{"name": "Scope signed", "completed": True}]
    kickoff, interviews = discovery["children"]
    kickoff.update(
        key="kick-off",
        title="Kick-off meeting",
        renamed_from=["kickoff"],
        checklist=[
            "Notes shared",
            {"name": "Agenda emailed", "renamed_from": ["Agenda sent"]},
            "Room booked",
        ],
    )
    build["children"].append(interviews["children"].pop())  # move interview-ceo under build
    del interviews["children"]
    build["children"][0]["tags"] = []
    doc["tasks"] = [discovery, build]  # cleanup removed: deleted with --prune
    return doc
