"""The plan's own typed fields (`options`, `binding`, `set_writes`: kxplan.plan) against the
plan schema, and read back from a plan file as the types say."""

from __future__ import annotations

from typing import Any

from kxplan.plan import Binding, Plan, PlanSettings, SetWrite
from kxplan.resources import load_schema

PROPERTIES = load_schema("plan.schema.json")["properties"]


def _keys(typed: Any) -> set[str]:
    return set(typed.__annotations__)


def test_the_schema_names_the_fields_the_types_hold() -> None:
    assert set(PROPERTIES["options"]["properties"]) == _keys(PlanSettings)
    assert set(PROPERTIES["binding"]["properties"]) == _keys(Binding)
    writes = PROPERTIES["set_writes"]["items"]
    assert set(writes["properties"]) == set(writes["required"]) == _keys(SetWrite)


def test_a_plan_file_is_read_into_the_types() -> None:
    data = {
        "stack": "s",
        "workspace": {"id": "7", "title": "W"},
        "changes": [],
        "options": {"prune": True, "targets": ["a"], "vars": {"env": "prod"}, "later": 1},
        "binding": {"api": "https://x", "workspace": {"id": 7, "title": "W"}, "stack": "s"},
        "set_writes": [{"set": "Flow", "digest": "sha256:00", "generation": "2"}],
    }
    plan = Plan.from_json(data)
    assert plan.options == {"prune": True, "targets": ["a"], "vars": {"env": "prod"}}
    assert plan.binding["workspace"] == {"id": "7", "title": "W"}
    assert plan.set_writes == ({"set": "Flow", "digest": "sha256:00", "generation": 2},)
    assert Plan.from_json(plan.to_json()) == plan
