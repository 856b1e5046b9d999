"""The variables one part of a composed manifest sees. An included file sees only its own
defaults and what its include passes; a for_each copy also sees its item as `${each}`."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from kxplan.jsontypes import JsonValue

_WHOLE = re.compile(r"^\$\{\s*([A-Za-z_]\w*)\s*\}$")


class NoItem(enum.Enum):
    """The `each` of a scope outside any for_each (an item is never empty, but a sentinel
    says so without relying on it)."""

    NO_ITEM = "no for_each item"


NO_ITEM = NoItem.NO_ITEM


@dataclass(frozen=True, slots=True)
class Scope:
    """The variables' text (`values`, what `${name}` becomes), their typed values (`raw`:
    booleans for `when`, lists for `for_each`, text otherwise), and the for_each item."""

    values: Mapping[str, str]
    raw: Mapping[str, JsonValue]
    each: JsonValue | NoItem = NO_ITEM

    def typed(self, name: str) -> JsonValue:
        """The typed value of a variable the scope defines (its text when it has no type)."""
        return self.raw.get(name, self.values[name])


def whole_variable(value: JsonValue) -> str | None:
    """The name when `value` is exactly one `${name}`: for_each, when and include vars then
    take the variable's typed value (a list, a boolean), not its text."""
    if not isinstance(value, str):
        return None
    match = _WHOLE.match(value)
    return match[1] if match else None
