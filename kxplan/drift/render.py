"""`kxplan drift` output: text for terminals, JSON for programs (schemas/drift.schema.json),
Markdown for pull-request comments. Pure: a DriftReport in, text out; same report, same bytes.
"""

from __future__ import annotations

import html
import json
from typing import Any

from kxplan.drift.report import DriftReport, FieldDrift, ItemDrift, TaskDrift, WorkspaceDrift
from kxplan.live import StatusChange
from kxplan.live._history import utc_text
from kxplan.render.common import value

#: The JSON document's version (bumped on incompatible changes).
FORMAT_VERSION = "1"
FORMATS = ("text", "json", "markdown")

ORIGIN_WORDS = {
    "kantata": "changed in Kantata since kxplan wrote it",
    "manifest": "changed in the manifest since the last apply",
    "both": "changed in Kantata and in the manifest",
    "unknown": "kxplan has no memory of writing it",
}
ITEM_WORDS = {
    "added_in_kantata": "added in Kantata",
    "removed_in_kantata": "removed in Kantata (kxplan created it)",
    "added_to_manifest": "added to the manifest, not applied yet",
    "removed_from_manifest": "removed from the manifest (kxplan created it)",
    "not_in_manifest": "in Kantata only; kxplan has no memory of who added it",
    "missing_in_kantata": "in the manifest only; kxplan has no memory of creating it",
    "renamed_in_manifest": "renamed in the manifest (renamed_from)",
}
STATE_WORDS = {
    "missing": "not in Kantata: new in the manifest, not applied yet",
    "deleted": "deleted in Kantata",
    "unmarked": "its kxplan marker is gone: a task with its title path carries none",
    "not_in_manifest": "this stack's task, no longer in the manifest",
}
_ITEM_SIGN = {
    "added_in_kantata": "+",
    "added_to_manifest": "+",
    "not_in_manifest": "+",
    "renamed_in_manifest": "~",
}
_STATE_SIGN = {
    "changed": "~",
    "missing": "?",
    "deleted": "?",
    "unmarked": "?",
    "not_in_manifest": "-",
}


def render_drift(report: DriftReport, fmt: str) -> str:
    """`report` in `fmt` (one of FORMATS)."""
    if fmt == "json":
        return json.dumps(drift_document(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)


# --------------------------------------------------------------------------- shared words


def shown(v: Any) -> str:
    """A value for people: text as it is, anything else as JSON, nothing as "(none)"."""
    if v is None or v == "":
        return "(none)"
    if isinstance(v, str):
        return v
    return value(v)


def history_text(change: StatusChange | None, read: bool) -> str:
    """ ", changed by Jane Doe (#42) on 2026-11-30 14:02 UTC" (or why the history cannot say)."""
    if not read:
        return ""
    if change is None:
        return "; Kantata's story state changes do not say who set it"
    text = f", changed by {change.who()} on {change.when()}"
    if change.match == "category":
        text += f" (Kantata recorded the move to {change.state!r}, not the status)"
    return text


def field_text(task_or_none: TaskDrift | None, f: FieldDrift) -> str:
    """ "status: Done -> Blocked, changed by ... (changed in Kantata since kxplan wrote it)"."""
    text = f"{f.name}: {shown(f.manifest)} -> {shown(f.kantata)}"
    if f.name == "status" and task_or_none is not None:
        text += history_text(task_or_none.status_change, task_or_none.history_read)
    return f"{text}  ({ORIGIN_WORDS.get(f.origin, f.origin)})"


def _object_field(f: FieldDrift) -> str:
    """A status set's or workspace's field: its origin only when a memory tells it."""
    text = f"{f.name}: {shown(f.manifest)} -> {shown(f.kantata)}"
    return text if f.origin == "unknown" else f"{text}  ({ORIGIN_WORDS[f.origin]})"


def item_text(item: ItemDrift) -> str:
    sign = _ITEM_SIGN.get(item.change, "-")
    return f'{sign} checklist item "{item.name}"  ({ITEM_WORDS.get(item.change, item.change)})'


def state_text(t: TaskDrift) -> str:
    """What became of a task that is not there (or not in the manifest)."""
    text = STATE_WORDS[t.state]
    return f"{text} on {utc_text(t.deleted_at)}" if t.deleted_at else text


def workspace_name(w: WorkspaceDrift) -> str:
    title = w.workspace.get("title") or w.entry or "?"
    ident = w.workspace.get("id")
    return f'"{title}" (#{ident})' if ident else f'"{title}"'


def summary_text(w: WorkspaceDrift) -> str:
    """ "Drift: 3 tasks differ: 2 fields changed in Kantata, 1 in the manifest, ..."."""
    if w.error is not None:
        return f"Drift: not compared: {w.error}"
    if not w.drifted:
        return "No drift. Kantata matches the manifest."
    c = w.counts()
    parts = [
        _count(c["changed_in_kantata"], "field changed in Kantata", "fields changed in Kantata"),
        _count(c["changed_in_manifest"], "in the manifest", "in the manifest"),
        _count(c["unknown_origin"], "of unknown origin", "of unknown origin"),
        _count(c["checklist_items"], "checklist item", "checklist items"),
        _count(c["missing_tasks"], "task missing in Kantata", "tasks missing in Kantata"),
        _count(c["not_in_manifest"], "task not in the manifest", "tasks not in the manifest"),
        _count(c["statuses"], "status set change", "status set changes"),
        _count(c["workspace"], "workspace change", "workspace changes"),
    ]
    head = _count(c["tasks"], "task differs", "tasks differ") or "the workspace differs"
    return f"Drift: {head}: " + ", ".join(p for p in parts if p) + "."


def _count(n: int, one: str, many: str) -> str:
    return "" if n == 0 else f"{n} {one if n == 1 else many}"


# --------------------------------------------------------------------------- text


def render_text(report: DriftReport) -> str:
    out: list[str] = []
    for index, w in enumerate(report.workspaces):
        if index:
            out.append("")
        out.extend(_text_workspace(w))
    if report.fleet is not None:
        out += ["", *aggregate_lines(report)]
    return "\n".join(out) + "\n"


def _text_workspace(w: WorkspaceDrift) -> list[str]:
    where = f"Drift of stack {w.stack!r} in workspace {workspace_name(w)}"
    out = [f"{where}; fields read manifest -> Kantata"]
    for t in w.tasks:
        ident = f" (#{t.id})" if t.id else ""
        if t.state != "changed":
            out.append(f"{_STATE_SIGN[t.state]} task {t.path}{ident}: {state_text(t)}")
            continue
        out.append(f"~ task {t.path}{ident}")
        out += [f"    {field_text(t, f)}" for f in t.fields]
        out += [f"    {item_text(i)}" for i in t.items]
    for o in w.objects:
        why = f" ({o.reason})" if o.reason else ""
        out.append(f"! {o.label or o.key}: {o.action}{why}")
        out += [f"    {_object_field(f)}" for f in o.fields]
    out += ["", summary_text(w)]
    return out


def aggregate_lines(report: DriftReport) -> list[str]:
    """The fleet's table: one line per workspace, and the totals."""
    out = [f"Fleet {report.fleet!r}: drift"]
    for w in report.workspaces:
        verdict = "failed" if w.error else ("drifted" if w.drifted else "matches")
        tasks = _count(w.counts()["tasks"], "task differs", "tasks differ")
        out.append(f"  {workspace_name(w)}: {verdict}" + (f" ({tasks})" if tasks else ""))
    s = summary(report)
    out.append(f"{s['drifted']} of {s['workspaces']} workspaces drifted, {s['failed']} failed.")
    return out


# --------------------------------------------------------------------------- json


def summary(report: DriftReport) -> dict[str, int]:
    totals: dict[str, int] = {"workspaces": len(report.workspaces)}
    totals["drifted"] = sum(1 for w in report.workspaces if w.drifted)
    totals["failed"] = len(report.failed)
    for w in report.workspaces:
        for k, n in w.counts().items():
            totals[k] = totals.get(k, 0) + n
    totals["requests"] = sum(w.requests for w in report.workspaces)
    return totals


def drift_document(report: DriftReport) -> dict[str, Any]:
    """The JSON document (schemas/drift.schema.json)."""
    return {
        "format_version": FORMAT_VERSION,
        "fleet": report.fleet,
        "drifted": report.drifted,
        "workspaces": [_json_workspace(w) for w in report.workspaces],
        "summary": summary(report),
    }


def _json_workspace(w: WorkspaceDrift) -> dict[str, Any]:
    return {
        "stack": w.stack,
        "manifest": w.manifest,
        "workspace": {"id": w.workspace.get("id"), "title": w.workspace.get("title")},
        "drifted": w.drifted,
        "error": w.error,
        "tasks": [_json_task(t) for t in w.tasks],
        "objects": [
            {
                "kind": o.kind,
                "key": o.key,
                "label": o.label,
                "action": o.action,
                "reason": o.reason,
                "fields": [_json_field(f) for f in o.fields],
            }
            for o in w.objects
        ],
        "counts": w.counts(),
        "requests": {"read": w.requests, "write": 0},
    }


def _json_field(f: FieldDrift) -> dict[str, Any]:
    return {"name": f.name, "manifest": f.manifest, "kantata": f.kantata, "origin": f.origin}


def _json_task(t: TaskDrift) -> dict[str, Any]:
    return {
        "key": t.key,
        "path": t.path,
        "title": t.title,
        "id": t.id,
        "state": t.state,
        "fields": [_json_field(f) for f in t.fields],
        "items": [{"name": i.name, "change": i.change, "origin": i.origin} for i in t.items],
        "status_change": _json_change(t.status_change) if t.status_change else None,
        "history_read": t.history_read,
        "deleted_at": t.deleted_at,
    }


def _json_change(c: StatusChange) -> dict[str, Any]:
    return {
        "at": c.at,
        "when": c.when(),
        "user_id": c.user_id,
        "user_name": c.user_name,
        "state": c.state,
        "formatted_state": c.formatted_state,
        "match": c.match,
    }


# --------------------------------------------------------------------------- markdown


def md(text: str) -> str:
    """User text safe in a Markdown table cell: no HTML, no table or emphasis breakage."""
    escaped = html.escape(text, quote=False).replace("\\", "\\\\")
    for char in "|*_`[]#":
        escaped = escaped.replace(char, "\\" + char)
    return " ".join(escaped.split())


def _known(origin: str) -> str:
    return "" if origin == "unknown" else ORIGIN_WORDS[origin]


def render_markdown(report: DriftReport) -> str:
    out: list[str] = []
    for w in report.workspaces:
        out += [f"### Drift of `{md(w.stack)}` in {md(workspace_name(w))}", ""]
        table = _md_table(w)
        out += [*table, ""] if table else []
        out += [f"**{md(summary_text(w))}**", ""]
    if report.fleet is not None:
        out += ["### Fleet", "", "| workspace | drift |", "|---|---|"]
        for w in report.workspaces:
            verdict = "failed" if w.error else ("drifted" if w.drifted else "matches")
            out.append(f"| {md(workspace_name(w))} | {verdict} |")
        out.append("")
    return "\n".join(out)


def _md_table(w: WorkspaceDrift) -> list[str]:
    rows: list[tuple[str, str, str, str, str]] = []
    for t in w.tasks:
        if t.state != "changed":
            rows.append((t.path, "(task)", "", "", state_text(t)))
            continue
        for f in t.fields:
            extra = history_text(t.status_change, t.history_read) if f.name == "status" else ""
            rows.append(
                (
                    t.path,
                    f.name,
                    shown(f.manifest),
                    shown(f.kantata),
                    ORIGIN_WORDS[f.origin] + extra,
                )
            )
        for i in t.items:
            rows.append((t.path, f"checklist: {i.name}", "", "", ITEM_WORDS[i.change]))
    for o in w.objects:
        what = o.label or f"{o.kind} {o.key}"
        if not o.fields:
            rows.append((what, o.action, "", "", o.reason))
        for f in o.fields:
            why = "; ".join(r for r in (o.reason, _known(f.origin)) if r)
            rows.append((what, f.name, shown(f.manifest), shown(f.kantata), why))
    if not rows:
        return []
    head = ["| task | field | manifest | Kantata | why |", "|---|---|---|---|---|"]
    return head + ["| " + " | ".join(md(c) for c in r) + " |" for r in rows]
