"""`for_each`: the items a list (or a list variable) gives, and one copy of the task per
item, each copy a source of its own so a problem names the item it is in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kxplan.jsontypes import JsonValue
from kxplan.manifest.compose.record import Record, Spot
from kxplan.manifest.compose.scope import Scope, whole_variable
from kxplan.manifest.compose.wording import declare_hint, shown
from kxplan.manifest.vars import var_text
from kxplan.manifest.yaml_loader import Source


def for_each_items(
    record: Record, spot: Spot, value: JsonValue, scope: Scope
) -> list[JsonValue] | None:
    """The items of the `for_each` at `spot`, or None (its problems are recorded)."""
    name = whole_variable(value)
    if name is not None:
        items = _variable_items(record, spot, name, scope)
    elif isinstance(value, list):
        items = _written_items(record, spot, value, scope)
    else:
        record.problem(
            spot,
            f"for_each needs a list, not {shown(value)}",
            "write a list such as [1, 2, 3], or a list variable such as ${sprints}",
        )
        return None
    if items is None:
        return None
    return items if _items_ok(record, spot, items, isinstance(value, list)) else None


def _variable_items(record: Record, spot: Spot, name: str, scope: Scope) -> list[JsonValue] | None:
    """`for_each: ${name}`: the list the variable was declared as."""
    if name not in scope.values:
        record.problem(spot, f"for_each: undefined variable '{name}'", declare_hint(name))
        return None
    items = scope.raw.get(name)
    if not isinstance(items, list):
        record.problem(
            spot,
            f"for_each needs a list, but variable '{name}' is {shown(scope.typed(name))}",
            f"declare it as a list, e.g. {name}: [1, 2, 3]",
        )
        return None
    return items


def _written_items(
    record: Record, spot: Spot, value: list[JsonValue], scope: Scope
) -> list[JsonValue]:
    """A list written in place: its text items substituted, then the fields of its
    mapping items (so every problem is at the item or field that causes it)."""
    texts = [record.text(spot.at(i), v, scope) for i, v in enumerate(value)]
    return [_fields(record, spot.at(i), v, scope) for i, v in enumerate(texts)]


def _fields(record: Record, spot: Spot, value: JsonValue, scope: Scope) -> JsonValue:
    if not isinstance(value, dict):
        return value
    return {k: record.text(spot.at(k), v, scope) for k, v in value.items()}


def _items_ok(record: Record, spot: Spot, items: list[JsonValue], written: bool) -> bool:
    """Items are values or mappings of values: `${each}` must have text to become."""
    bad = [i for i, v in enumerate(items) if not _item_ok(v)]
    for i in bad:
        record.problem(
            spot.at(i) if written else spot,
            f"for_each item {i + 1} is {shown(items[i])}",
            "items are values (1, Acme) or mappings of values ({name: Acme, weeks: 4})",
        )
    return not bad


def _item_ok(value: JsonValue) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, dict | list) and v is not None for v in value.values())
    return not isinstance(value, list) and value is not None


def copies(spot: Spot, items: Iterable[JsonValue]) -> Iterator[tuple[Source, JsonValue]]:
    """For each item, the source its copy is reported in: the for_each's file, with the
    item (number, and value when plain) and the for_each's place added to the chain."""
    line, col = spot.point()
    src = spot.src
    for n, each in enumerate(items):
        value = "" if isinstance(each, dict) else f" ({var_text(each)})"
        step = f"for_each item {n + 1}{value} at {src.file}:{line}:{col}"
        yield Source(src.file, (step, *src.chain)), each
