"""Variables: `${name}` substitution and date arithmetic.

    vars:
      kickoff: 2027-01-04
    ...
    start_date: ${kickoff}            # 2027-01-04
    due_date: ${kickoff + 2w - 1bd}   # terms apply left to right

Units: `d` days, `w` weeks, `bd` business days (Monday–Friday), `m` calendar months
(clamped to the month's end: 2027-01-31 + 1m = 2027-02-28). `$${` writes a literal `${`.
Values are strings; arithmetic needs a value that is an ISO date (YYYY-MM-DD).
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from collections.abc import Mapping

from kxplan.errors import Problem
from kxplan.jsontypes import JsonValue
from kxplan.manifest.yaml_loader import Document, YamlPath

#: What a variable name looks like (also in the JSON Schema).
VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

_TOKEN = re.compile(r"\$\$\{|\$\{(?P<body>[^{}]*)\}|\$\{")
_EXPR = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*(?P<terms>(?:[+-]\s*\d+\s*[a-z]+\s*)*)")
_TERM = re.compile(r"([+-])\s*(\d+)\s*([a-z]+)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNITS = ("d", "w", "bd", "m")


class VarError(ValueError):
    """A variable expression that cannot be evaluated; `hint` says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_date(text: str) -> dt.date | None:
    """The date `text` denotes (strictly YYYY-MM-DD), or None."""
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole calendar months, clamped to the last day of the month."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def add_business_days(day: dt.date, count: int) -> dt.date:
    """`day` moved by `count` weekdays (Monday–Friday); weekends are skipped, not counted.

    From a weekend day, +1bd is the next Monday and -1bd the previous Friday; 0bd is `day`.
    """
    step = dt.timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    while remaining and day.weekday() >= 5:  # leave a weekend start first
        day += step
        remaining -= day.weekday() < 5
    weeks, remaining = divmod(remaining, 5)
    day += step * 7 * weeks  # from a weekday, 5 business days are exactly one week
    while remaining:
        day += step
        remaining -= day.weekday() < 5
    return day


def shift(day: dt.date, amount: int, unit: str) -> dt.date:
    """`day` moved by `amount` of `unit` (one of UNITS)."""
    if unit == "d":
        return day + dt.timedelta(days=amount)
    if unit == "w":
        return day + dt.timedelta(weeks=amount)
    if unit == "bd":
        return add_business_days(day, amount)
    if unit == "m":
        return add_months(day, amount)
    raise VarError(
        f"unknown unit '{unit}'", "units: d = days, w = weeks, bd = business days, m = months"
    )


def evaluate(body: str, values: Mapping[str, str]) -> str:
    """The value of one `${...}` expression (the text between the braces)."""
    match = _EXPR.fullmatch(body)
    if not match:
        raise VarError(
            f"cannot read the expression '${{{body}}}'",
            "write ${name}, or date arithmetic like ${name + 10d}; units: d, w, bd, m",
        )
    name = match["name"]
    if name not in values:
        raise VarError(f"undefined variable '{name}'", _undefined_hint(name, values))
    value = values[name]
    terms = _TERM.findall(match["terms"])
    if not terms:
        return value
    return _arithmetic(name, value, terms)


def _arithmetic(name: str, value: str, terms: list[tuple[str, str, str]]) -> str:
    day = parse_date(value)
    if day is None:
        raise VarError(
            f"date arithmetic on '{name}', whose value '{value}' is not a date",
            "only YYYY-MM-DD values take + or -, such as kickoff: 2027-01-04",
        )
    for sign, amount, unit in terms:
        if unit not in UNITS:
            raise VarError(f"unknown unit '{unit}' in date arithmetic", _unit_hint(unit))
        try:
            day = shift(day, int(amount) * (-1 if sign == "-" else 1), unit)
        except (OverflowError, ValueError):
            raise VarError(f"date arithmetic on '{name}' leaves the calendar") from None
    return day.isoformat()


def _unit_hint(unit: str) -> str:
    close = difflib.get_close_matches(unit, UNITS, n=1)
    prefix = f"did you mean '{close[0]}'? " if close else ""
    return prefix + "units: d = days, w = weeks, bd = business days, m = months"


def _undefined_hint(name: str, values: Mapping[str, str]) -> str:
    if name == "each":
        return "${each} is only defined in a task with for_each (and in its subtasks)"
    close = difflib.get_close_matches(name, list(values), n=1)
    prefix = f"did you mean '{close[0]}'? " if close else ""
    return prefix + f"declare it under vars: or pass --var {name}=VALUE"


def substitute(text: str, values: Mapping[str, str]) -> str:
    """`text` with every `${...}` replaced; raises VarError on the first bad expression."""
    if "${" not in text:
        return text
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token == "$${":
            out.append("${")
        elif match["body"] is not None:
            out.append(evaluate(match["body"], values))
        else:
            raise VarError("'${' is not closed by '}'", "write ${name}, or $${ for a literal ${")
    out.append(text[pos:])
    return "".join(out)


def var_text(value: object) -> str:
    """The string form of a `vars:` value (YAML booleans stay lowercase)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_vars(
    doc: Document, overrides: Mapping[str, str]
) -> tuple[dict[str, str], list[Problem]]:
    """The manifest's variables after `--var` overrides, in declaration order.

    A declared value may use variables declared above it; an override is taken literally.
    Overrides for names the manifest does not declare are added (see `unknown_overrides`).
    """
    declared = doc.data.get("vars") if isinstance(doc.data, dict) else None
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for name, raw in (declared or {}).items() if isinstance(declared, dict) else ():
        if name in overrides:
            values[name] = overrides[name]
            continue
        try:
            values[name] = substitute(var_text(raw), values)
        except VarError as err:
            problems.append(doc.problem(("vars", name), err.message, err.hint))
    values.update((k, v) for k, v in overrides.items() if k not in values)
    return values, problems


def substitute_document(
    doc: Document, values: Mapping[str, str]
) -> tuple[JsonValue, list[Problem]]:
    """`doc.data` with `${...}` replaced in every string outside `vars:`.

    Returns the new data and one problem per string that could not be substituted (at
    that string; the string is kept as written).
    """
    if doc.no_substitution:  # most manifests: no string to visit holds `${`
        return doc.data, []
    problems: list[Problem] = []

    def visit(value: JsonValue, path: YamlPath) -> JsonValue:
        if isinstance(value, dict):
            return {
                k: (v if (*path, k) == ("vars",) else visit(v, (*path, k)))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [visit(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value
        try:
            new = substitute(value, values)
        except VarError as err:
            problems.append(doc.problem(path, err.message, err.hint))
            return value
        return new

    return visit(doc.data, ()), problems


def typed_vars(doc: Document, overrides: Mapping[str, str]) -> dict[str, JsonValue]:
    """The variables whose type matters beyond their text: booleans (for `when`) and
    lists (for `for_each`), as declared; an override is text and replaces them."""
    data: JsonValue = doc.data
    declared = data.get("vars") if isinstance(data, dict) else None
    typed: dict[str, JsonValue] = {
        name: value
        for name, value in (declared.items() if isinstance(declared, dict) else ())
        if isinstance(value, bool | list) and name not in overrides
    }
    return typed


_USE = re.compile(r"(?<!\$)\$\{\s*([A-Za-z_]\w*)")


def names_used(value: JsonValue, path: YamlPath = ()) -> dict[str, YamlPath]:
    """The variables `${...}` in the strings of `value` use (not `each`), each with the
    path of its first use."""
    used: dict[str, YamlPath] = {}
    stack: list[tuple[JsonValue, YamlPath]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, (*where, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in reversed(list(enumerate(node))))
        elif isinstance(node, str) and "${" in node:
            for name in _USE.findall(node):
                if name != "each":
                    used.setdefault(name, where)
    return used
