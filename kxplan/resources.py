"""Files shipped with the package (JSON Schemas), found both installed and in a checkout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent


def schema_path(name: str) -> Path:
    """Path of `schemas/<name>`: inside the wheel (kxplan/schemas) or the repository."""
    for candidate in (_HERE / "schemas" / name, _HERE.parent / "schemas" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name} is not installed with kxplan")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed JSON Schema `schemas/<name>`."""
    data: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return data
