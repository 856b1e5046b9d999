"""Read machine output as a tool would: `--json` lines checked against
schemas/events.schema.json (which refers to plan.schema.json for the change objects)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from referencing import Registry, Resource

from kxplan.resources import load_schema
from tests.support.cli import Result


def event_validator(definition: str | None = None) -> jsonschema.Draft202012Validator:
    """A validator of one event (or of `$defs/<definition>`, e.g. the apply document)."""
    events = load_schema("events.schema.json")
    plan = load_schema("plan.schema.json")
    registry: Registry = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in (events, plan)]
    )
    schema = events if definition is None else {"$ref": f"{events['$id']}#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def events_of(result: Result) -> list[dict[str, Any]]:
    """Every stdout line parsed and checked against the schema: exactly one version event
    first, one summary last, carrying the exit code the run had."""
    validator = event_validator()
    lines = result.out.splitlines()
    assert lines, result.err
    events = [json.loads(line) for line in lines]
    for event in events:
        validator.validate(event)
    types = [e["type"] for e in events]
    assert types[0] == "version" and types[-1] == "summary", types
    assert types.count("version") == 1 and types.count("summary") == 1
    assert events[-1]["exit_code"] == result.code
    return events


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The events of one type, in order."""
    return [e for e in events if e["type"] == kind]
