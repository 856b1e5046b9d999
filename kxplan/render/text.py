"""The human plan: Terraform-like blocks, warnings, then the summary line."""

from __future__ import annotations

from kxplan.changes.base import Action, Change
from kxplan.plan import Plan
from kxplan.render.common import (
    MAX_UNMANAGED,
    SUSPECTS_TITLE,
    field_lines,
    header,
    is_unmanaged,
    label,
    note_text,
    split,
    summary_line,
    suspect_lines,
    targeting_warning,
)

_COLOURS = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.MOVE: "36",
    Action.DELETE: "31",
    Action.REPLACE: "35",
    Action.ADOPT: "34",
    Action.KEEP: "33",
    Action.BLOCKED: "33",
    Action.WARN: "33",
}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def render_text(plan: Plan, color: bool = False) -> str:
    """The plan for a terminal (`color` adds ANSI colours; the CLI decides, NO_COLOR wins)."""
    calls, held, warns = split(plan)
    lines = [_paint(header(plan), "1", color), ""]
    partial = targeting_warning(plan)
    if partial:
        lines += [_paint("Warning: " + partial, _COLOURS[Action.WARN], color), ""]
    for shared in plan.shared_sets:
        lines += [_paint("Warning: " + shared.warning(), _COLOURS[Action.WARN], color), ""]
    for change in calls:
        lines.extend(_block(change, color))
    lines.extend(_suspects(plan, color))
    if held or warns:
        lines.append(_paint("Not changed:", "1", color) if held else "")
        lines.extend(_note(c, color) for c in held)
        lines.extend(_warnings(warns, color))
        lines.append("")
    lines.append(_paint(summary_line(plan), "1", color))
    return "\n".join(line for line in _squeeze(lines)) + "\n"


def _block(change: Change, color: bool) -> list[str]:
    symbol = _paint(change.action.symbol, _COLOURS[change.action], color)
    ident = f"  (#{change.id})" if change.id else ""
    verb = "" if change.action in (Action.CREATE, Action.UPDATE) else f"  {change.action.value}"
    lines = [f"  {symbol} {label(change)}{ident}{verb}"]
    pairs = field_lines(change)
    width = max((len(name) for name, _ in pairs), default=0)
    lines.extend(f"      {name.ljust(width)}  {text}" for name, text in pairs)
    if change.reason:
        lines.append(f"      # {change.reason}")
    lines.append("")
    return lines


def _suspects(plan: Plan, color: bool) -> list[str]:
    if not plan.suspected_renames:
        return []
    lines = [_paint(SUSPECTS_TITLE, "1", color)]
    for s in plan.suspected_renames:
        head, details = suspect_lines(s)
        lines.append(f"  {_paint('!', '33', color)} {head}")
        lines.extend(f"      {d}" for d in details)
    return [*lines, ""]


def _note(change: Change, color: bool) -> str:
    return f"  {_paint(change.action.symbol, _COLOURS[change.action], color)} {note_text(change)}"


def _warnings(warns: list[Change], color: bool) -> list[str]:
    if not warns:
        return []
    unmanaged = [c for c in warns if is_unmanaged(c)]
    lines = ["", _paint("Warnings:", "1", color)]
    lines.extend(_note(c, color) for c in warns if not is_unmanaged(c))
    lines.extend(_note(c, color) for c in unmanaged[:MAX_UNMANAGED])
    if len(unmanaged) > MAX_UNMANAGED:
        lines.append(f"    ... and {len(unmanaged) - MAX_UNMANAGED} more unmanaged tasks")
    return lines


def _squeeze(lines: list[str]) -> list[str]:
    """No two blank lines in a row."""
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return out
