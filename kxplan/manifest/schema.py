"""Structure checks: `schemas/manifest.schema.json` (JSON Schema 2020-12) is the one
validation mechanism for the manifest's shape. This module runs it and turns each
jsonschema error into a `Problem` at the offending node, in plain words.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter, deque
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # jsonschema ships no type stubs and the project adds no stub dependency for it.
    from jsonschema.exceptions import (  # type: ignore[import-untyped]
        ValidationError as SchemaError,
    )

from kxplan.errors import Problem
from kxplan.jsontypes import JsonObject, JsonValue
from kxplan.manifest.fastcheck import Check, Unsupported, compile_schema
from kxplan.manifest.yaml_loader import Document, YamlPath, at
from kxplan.resources import load_schema

SCHEMA_NAME = "manifest.schema.json"

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}


# Keys that may sit next to a `$ref` without changing what it validates.
_ANNOTATIONS = frozenset({"$ref", "description", "title", "default"})


#: How often `check_schema` answered from the compiled check ("fast") or ran jsonschema
#: ("full"): lets tests see that valid manifests take the fast path.
schema_passes: Counter[str] = Counter()


@cache
def _validator() -> Any:
    """jsonschema's validator, imported only when a manifest fails the fast check: importing
    jsonschema is about a third of `kxplan validate`'s start-up (docs/client.md, "Start-up
    and CPU")."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(inline_refs(load_schema(SCHEMA_NAME)))


@cache
def fast_check() -> Check | None:
    """The compiled yes/no check of the manifest schema (None if the schema outgrew it)."""
    try:
        return compile_schema(load_schema(SCHEMA_NAME))
    except Unsupported:
        return None


def inline_refs(schema: JsonObject, unroll: int = 6) -> JsonObject:
    """`schema` with each local `{"$ref": "#/$defs/NAME"}` replaced by the definition.

    Same meaning, about 40 % faster to validate: resolving a `$ref` for every task costs
    more than checking the task. A recursive definition (tasks in `children`) is unrolled
    `unroll` times, deeper than any valid manifest, then left as a `$ref`.
    """
    found = schema.get("$defs")
    defs = found if isinstance(found, dict) else {}

    def visit(node: JsonValue, seen: tuple[str, ...]) -> JsonValue:
        if isinstance(node, list):
            return [visit(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and set(node) <= _ANNOTATIONS:
            name = ref.removeprefix("#/$defs/")
            definition = defs.get(name)
            if isinstance(definition, dict) and seen.count(name) < unroll:
                notes = {k: v for k, v in node.items() if k != "$ref"}
                return visit({**definition, **notes}, (*seen, name))
        return {k: v if k == "$defs" else visit(v, seen) for k, v in node.items()}

    inlined = visit(schema, ())
    return inlined if isinstance(inlined, dict) else schema  # a mapping stays a mapping


def check_schema(doc: Document) -> list[Problem]:
    """Every structural problem of `doc`, each at its node."""
    fast = fast_check()
    if fast is not None and fast(doc.data):  # valid: nothing for jsonschema to word
        schema_passes["fast"] += 1
        return []
    schema_passes["full"] += 1
    problems: list[Problem] = []
    for error in _validator().iter_errors(doc.data):
        problems.extend(_problems(error, doc))
    return problems


def _problems(error: SchemaError, doc: Document) -> Iterator[Problem]:
    path: YamlPath = tuple(error.absolute_path)
    kind = error.validator
    if kind in ("oneOf", "anyOf"):
        yield from _alternatives(error, doc, path)
    elif kind == "additionalProperties":
        yield from _unknown_fields(error, doc, path)
    elif "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad mapping key as the key itself at the mapping's path.
        text = error.schema.get("errorMessage", error.message)
        yield at(doc.key_loc((*path, str(error.instance))), f"'{error.instance}': {text}")
    elif kind == "required":  # point at the key that holds the incomplete mapping
        yield at(doc.key_loc(path), _message(error, path))
    else:
        yield doc.problem(path, _message(error, path), _hint(error))


def _unknown_fields(error: SchemaError, doc: Document, path: YamlPath) -> Iterator[Problem]:
    schema = error.schema
    known = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    for name in error.instance:
        if name in known or any(re.search(p, name) for p in patterns):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(known)
        where = _what(path)
        message = f"unknown field '{name}'" + (f" in {where}" if where else "")
        yield at(doc.key_loc((*path, name)), message, hint)


def _alternatives(error: SchemaError, doc: Document, path: YamlPath) -> Iterator[Problem]:
    """For `oneOf`, report the errors of the branch whose type fits the value, if one does."""
    branches: dict[int, list[SchemaError]] = {}
    for sub in error.context or ():
        branches.setdefault(int(sub.schema_path[0]), []).append(sub)
    fitting = [
        errs
        for errs in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errs)
    ]
    if len(fitting) == 1:
        for sub in fitting[0]:
            yield from _problems(sub, doc)
        return
    text = error.schema.get("errorMessage") or error.message
    yield doc.problem(path, f"{_what(path) or 'value'} {text}")


def _message(error: SchemaError, path: YamlPath) -> str:
    what = _what(path) or "the manifest"
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [name for name in value if name not in instance]
        return f"{what} is missing the required field '{missing[0]}'"
    if kind == "type":
        wanted = value if isinstance(value, list) else [value]
        words = " or ".join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted if w != "null")
        return f"{what} must be {words}, not {_type_of(instance)}"
    if kind == "enum":
        return f"{what}: '{instance}' is not one of: {', '.join(map(str, value))}"
    if kind == "const":
        return f"{what} must be {value!r}, not {instance!r}"
    if kind == "pattern":
        return f"{what} {error.schema.get('errorMessage', 'does not match ' + str(value))}"
    return _size_message(what, error) or f"{what}: {error.message}"


def _hint(error: SchemaError) -> str | None:
    if error.validator == "enum":
        choices = [str(c) for c in error.validator_value]
        close = difflib.get_close_matches(str(error.instance), choices, n=1)
        return f"did you mean '{close[0]}'?" if close else None
    if error.validator == "type" and isinstance(error.instance, int | float):
        wanted = error.validator_value
        if "string" in (wanted if isinstance(wanted, list) else [wanted]):
            return 'put it in quotes to make it text, e.g. "2027" or "yes"'
    yes_no = str(error.instance).casefold() in ("yes", "no", "on", "off", "y", "n")
    if error.validator == "type" and error.validator_value == "boolean" and yes_no:
        return "write true or false: kxplan reads YAML 1.2, where yes, no, on and off are text"
    if error.validator == "pattern" and isinstance(error.instance, str):
        # After substitution (for_each, vars) the value is not what the file shows: say it.
        lower = error.instance.lower()
        fits = lower != error.instance and re.search(str(error.validator_value), lower)
        return f"here it is {error.instance!r}" + (f"; did you mean {lower!r}?" if fits else "")
    if error.validator == "const" and error.absolute_path == deque(["version"]):
        return "this kxplan reads manifest version 1"
    if error.validator == "minItems" and error.absolute_path == deque(["workspaces"]):
        return (
            "add one entry per workspace, `- workspace: TITLE_OR_ID` with its vars, "
            "or write workspace: for a single workspace"
        )
    return None


def _size_message(what: str, error: SchemaError) -> str | None:
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "maxLength":
        return f"{what} is {len(instance)} characters long; at most {value} are allowed"
    if kind == "minLength":
        return f"{what} must not be empty"
    if kind in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        return f"{what} must be {bounds}, not {instance}"
    if kind == "minItems":
        return f"{what} needs at least {value} item{'s' if value != 1 else ''}"
    if kind == "uniqueItems":
        return f"{what} lists the same value twice"
    return None


def _type_of(instance: JsonValue) -> str:
    if instance is None:
        return "empty"
    if isinstance(instance, bool):
        return "a boolean"
    names = {int: "an integer", float: "a number", str: "a string", list: "a list"}
    return names.get(type(instance), "a mapping")


def _what(path: YamlPath) -> str:
    """A readable name for the value at `path`: `title`, `tags item`, `tasks item`."""
    if not path:
        return ""
    last = path[-1]
    if isinstance(last, int):
        parent = path[-2] if len(path) > 1 else ""
        return _ITEM_WORDS.get(str(parent), f"{parent} item")
    if len(path) == 3 and path[0] == "posts":
        return f"post {last}"
    return str(last)


_ITEM_WORDS = {
    "tasks": "task",
    "children": "task",
    "statuses": "status",
    "checklist": "checklist item",
    "tags": "tag",
    "renamed_from": "renamed_from item",
    "posts": "post",
}
