"""The type of JSON-shaped data: what a YAML manifest, a JSON Schema or a saved plan holds
once parsed (mappings with string keys, lists, and scalars).

    JsonValue = bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None

Use it where a value came from (or goes to) JSON or YAML, and narrow it with `isinstance`
before reading it: mypy then checks each branch, where `Any` would check nothing.
"""

from __future__ import annotations

from typing import TypeAlias

#: A parsed JSON (or plain YAML) value.
JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
#: A parsed JSON object (a YAML mapping).
JsonObject: TypeAlias = dict[str, JsonValue]
