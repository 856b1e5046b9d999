"""A compiled yes/no answer to "does this data fit the schema?", for valid manifests.

Why: jsonschema's generic validator re-reads the schema and builds a validator object for
every node it descends into; on a 10,000-task manifest that is about 0.6 s, the largest
part of a no-change plan. Most manifests are valid, and a valid one needs no messages.
`compile_schema` turns the same schema, once, into nested plain functions that answer only
yes or no (about 15x faster). `check_schema` asks them first and runs jsonschema, still the
one source of every message, only when the answer is no.

It understands exactly the keywords `schemas/manifest.schema.json` uses; a schema with any
other keyword raises `Unsupported`, and then jsonschema does all the work. When unsure
(`uniqueItems` over mappings or lists) it says no, never yes: a wrong "no" only costs
time. tests/manifest/test_manifest_fastpath.py holds it to jsonschema's answer with Hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeGuard

from kxplan.jsontypes import JsonObject, JsonValue

#: A compiled check: True when the value is valid.
Check = Callable[[JsonValue], bool]
#: What `const` and `enum` may hold here (a list or mapping is `Unsupported`).
Scalar = bool | int | float | str | None

# Keywords that validate nothing (annotations, or handled where they are referenced).
_IGNORED = frozenset(
    {"$schema", "$defs", "$comment", "title", "description", "default", "errorMessage"}
)
_DEF_PREFIX = "#/$defs/"


class Unsupported(ValueError):
    """The schema uses a keyword (or form) this compiler does not implement."""


def compile_schema(schema: Mapping[str, JsonValue]) -> Check:
    """A check equal to JSON Schema 2020-12 validation of `schema` for JSON-like data."""
    defs: dict[str, Check] = {}
    sources = _mapping(schema, "$defs")

    def ref(target: JsonValue) -> Check:
        if not isinstance(target, str) or not target.startswith(_DEF_PREFIX):
            raise Unsupported(f"$ref {target!r}")
        name = target.removeprefix(_DEF_PREFIX)
        if name not in sources:
            raise Unsupported(f"$ref {target!r}")

        def check(value: JsonValue) -> bool:  # looked up when called: definitions may recurse
            return defs[name](value)

        return check

    compiler = _Compiler(ref)
    for name, sub in sources.items():
        defs[name] = compiler.compile(sub)
    return compiler.compile(dict(schema))


# The keyword values a check is built from, of the type the keyword needs (a schema that
# gives another is one this compiler does not understand: jsonschema then decides).


def _mapping(schema: Mapping[str, JsonValue], keyword: str) -> JsonObject:
    value = schema.get(keyword, {})
    if not isinstance(value, dict):
        raise Unsupported(f"{keyword} {value!r}")
    return value


def _list(schema: JsonObject, keyword: str) -> list[JsonValue]:
    value = schema[keyword]
    if not isinstance(value, list):
        raise Unsupported(f"{keyword} {value!r}")
    return value


def _texts(schema: JsonObject, keyword: str) -> tuple[str, ...]:
    value = schema.get(keyword, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unsupported(f"{keyword} {value!r}")
    return tuple(v for v in value if isinstance(v, str))


def _text(schema: JsonObject, keyword: str) -> str:
    value = schema[keyword]
    if not isinstance(value, str):
        raise Unsupported(f"{keyword} {value!r}")
    return value


def _count(schema: JsonObject, keyword: str) -> int:
    value = schema[keyword]
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unsupported(f"{keyword} {value!r}")
    return value


def _bound(schema: JsonObject, keyword: str) -> int | float:
    value = schema[keyword]
    if not _is_number(value):
        raise Unsupported(f"{keyword} {value!r}")
    return value


def _is_number(value: JsonValue) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: JsonValue) -> bool:  # 2020-12: 2.0 is an integer
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _same(a: JsonValue, b: Scalar) -> bool:
    """JSON equality of scalars: true is not 1, but 1.0 is 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and a == b


def _scalar(value: JsonValue) -> Scalar:
    if isinstance(value, list | dict):
        raise Unsupported("const/enum of a list or mapping")
    return value


def _unique(items: list[JsonValue]) -> bool:
    """No two items equal; False (unsure) when an item is a list or mapping."""
    if any(isinstance(item, list | dict) for item in items):
        return False
    # bool apart from numbers (true is not 1); 1 and 1.0 hash alike, as JSON wants.
    seen = {(isinstance(item, bool), item) for item in items}
    return len(seen) == len(items)


def _always(value: JsonValue) -> bool:
    return True


def _never(value: JsonValue) -> bool:
    return False


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def check(value: JsonValue) -> bool:
        for one in checks:  # noqa: SIM110 - all() over a generator costs more, per node
            if not one(value):
                return False
        return True

    return check


class _Compiler:
    def __init__(self, ref: Callable[[JsonValue], Check]) -> None:
        self.ref = ref

    def compile(self, schema: JsonValue) -> Check:
        """The check of one (sub)schema: all its keywords' checks, in the schema's order."""
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        unknown = set(schema) - _IGNORED - _KEYWORDS
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        if schema.get("type") == "string" and set(schema) - _IGNORED <= _STRING_KEYWORDS:
            return self._string(schema)
        checks = [self._type(schema["type"])] if "type" in schema else []
        checks.extend(self._scalars(schema))
        if "items" in schema:
            checks.append(self._items(self.compile(schema["items"])))
        checks.extend(self._arrays(schema))
        if _OBJECT_KEYWORDS & set(schema):
            checks.append(self._object(schema))
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "if" in schema:
            checks.append(self._condition(schema))
        return _all(checks)

    @staticmethod
    def _string(schema: JsonObject) -> Check:
        """`type: string` with only length and pattern keywords (most of the manifest's
        leaves: keys, titles, dates): one check instead of one for each keyword."""
        search = re.compile(_text(schema, "pattern")).search if "pattern" in schema else None
        most = _count(schema, "maxLength") if "maxLength" in schema else None
        least = _count(schema, "minLength") if "minLength" in schema else None

        def check(value: JsonValue) -> bool:
            if not isinstance(value, str):
                return False
            if most is not None and len(value) > most:
                return False
            if least is not None and len(value) < least:
                return False
            return search is None or search(value) is not None

        return check

    def _condition(self, schema: JsonObject) -> Check:
        """`if`/`then`/`else`: a missing branch accepts everything."""
        test = self.compile(schema["if"])
        then = self._optional(schema, "then") or _always
        other = self._optional(schema, "else") or _always
        return lambda v: then(v) if test(v) else other(v)

    @staticmethod
    def _type(names: JsonValue) -> Check:
        wanted = [names] if isinstance(names, str) else names
        if not isinstance(wanted, list) or not all(n in _TYPES for n in wanted):
            raise Unsupported(f"type {names!r}")
        tests = tuple(_TYPES[n] for n in wanted if isinstance(n, str))
        if len(tests) == 1:  # the usual case: no any() over a generator for every node
            return tests[0]

        def check(value: JsonValue) -> bool:
            for test in tests:  # noqa: SIM110 - any() over a generator costs more, per node
                if test(value):
                    return True
            return False

        return check

    @staticmethod
    def _scalars(schema: JsonObject) -> list[Check]:
        checks: list[Check] = []
        if "const" in schema:
            const = _scalar(schema["const"])
            checks.append(lambda v: _same(v, const))
        if "enum" in schema:
            choices = tuple(_scalar(c) for c in _list(schema, "enum"))
            if all(isinstance(c, str) for c in choices):
                words = frozenset(c for c in choices if isinstance(c, str))
                checks.append(lambda v: isinstance(v, str) and v in words)
            else:
                checks.append(lambda v: any(_same(v, c) for c in choices))
        if "pattern" in schema:
            search = re.compile(_text(schema, "pattern")).search
            checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
        if "maxLength" in schema:
            most = _count(schema, "maxLength")
            checks.append(lambda v: not isinstance(v, str) or len(v) <= most)
        if "minLength" in schema:
            least = _count(schema, "minLength")
            checks.append(lambda v: not isinstance(v, str) or len(v) >= least)
        if "minimum" in schema:
            low = _bound(schema, "minimum")
            checks.append(lambda v: not _is_number(v) or v >= low)
        if "maximum" in schema:
            high = _bound(schema, "maximum")
            checks.append(lambda v: not _is_number(v) or v <= high)
        return checks

    @staticmethod
    def _items(item: Check) -> Check:
        def check(value: JsonValue) -> bool:
            if isinstance(value, list):
                for one in value:
                    if not item(one):
                        return False
            return True

        return check

    @staticmethod
    def _arrays(schema: JsonObject) -> list[Check]:
        checks: list[Check] = []
        if "minItems" in schema:
            least = _count(schema, "minItems")
            checks.append(lambda v: not isinstance(v, list) or len(v) >= least)
        if schema.get("uniqueItems") is True:
            checks.append(lambda v: not isinstance(v, list) or _unique(v))
        return checks

    def _optional(self, schema: JsonObject, keyword: str) -> Check | None:
        return self.compile(schema[keyword]) if keyword in schema else None

    @staticmethod
    def _listed(required: tuple[str, ...], props: dict[str, Check], extra: Check | None) -> Check:
        """An object check without patternProperties or propertyNames."""

        def check(value: JsonValue) -> bool:
            if not isinstance(value, dict):
                return True
            for name in required:
                if name not in value:
                    return False
            for name, sub in value.items():
                known = props.get(name)
                if known is None:
                    if extra is not None and not extra(sub):
                        return False
                elif not known(sub):
                    return False
            return True

        return check

    def _object(self, schema: JsonObject) -> Check:
        required = _texts(schema, "required")
        props = {name: self.compile(sub) for name, sub in _mapping(schema, "properties").items()}
        patterns = tuple(
            (re.compile(p).search, self.compile(sub))
            for p, sub in _mapping(schema, "patternProperties").items()
        )
        extra = self._optional(schema, "additionalProperties")
        names = self._optional(schema, "propertyNames")
        if not patterns and names is None:  # tasks, checklist items: listed properties only
            return self._listed(required, props, extra)

        def check(value: JsonValue) -> bool:
            if not isinstance(value, dict):
                return True
            for name in required:
                if name not in value:
                    return False
            for name, sub in value.items():
                if names is not None and not names(name):
                    return False
                known = props.get(name)
                if known is not None and not known(sub):
                    return False
                matched = known is not None
                for search, pattern_check in patterns:
                    if search(name):
                        matched = True
                        if not pattern_check(sub):
                            return False
                if not matched and extra is not None and not extra(sub):
                    return False
            return True

        return check


_OBJECT_KEYWORDS = frozenset(
    {"required", "properties", "patternProperties", "additionalProperties", "propertyNames"}
)
_STRING_KEYWORDS = frozenset({"type", "pattern", "maxLength", "minLength"})
_KEYWORDS = frozenset(
    {"type", "const", "enum", "pattern", "maxLength", "minLength", "minimum", "maximum"}
    | {"items", "minItems", "uniqueItems", "$ref", "if", "then", "else"}
    | _OBJECT_KEYWORDS
)
