"""The per-type part of schemas/plan.schema.json, generated from the change types.

`change_types()` is the JSON Schema of every (kind, action) in codec.REGISTRY: what its
`before` and `after` hold (from the TypedDicts of kxplan.changes), and that `fields` is
empty for a type that has none; `reason_codes()` the values of `code`. The schema file
holds them as `$defs.change_types` and `$defs.change.properties.code`; a test checks they
are what the types say. After changing a type: `python -m kxplan.changes.schema` rewrites
them in place.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

from kxplan.changes.base import Change, ReasonCode
from kxplan.changes.codec import CHANGE_TYPES

Schema = dict[str, object]

_SCALARS: Mapping[object, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def reason_codes() -> Schema:
    return {"enum": [c.value for c in ReasonCode]}


def change_types() -> Schema:
    return {
        "description": "generated from kxplan/changes (python -m kxplan.changes.schema): "
        "what each (kind, action) carries",
        "oneOf": [_change_type(t) for t in CHANGE_TYPES],
    }


def _change_type(cls: type[Change]) -> Schema:
    hints = get_type_hints(cls)
    own = {f.name for f in dataclasses.fields(cls)}
    properties: Schema = {
        "kind": {"const": cls.kind.value},
        "action": {"const": cls.action.value},
    }
    for name in ("before", "after"):
        properties[name] = _json(hints[name]) if name in own else {"type": "null"}
    if "fields" not in own:
        properties["fields"] = {"maxItems": 0}
    if "origin" not in own:
        return {
            "title": cls.__name__,
            "properties": properties,
            "not": {"required": ["origin"]},
        }
    return {"title": cls.__name__, "properties": properties}


def _json(tp: object) -> Schema:
    """The JSON Schema of a value typed `tp` (the types change values use)."""
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union([_json(a) for a in get_args(tp)])
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is list:
        return {"type": "array", "items": _json(get_args(tp)[0])}
    if is_typeddict(tp):
        return _object(typing.cast(type, tp))
    raise TypeError(f"no JSON Schema for {tp!r}: use str, int, bool, None, list or a TypedDict")


def _union(options: list[Schema]) -> Schema:
    names = [o.get("type") for o in options]
    plain = all(o.keys() <= {"type"} for o in options)
    if plain and len(options) == 2 and names.count("null") == 1:
        other = next(n for n in names if n != "null")
        return {"type": [other, "null"]}
    return {"anyOf": options}


def _object(td: type) -> Schema:
    hints = get_type_hints(td)
    required: frozenset[str] = getattr(td, "__required_keys__", frozenset())
    shape: Schema = {
        "type": "object",
        "properties": {name: _json(hints[name]) for name in hints},
        "additionalProperties": False,
    }
    if required:
        shape["required"] = [name for name in hints if name in required]
    return shape


def regenerated(schema: Mapping[str, object]) -> Schema:
    """`schema` with its generated parts made from the types."""
    out = json.loads(json.dumps(schema))
    out["$defs"]["change_types"] = change_types()
    change = out["$defs"]["change"]
    change["properties"]["code"] = reason_codes()
    if _REF not in change.setdefault("allOf", []):
        change["allOf"].append(_REF)
    return typing.cast(Schema, out)


_REF = {"$ref": "#/$defs/change_types"}


def dump(value: object, indent: int = 0) -> str:
    """JSON text as the schema file is written: objects one key a line, lists of plain
    values on one line."""
    pad = "  " * indent
    if isinstance(value, dict) and value:
        items = [f"{pad}  {json.dumps(k)}: {dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [f"{pad}  {dump(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def main() -> int:
    path = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(dump(regenerated(schema)) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
