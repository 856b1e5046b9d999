"""The plan as a pull-request comment: summary, a table of changes, notes folded away."""

from __future__ import annotations

from urllib.parse import quote

from kxplan.changes.base import Change
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


def _cell(text: str) -> str:
    """Text safe inside a table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def comment_marker(plan: Plan) -> str:
    """The hidden first line of a Markdown plan: an HTML comment naming the stack and the
    workspace (its id, or its title while it does not exist yet), so that a CI step finds
    the pull-request comment it wrote before and updates it instead of adding another.

    Both values are percent-encoded, so no stack name or title can end the comment early.
    """
    where = plan.workspace.get("id") or plan.workspace.get("title") or ""
    stack, workspace = quote(plan.stack, safe=""), quote(str(where), safe="")
    return f"<!-- kxplan:plan stack={stack} workspace={workspace} -->"


def render_markdown(plan: Plan) -> str:
    """Markdown for a pull-request comment."""
    calls, held, warns = split(plan)
    lines = [
        comment_marker(plan),
        f"#### {_cell(header(plan))}",
        "",
        f"**{summary_line(plan)}**",
        "",
    ]
    partial = targeting_warning(plan)
    if partial:
        lines += [f"> **Warning:** {partial}", ""]
    for shared in plan.shared_sets:
        lines += [f"> **Warning:** {shared.warning()}", ""]
    if calls:
        lines += ["| | change | object | details |", "|:-:|---|---|---|"]
        lines += [_row(c) for c in calls]
        lines.append("")
    lines += _suspects(plan)
    notes = held + [c for c in warns if not is_unmanaged(c)]
    unmanaged = [c for c in warns if is_unmanaged(c)]
    if notes or unmanaged:
        lines += _notes(notes, unmanaged)
    reads, writes = plan.requests.get("read", 0), plan.requests.get("write", 0)
    lines.append(f"<sub>Estimated requests: {reads} read, {writes} write.</sub>")
    return "\n".join(lines) + "\n"


def _row(change: Change) -> str:
    ident = f" (#{change.id})" if change.id else ""
    details = [f"{name}: {text}" if name else text for name, text in field_lines(change)]
    if change.reason:
        details.append(f"_{change.reason}_")
    return (
        f"| `{change.action.symbol}` | {change.action.value} | {_cell(label(change))}{ident} "
        f"| {_cell('<br>'.join(details))} |"
    )


def _suspects(plan: Plan) -> list[str]:
    """Not folded: apply refuses until each is resolved, so the reviewer must see them."""
    if not plan.suspected_renames:
        return []
    lines = [f"**⚠️ {SUSPECTS_TITLE}**", ""]
    for s in plan.suspected_renames:
        head, _ = suspect_lines(s)
        where = f" at `{s.location}`" if s.location else ""
        lines.append(f"- `!` {_cell(head)}.")
        lines.append(f"  Keep it and its history: add `{s.line}` to the task{where}.")
        lines.append(f"  Or create a new task: apply with `--accept-new {s.key}`.")
    return [*lines, ""]


def _notes(notes: list[Change], unmanaged: list[Change]) -> list[str]:
    n = len(notes) + len(unmanaged)
    lines = ["<details>", f"<summary>{n} note{'s' if n != 1 else ''}</summary>", ""]
    lines += [f"- `{c.action.symbol}` {_cell(note_text(c))}" for c in notes]
    lines += [f"- `!` {_cell(note_text(c))}" for c in unmanaged[:MAX_UNMANAGED]]
    if len(unmanaged) > MAX_UNMANAGED:
        lines.append(f"- ... and {len(unmanaged) - MAX_UNMANAGED} more unmanaged tasks")
    return [*lines, "", "</details>", ""]
