"""How a request is written: query parameters as Kantata reads them, and JSON bodies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as Kantata reads them: booleans `true`/`false`, lists comma-joined."""
    out: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = str(value)
    return out


def body(
    singular: str, plural: str, data: Mapping[str, Any] | Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """A request body: one object under the singular root key, several under the plural."""
    if isinstance(data, Mapping):
        return {singular: dict(data)}
    return {plural: [dict(d) for d in data]}
