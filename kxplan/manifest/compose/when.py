"""`when`: whether an item exists. It must be a boolean: a boolean variable, a `true` or
`false` written in place, or text that substitutes to one (`${each.enabled}`)."""

from __future__ import annotations

from kxplan.jsontypes import JsonValue
from kxplan.manifest.compose.record import Record, Spot
from kxplan.manifest.compose.scope import Scope, whole_variable
from kxplan.manifest.compose.wording import declare_hint, shown


def when_holds(record: Record, spot: Spot, value: JsonValue, scope: Scope) -> bool:
    """Whether the item with the `when` at `spot` exists; False (and a problem) when the
    `when` is not a boolean, so a mistake never adds a task."""
    evaluated = _evaluate(record, spot, value, scope)
    if evaluated is None:
        return False
    value, described = evaluated
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    record.problem(
        spot,
        f"when needs true or false, but got {described}",
        "write when: ${flag} with a boolean variable, e.g. flag: true",
    )
    return False


def _evaluate(
    record: Record, spot: Spot, value: JsonValue, scope: Scope
) -> tuple[JsonValue, str] | None:
    """The value the `when` stands for and how a problem describes it; None (and a
    problem) when it names an undefined variable."""
    name = whole_variable(value)
    if name is not None and name != "each":
        if name not in scope.values:
            record.problem(spot, f"when: undefined variable '{name}'", declare_hint(name))
            return None
        typed = scope.typed(name)
        return typed, f"variable '{name}', which is {shown(typed)}"
    if isinstance(value, str):
        value = record.text(spot, value, scope)
    return value, shown(value)
