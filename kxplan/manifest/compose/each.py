"""`${each}` and `${each.field}`: text that reads the current for_each item.

The item's values are handed to the ordinary substitution under names a manifest cannot
write (`each__field`), so `${each.start + 1w}` gets the same date arithmetic as any
variable, and an unknown field gets its own problem.
"""

from __future__ import annotations

import difflib
import re

from kxplan.jsontypes import JsonObject, JsonValue
from kxplan.manifest.compose.scope import NO_ITEM, NoItem, Scope
from kxplan.manifest.compose.wording import shown
from kxplan.manifest.vars import VarError, substitute, var_text

_EACH_FIELD = re.compile(r"\$\{(\s*)each\.([A-Za-z_]\w*)")
_EACH_PLAIN = re.compile(r"\$\{\s*each\s*(?=[}+-])")


def substitute_each(text: str, scope: Scope) -> str:
    """`text` with `${each}`, `${each.field}` and the scope's variables substituted."""
    values = scope.values
    if "each" in text and (_EACH_FIELD.search(text) or _EACH_PLAIN.search(text)):
        values = {**scope.values, **_each_values(text, scope.each)}
        text = _EACH_FIELD.sub(lambda m: "${" + m[1] + "each__" + m[2], text)
    return substitute(text, values)


def _each_values(text: str, each: JsonValue | NoItem) -> dict[str, str]:
    """The values `text` reads from the item; VarError when it reads what is not there."""
    if each is NO_ITEM:
        raise VarError(
            "undefined variable 'each'",
            "${each} is only defined in a task with for_each (and in its subtasks)",
        )
    fields = [m[2] for m in _EACH_FIELD.finditer(text)]
    if not isinstance(each, dict):
        if fields:
            raise VarError(
                f"${{each.{fields[0]}}} needs mapping items, but this for_each item is "
                f"{shown(each)}",
                "use ${each} for plain items, or make the items mappings: [{name: A}, {name: B}]",
            )
        return {"each": var_text(each)}
    if _EACH_PLAIN.search(text):
        raise VarError(
            "this for_each item is a mapping: ${each} needs a field",
            "write ${each.FIELD}; its fields: " + ", ".join(map(str, each)),
        )
    return {f"each__{name}": _field(each, name) for name in fields}


def _field(each: JsonObject, name: str) -> str:
    if name not in each:
        close = difflib.get_close_matches(name, [str(k) for k in each], n=1)
        raise VarError(
            f"this for_each item has no field '{name}' (its fields: {', '.join(map(str, each))})",
            f"did you mean 'each.{close[0]}'?" if close else None,
        )
    return var_text(each[name])
