"""The schema fast path: valid manifests skip jsonschema's per-node walk, and the compiled
check it relies on says "valid" exactly when jsonschema does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from kxplan.manifest import ManifestError, load_manifest
from kxplan.manifest.fastcheck import Unsupported, compile_schema
from kxplan.manifest.schema import _validator, fast_check, schema_passes
from kxplan.manifest.vars import resolve_vars, substitute_document
from kxplan.manifest.yaml_loader import read_document

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted((ROOT / "tests" / "manifest" / "invalid").glob("*.yaml")) + sorted(
    (ROOT / "examples").glob("*.yaml")
)

# ---------------------------------------------------------------- random manifests

_WORDS = ("status", "percentage_complete", "completed")
_FIELDS = ("title", "type", "tags", "checklist", "parent", "archived", "status")
_LONG = "x" * 255

# Values that break some rule somewhere (and some that are fine in most places).
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 102),
    st.sampled_from([0.0, 1.0, 50.0, 2.5, 100.5]),
    st.sampled_from(["", " ", "a,b", _LONG + "x", "x" * 1000, "Bad Name", "-a", "2027-1-1"]),
    st.sampled_from(["task", "urgent", "started", "done", "${k + 1d}", "2027-01-01", "ok"]),
    st.text(max_size=3),
    st.lists(st.sampled_from(["a", "a", 1, True]), max_size=2),
    st.fixed_dictionaries({}, optional={"name": st.just("n"), "owner": st.just(1)}),
)
JUNK_KEYS = st.sampled_from(
    ["owner", "x-notes", "titel", "key", "title", "name", "status", "children", "tags", "1a"]
)

_names = st.sampled_from(["Prepare", "Review", " Sign off", _LONG])
_checklist_item = st.one_of(
    _names,
    st.fixed_dictionaries(
        {"name": _names},
        optional={"completed": st.booleans(), "renamed_from": st.lists(_names, max_size=2)},
    ),
)
_TASK_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "key": st.sampled_from(["a", "discovery/kickoff-call", "l0.1_x", "k" * 200]),
    "type": st.sampled_from(["task", "milestone", "deliverable", "issue"]),
    "description": st.one_of(st.none(), st.sampled_from(["", "Notes", "d" * 999])),
    "start_date": st.sampled_from([None, "2027-01-04", "${kickoff + 1w}"]),
    "due_date": st.sampled_from([None, "2027-02-01", "x ${a}"]),
    "priority": st.sampled_from(["low", "normal", "high", "critical"]),
    "status": st.sampled_from(["Doing", "not started"]),
    "percentage_complete": st.one_of(st.integers(0, 100), st.just(50.0)),
    "tags": st.lists(st.sampled_from(["a", "b c", _LONG]), max_size=3),
    "checklist": st.lists(_checklist_item, max_size=3),
    "archived": st.booleans(),
    "protect": st.booleans(),
    "renamed_from": st.lists(st.sampled_from(["old", "older/one"]), max_size=2),
    "enforce": st.lists(st.sampled_from(_WORDS), max_size=3, unique=True),
    "ignore_changes": st.lists(st.sampled_from(_FIELDS), max_size=3, unique=True),
}


_COMPOSE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "for_each": st.sampled_from([[1, 2], [{"name": "a"}], "${sprints}", "sprints", 3]),
    "when": st.sampled_from([True, False, "${flag}", "yes"]),
}
_INCLUDE = st.fixed_dictionaries(
    {"include": st.sampled_from(["phases/qa.yaml", "", " "])},
    optional={
        "vars": st.one_of(st.just({"phase": 2}), st.just({"1a": 1}), st.just([1])),
        **_COMPOSE_FIELDS,
    },
)


def _task(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    optional = {**_TASK_FIELDS, **_COMPOSE_FIELDS}
    if depth < 5:
        optional["children"] = st.lists(st.deferred(lambda: _item(depth + 1)), max_size=2)
    title = st.sampled_from(["Kick-off", "T", _LONG])
    return st.fixed_dictionaries({"title": title}, optional=optional)


def _item(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """A task-list item: a task or an include."""
    return st.one_of(_task(depth), _INCLUDE)


_WORKSPACE = st.one_of(
    st.integers(1, 10**12),
    st.sampled_from(["Bench", " x"]),
    st.fixed_dictionaries(
        {},
        optional={
            "title": st.sampled_from(["Acme", " ", _LONG]),
            "id": st.sampled_from([41001, "41001", "0x", 0]),
            "create": st.booleans(),
            "description": st.sampled_from(["Onboarding", None]),
            "start_date": st.sampled_from(["2027-01-04", "${kickoff}", "soon"]),
            "due_date": st.sampled_from(["2027-02-01", None]),
        },
    ),
)


_status = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Doing", "Done", _LONG]),
        "category": st.sampled_from(["not started", "started", "needs info", "completed"]),
    },
    optional={"renamed_from": st.lists(st.just("Old"), max_size=1)},
)
VALID_MANIFESTS = st.fixed_dictionaries(
    {
        "version": st.sampled_from([1, 1.0]),
        "name": st.sampled_from(["web", "a.b_c-d", "n" * 64]),
        "tasks": st.lists(_item(1), max_size=3),
    },
    optional={
        "workspace": _WORKSPACE,
        "workspaces": st.lists(
            st.fixed_dictionaries(
                {"workspace": _WORKSPACE},
                optional={"vars": st.just({"client": "Acme", "sprints": [1, {"a": 1}]})},
            ),
            max_size=2,
        ),
        "vars": st.dictionaries(
            st.sampled_from(["kickoff", "_a", "B2", "sprints"]),
            st.one_of(
                st.text(max_size=3),
                st.integers(),
                st.floats(),
                st.booleans(),
                st.lists(st.sampled_from([1, "a", {"name": "x"}, {"n": [1]}]), max_size=2),
            ),
        ),
        "prune": st.booleans(),
        "enforce": st.lists(st.sampled_from(_WORDS), max_size=3, unique=True),
        "ignore_changes": st.lists(st.sampled_from(_FIELDS), max_size=3, unique=True),
        "status_set": st.fixed_dictionaries(
            {"name": st.just("Delivery"), "statuses": st.lists(_status, min_size=1, max_size=2)}
        ),
        "x-anchors": st.just({"anything": [1, None]}),
    },
)


def _containers(node: Any) -> list[Any]:
    found = [node] if isinstance(node, dict | list) else []
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        found.extend(_containers(child))
    return found


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid manifest, or one with a few random edits (most of which break it)."""
    doc = copy.deepcopy(draw(VALID_MANIFESTS))
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(_containers(doc)))
        if isinstance(target, dict):
            key = draw(st.one_of(JUNK_KEYS, st.sampled_from(sorted(target) or ["title"])))
            if draw(st.booleans()):
                target.pop(key, None)
            else:
                target[key] = draw(JUNK)
        elif target and draw(st.booleans()):
            index = draw(st.integers(0, len(target) - 1))
            if draw(st.booleans()):  # the same item twice (uniqueItems)
                target.append(copy.deepcopy(target[index]))
            else:
                target[index] = draw(JUNK)
        else:
            target.append(draw(JUNK))
    return doc


@settings(max_examples=400, deadline=None)
@given(manifests())
def test_the_fast_check_and_jsonschema_agree_on_validity(doc: dict[str, Any]) -> None:
    check = fast_check()
    assert check is not None
    expected = _validator().is_valid(doc)
    event("valid" if expected else "invalid")
    assert check(doc) is expected


# ---------------------------------------------------------------- the files we ship and test


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.stem for p in DOCUMENTS])
def test_the_fast_check_agrees_on_every_example_and_invalid_case(path: Path) -> None:
    doc, _ = read_document(path)
    if doc is None:  # not YAML at all: never reaches the schema
        return
    values, _ = resolve_vars(doc, {})
    data, _ = substitute_document(doc, values)
    check = fast_check()
    assert check is not None
    assert check(data) is _validator().is_valid(data)


def test_a_valid_manifest_takes_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\nname: web\ntasks:\n  - title: Kick-off\n    tags: [a]\n", encoding="utf-8"
    )
    before = dict(schema_passes)
    manifest = load_manifest(path)
    assert manifest.tasks[0].title == "Kick-off"
    assert schema_passes["fast"] == before.get("fast", 0) + 1
    assert schema_passes["full"] == before.get("full", 0)


def test_an_invalid_manifest_still_gets_jsonschemas_located_messages(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\nname: web\ntasks:\n  - title: T\n    owner: me\n", encoding="utf-8"
    )
    before = schema_passes["full"]
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert schema_passes["full"] == before + 1
    assert [(p.line, p.col, p.message) for p in raised.value.problems] == [
        (5, 5, "unknown field 'owner' in task")
    ]


@pytest.mark.parametrize(
    "schema", [{"format": "date"}, {"oneOf": [True]}, {"$ref": "#/elsewhere"}, {"enum": [[1]]}]
)
def test_a_keyword_the_compiler_does_not_know_is_refused_not_guessed(
    schema: dict[str, Any],
) -> None:
    with pytest.raises(Unsupported):
        compile_schema(schema)


@pytest.mark.parametrize(
    ("schema", "value", "valid"),
    [
        ({"const": 1}, True, False),  # JSON: true is not 1
        ({"const": 1}, 1.0, True),
        ({"type": "integer"}, 2.0, True),  # 2020-12: a whole float is an integer
        ({"type": "integer"}, False, False),
        ({"uniqueItems": True}, [1, True], True),
        ({"uniqueItems": True}, [1, 1.0], False),
        ({"minimum": 1}, "0", True),  # bounds apply to numbers only
    ],
)
def test_json_equality_and_types_as_jsonschema_has_them(
    schema: dict[str, Any], value: Any, valid: bool
) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    assert Draft202012Validator(schema).is_valid(value) is valid
    assert compile_schema(schema)(value) is valid
