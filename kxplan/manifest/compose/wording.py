"""How composition problems describe a value and suggest a declaration: one wording for
for_each, when and include, so the same mistake reads the same wherever it is made."""

from __future__ import annotations

from kxplan.jsontypes import JsonValue
from kxplan.manifest.vars import var_text

#: A variable name that breaks the rule (`vars:` of an included file or of an include).
BAD_NAME = "'{name}': a variable name is letters, digits and '_', not starting with a digit"


def shown(value: JsonValue) -> str:
    """`value` as a problem names it: "empty", "a list", "the number 3", "the text 'x'"."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {var_text(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the text '{value}'"


def declare_hint(name: str) -> str:
    """What to do about an undefined variable: the three places a value can come from."""
    return f"declare it under vars: (or pass it in the include's vars:, or --var {name}=VALUE)"
