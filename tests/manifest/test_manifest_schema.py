"""The JSON Schema as editors use it: documented, and happy with the examples as written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from kxplan.manifest.schema import inline_refs
from kxplan.manifest.yaml_loader import read_document
from kxplan.resources import load_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _properties(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}.{name}", sub
        for key, sub in node.items():
            yield from _properties(sub, f"{where}.{key}" if key != "properties" else where)
    elif isinstance(node, list):
        for sub in node:
            yield from _properties(sub, where)


def test_the_schema_is_valid_2020_12() -> None:
    Draft202012Validator.check_schema(load_schema("manifest.schema.json"))


def test_every_property_has_a_description_for_editors() -> None:
    schema = load_schema("manifest.schema.json")
    props = list(_properties(schema))
    assert len(props) > 30
    missing = [where for where, sub in props if "description" not in sub]
    assert missing == []


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_examples_as_written_satisfy_the_schema(example: Path) -> None:
    # What an editor checks: the text before substitution, with ${...} still in it.
    first_line = example.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../schemas/manifest.schema.json"
    doc, problems = read_document(example)
    assert problems == [] and doc is not None
    errors = list(Draft202012Validator(load_schema("manifest.schema.json")).iter_errors(doc.data))
    assert [e.message for e in errors] == []


def test_inlining_refs_keeps_the_meaning() -> None:
    schema = {
        "$defs": {
            "node": {"type": "object", "properties": {"kids": {"items": {"$ref": "#/$defs/node"}}}}
        },
        "$ref": "#/$defs/node",
    }
    deep: dict[str, Any] = {"kids": [1]}  # 1 is not an object, 12 levels down
    for _ in range(11):
        deep = {"kids": [deep]}
    for candidate in (schema, inline_refs(schema, unroll=3)):
        errors = list(Draft202012Validator(candidate).iter_errors(deep))
        assert [len(e.absolute_path) for e in errors] == [24]


FLEET = ROOT / "examples" / "fleet"


def test_the_fleet_template_as_written_satisfies_the_schema() -> None:
    doc, problems = read_document(FLEET / "template.yaml")
    assert problems == [] and doc is not None
    errors = list(Draft202012Validator(load_schema("manifest.schema.json")).iter_errors(doc.data))
    assert [e.message for e in errors] == []
    assert {"workspaces", "vars"} <= set(doc.data)


def test_the_module_schema_shares_the_manifests_definitions() -> None:
    module, manifest = load_schema("module.schema.json"), load_schema("manifest.schema.json")
    Draft202012Validator.check_schema(module)
    assert module["$defs"] == manifest["$defs"]  # regenerate module.schema.json if not


@pytest.mark.parametrize("phase", sorted((FLEET / "phases").glob("*.yaml")), ids=lambda p: p.name)
def test_included_phase_modules_as_written_satisfy_the_module_schema(phase: Path) -> None:
    first_line = phase.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../../../schemas/module.schema.json"
    doc, problems = read_document(phase)
    assert problems == [] and doc is not None
    errors = list(Draft202012Validator(load_schema("module.schema.json")).iter_errors(doc.data))
    assert [e.message for e in errors] == []


def test_a_task_item_with_include_is_checked_as_an_include() -> None:
    validator = Draft202012Validator(inline_refs(load_schema("manifest.schema.json")))
    doc = {"version": 1, "name": "n", "tasks": [{"include": "a.yaml", "title": "x"}]}
    (error,) = validator.iter_errors(doc)
    assert error.validator == "additionalProperties" and "'title'" in error.message
