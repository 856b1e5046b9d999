"""What the three renderers share: labels, value formatting, the summary sentence."""

from __future__ import annotations

import json
from typing import Any

from kxplan.changes.base import Action, Change, Kind, ReasonCode
from kxplan.changes.codec import values_of
from kxplan.changes.task import ItemSpec, TaskCreate
from kxplan.plan import Plan, SuspectedRename

#: Longest value shown inline; longer text is cut with an ellipsis (the JSON plan has it all).
MAX_VALUE = 80

#: At most this many unmanaged tasks are listed; the rest are counted.
MAX_UNMANAGED = 10

#: Fields of a task create shown in the block (parent_id is an implementation detail).
HIDDEN_CREATE_FIELDS = frozenset({"parent_id", "task_id"})


def value(v: Any) -> str:
    """A value as JSON text (deterministic), cut to MAX_VALUE characters."""
    text = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def label(change: Change) -> str:
    """`task discovery/kickoff`, `status "Doing" of set "Delivery"`, ..."""
    if change.kind is Kind.TASK:
        return f"task {change.path or change.key}"
    if change.kind is Kind.STATUS:
        return f'status "{change.key}" of set "{change.parent}"'
    if change.kind is Kind.STATUS_SET:
        return f'status set "{change.key}"'
    if change.kind is Kind.WORKSPACE:
        own = change.action is Action.CREATE or "status_set" not in change.fields
        return f'workspace "{change.path}"' if own and change.path else "workspace"
    if change.kind is Kind.CHECKLIST_ITEM:
        return f'checklist item "{change.key}" of task {change.parent}'
    if change.kind is Kind.POST:
        return f"post {change.key}"
    return change.path or change.key


def field_lines(change: Change) -> list[tuple[str, str]]:
    """(field, text) pairs for the body of a change block."""
    before, after = values_of(change)
    if change.action in (Action.UPDATE, Action.ADOPT, Action.MOVE, Action.REPLACE):
        names = list(change.fields) or [k for k in after if k != "parent_id"]
        return [(n, f"{value(before.get(n))} -> {value(after.get(n))}") for n in names]
    if change.action is Action.CREATE:
        lines: list[tuple[str, str]] = []
        for name, v in after.items():
            if name in HIDDEN_CREATE_FIELDS or (name in ("parent", "task") and v is None):
                continue
            if name == "checklist" and isinstance(change, TaskCreate):
                lines.extend(_checklist(change.after.get("checklist", [])))
            else:
                lines.append((name, value(v)))
        return lines
    return []


def _checklist(items: list[ItemSpec]) -> list[tuple[str, str]]:
    """One line per item: `[ ] name` / `[x] name`; the field name only on the first."""
    return [
        ("checklist" if i == 0 else "", f"[{'x' if item.get('completed') else ' '}] {item['name']}")
        for i, item in enumerate(items)
    ]


def summary_line(plan: Plan) -> str:
    """`Plan: N to add, N to change, N to move, N to delete.` or the no-change sentence,
    with the managed tasks kept (not in the manifest, no --prune) counted when there are."""
    kept = kept_count(plan)
    if not plan.has_changes:
        if kept:
            return f"No changes. {_tasks(kept)} not in the manifest {_are(kept)} kept {_PRUNE}."
        return "No changes. The workspace matches the manifest."
    s = plan.summary()
    line = (
        f"Plan: {s['create']} to add, {s['update']} to change, {s['move']} to move, "
        f"{s['delete']} to delete."
    )
    if s["adopt"]:
        line += f" {s['adopt']} to adopt."
    created = [c for c in plan.actionable if c.kind is Kind.WORKSPACE and c.action is Action.CREATE]
    if created:
        line += f' Workspace "{created[0].key}" is created first.'
    if kept:
        plural = "s" if kept != 1 else ""
        line += f" {kept} kept: managed task{plural} not in the manifest {_PRUNE}."
    return line


_PRUNE = "(deleted only with --prune)"


def _tasks(n: int) -> str:
    return f"{n} managed task{'s' if n != 1 else ''}"


def _are(n: int) -> str:
    return "are" if n != 1 else "is"


def kept_count(plan: Plan) -> int:
    """Managed tasks the plan keeps: no longer in the manifest, not deleted without --prune."""
    return plan.summary()["keep"]


def targeting_warning(plan: Plan) -> str | None:
    """The warning a targeted plan carries, or None (see `Plan.targeting_warning`)."""
    return plan.targeting_warning()


def header(plan: Plan) -> str:
    """One line naming the stack and the workspace."""
    ws = plan.workspace
    where = f'"{ws.get("title", "")}"' + (f" (#{ws['id']})" if ws.get("id") else "")
    return f'kxplan plan for stack "{plan.stack}" ({plan.manifest}) on workspace {where}'


def split(plan: Plan) -> tuple[list[Change], list[Change], list[Change]]:
    """(changes that make calls, kept/blocked tasks, warnings), each in plan order."""
    calls = [c for c in plan.changes if c.action.makes_calls]
    held = [c for c in plan.changes if c.action in (Action.KEEP, Action.BLOCKED)]
    warns = [c for c in plan.changes if c.action is Action.WARN]
    return calls, held, warns


def is_unmanaged(change: Change) -> bool:
    return change.code is ReasonCode.UNMANAGED


def note_text(change: Change) -> str:
    """A warning / kept / blocked line without its symbol."""
    ident = f" (#{change.id})" if change.id else ""
    if change.kind in (Kind.TASK, Kind.POST):
        return f"{label(change)}{ident} {change.action.value}: {change.reason}"
    return f"{change.path or change.key}{ident}: {change.reason}"


#: The heading over suspected renames.
SUSPECTS_TITLE = "Suspected renames (apply creates none of these until you choose):"


def suspect_lines(s: SuspectedRename) -> tuple[str, list[str]]:
    """(headline, detail lines) of one suspected rename, shared by text and Markdown."""
    head = (
        f'task {s.path} "{s.title}" looks like task {s.old_path} (#{s.id}) '
        f'"{s.old_title}", which the plan {s.old_fate}'
    )
    where = f"the task at {s.location}" if s.location else f"task {s.key}"
    return head, [
        f"to keep that task and its history, add to {where}:",
        f"    {s.line}",
        f"to create a new task instead, apply with --accept-new {s.key}",
    ]
