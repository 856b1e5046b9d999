"""The machine plan: `schemas/plan.schema.json`, format_version "1"."""

from __future__ import annotations

import json

from kxplan.plan import Plan


def render_json(plan: Plan) -> str:
    """The plan as JSON text (2-space indent, UTF-8 characters kept, trailing newline)."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n"
