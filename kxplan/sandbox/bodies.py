"""Request bodies: JSON, or Rails structured form bodies (`story[title]=x`)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

FORM_TYPE = "application/x-www-form-urlencoded"
_FORM_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body (None when it is empty); ValueError when it is not JSON."""
    if not raw.strip():
        return None
    return json.loads(raw.decode("utf-8"))


def is_form(content_type: str | None) -> bool:
    """Whether a Content-Type header says the body is form-encoded."""
    return (content_type or "").split(";")[0].strip().lower() == FORM_TYPE


def parse_form(raw: bytes) -> dict[str, Any]:
    """A Rails structured form body: `story[title]=x`, `story[checklist][]=a`,
    `stories[][title]=a&stories[][title]=b` (a new object starts when a key repeats).
    Values stay strings, as Rails receives them (docs/sandbox.md, "Fidelity")."""
    body: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
        found = _FORM_KEY.match(key)
        if found is None:
            raise ValueError(f"bad form key {key!r}")
        path = [found.group(1), *re.findall(r"\[([^\[\]]*)\]", found.group(2))]
        _assign(body, path, value)
    return body


def _assign(node: dict[str, Any], path: list[str], value: str) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        node[head] = value
        return
    if rest[0] != "":
        child = node.setdefault(head, {})
        if not isinstance(child, dict):
            raise ValueError(f"form key {head!r} is both a value and an object")
        _assign(child, rest, value)
        return
    items = node.setdefault(head, [])
    if not isinstance(items, list):
        raise ValueError(f"form key {head!r} is both a value and a list")
    if len(rest) == 1:
        items.append(value)
    elif items and isinstance(items[-1], dict) and not _has_path(items[-1], rest[1:]):
        _assign(items[-1], rest[1:], value)
    else:
        items.append({})
        _assign(items[-1], rest[1:], value)


def _has_path(node: dict[str, Any], path: list[str]) -> bool:
    """Rails' `params_hash_has_key?`: a path through `[]` never counts as present."""
    if "" in path:
        return False
    current: Any = node
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    return True
