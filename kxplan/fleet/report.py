"""How a fleet run is shown: one section per workspace, then ONE aggregate summary.

Text: each workspace's section headed with its title and id, then a table (workspace,
add, change, move, delete, status). Markdown: the same, the table first, size-safe and
escaped like a single plan's (kxplan.render.markdown). JSON: one document, the fleet document
(docs/fleet.md, "Output"), which is also the saved fleet plan's format (with `--out`).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from kxplan.fleet.detect import FLEET_FORMAT
from kxplan.fleet.runner import FAILED, NO_CHANGES, OK, Outcome
from kxplan.plan import FORMAT_VERSION
from kxplan.render import DEFAULT_MAX_CHARS, render_markdown
from kxplan.render.markdown import (
    FLEET_WORKSPACE,
    Section,
    fit,
    inline,
    left_out_line,
    marker_line,
    preformatted,
    reserve_for_left_out,
)


def heading(outcome: Outcome) -> str:
    """`Workspace "Acme — Onboarding" (id 41001)`; `(not created yet)` without an id."""
    title = outcome.workspace.get("title") or str(outcome.target.ref)
    wid = outcome.workspace.get("id")
    return f'Workspace "{title}" ' + (f"(id {wid})" if wid else "(not created yet)")


#: A table's status cell shows at most this much of a failure's reason (its section and
#: the JSON document have all of it).
REASON_WIDTH = 60


def status_of(outcome: Outcome) -> str:
    """`ok`, `no changes`, or `failed: <reason>` (its first line, cut at REASON_WIDTH)."""
    if outcome.status != FAILED:
        return outcome.status
    reason = outcome.reason.splitlines()[0] if outcome.reason else "error"
    if len(reason) > REASON_WIDTH:
        reason = reason[:REASON_WIDTH].rsplit(" ", 1)[0] + " …"
    return f"{FAILED}: {reason}"


def render_fleet(
    outcomes: Sequence[Outcome],
    fmt: str,
    title: str,
    *,
    applied: bool,
    table: bool = True,
    stack: str = "",
    max_chars: int = DEFAULT_MAX_CHARS,
) -> str:
    """The sections and the aggregate, in `fmt` (text or markdown). A section holds the
    workspace's plan (and what came of it: its error, or after apply what was applied);
    `applied`: the sections of an apply, after the plans were shown. Without `table` the
    aggregate is its totals line only (apply's review before it asks: the one table
    comes after the apply). Markdown: the aggregate first, the marker of `stack`'s fleet
    on the first line, at most `max_chars` characters."""
    if fmt == "markdown":
        return _markdown(outcomes, title, applied, table, stack, max_chars)
    parts = [f"=== {heading(o)} ===\n{_body(o, applied)}" for o in outcomes]
    parts.append(_table_text(outcomes, title, applied) if table else _totals(outcomes, applied))
    return "\n".join(parts)


def _body(o: Outcome, applied: bool) -> str:
    lines = [n.rstrip("\n") + "\n" for n in o.notes]
    if applied:
        lines.append(o.result or ("No changes.\n" if o.status == NO_CHANGES else ""))
    else:
        lines.append(o.text if not o.failed or o.plan is not None else "")
        lines.append(o.result if o.failed else "")
    text = "".join(lines)
    return text if text.endswith("\n") else text + "\n"


def _rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        c = o.counts()
        title = o.workspace.get("title") or str(o.target.ref)
        wid = o.workspace.get("id") or "-"
        rows.append([title, str(wid), *(str(c[k]) for k in _COUNTS), status_of(o)])
    return rows


_COUNTS = ("create", "update", "move", "delete")
_HEADERS = ["WORKSPACE", "ID", "ADD", "CHANGE", "MOVE", "DELETE", "STATUS"]


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide (CJK, fullwidth) characters take two, combining
    marks none, so a workspace named "東京 — Onboarding" does not push its row out of line."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def _table_text(outcomes: Sequence[Outcome], title: str, applied: bool) -> str:
    rows = [_HEADERS, *_rows(outcomes)]
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(_HEADERS) - 1)]
    lines = [f"{title}:"]
    for row in rows:
        cells = [_pad(row[i], widths[i], right=i >= 2) for i in range(len(widths))]
        lines.append("  " + "  ".join(cells) + "  " + row[-1])
    lines.append(_totals(outcomes, applied))
    return "\n".join(lines) + "\n"


def _totals(outcomes: Sequence[Outcome], applied: bool) -> str:
    n = {s: sum(1 for o in outcomes if o.status == s) for s in (OK, NO_CHANGES, FAILED)}
    t = {k: sum(o.counts()[k] for o in outcomes) for k in ("create", "update", "move", "delete")}
    counts = (
        f"{t['create']} added, {t['update']} changed, {t['move']} moved, {t['delete']} deleted"
        if applied
        else f"{t['create']} to add, {t['update']} to change, {t['move']} to move, "
        f"{t['delete']} to delete"
    )
    plural = "" if len(outcomes) == 1 else "s"
    return (
        f"Fleet: {len(outcomes)} workspace{plural}, {n[OK]} ok, {n[NO_CHANGES]} no changes, "
        f"{n[FAILED]} failed; {counts}."
    )


def _markdown(
    outcomes: Sequence[Outcome], title: str, applied: bool, table: bool, stack: str, max_chars: int
) -> str:
    """The fleet as one pull-request comment of at most `max_chars` characters: the marker
    (`workspace=*`: the whole fleet), the aggregate table and totals first, then one
    section per workspace, each given an even share of what is left (a share a workspace
    does not use goes to the next); a section that does not fit its share is left out and
    counted (docs/fleet.md, "Markdown")."""
    head = marker_line(stack, FLEET_WORKSPACE) + "\n"
    totals = _totals(outcomes, applied) + "\n\n"
    rows = tuple("| " + " | ".join(inline(c) for c in row) + " |\n" for row in _rows(outcomes))
    aggregate = Section(
        rows if table else (),
        opener=f"## {inline(title)}\n\n" + _MD_TABLE_HEAD,
        closer="\n",
        counted="table row",
    )
    worst = {"table row": (0, len(aggregate.items)), "workspace section": (0, len(outcomes))}
    reserve = reserve_for_left_out(worst, max_chars)
    budget = max_chars - len(head) - len(totals) - reserve
    summary, counts = fit([aggregate], budget)
    budget -= len(summary)
    sections, shown = [], 0
    for index, o in enumerate(outcomes):
        share = budget // (len(outcomes) - index)
        text = _section(o, applied, share)
        if len(text) <= share:
            sections.append(text)
            budget -= len(text)
            shown += 1
    counts["workspace section"] = (shown, len(outcomes))
    return head + summary + totals + "".join(sections) + left_out_line(counts, max_chars)


_MD_TABLE_HEAD = (
    "| Workspace | ID | Add | Change | Move | Delete | Status |\n|---|---|--:|--:|--:|--:|---|\n"
)


def _section(o: Outcome, applied: bool, room: int) -> str:
    """One workspace's section, its plan's Markdown cut to `room` (without a marker)."""
    top = f"## {inline(heading(o))}\n\n"
    if o.plan is not None and not applied:
        failure = _pre(o.result, room // 4) if o.failed else ""
        return top + render_markdown(o.plan, room - len(top) - len(failure), marker=False) + failure
    return top + _pre(_body(o, applied), room - len(top)) + "\n"


def _pre(text: str, room: int) -> str:
    """`text` as a <pre> block, its end cut (with `…`) to fit `room` when it can."""
    block = preformatted(text)
    if len(block) <= room:
        return block
    keep = max(room - len(preformatted("")) - 2, 0)
    return preformatted(text[:keep] + "\n…")


def fleet_document(
    outcomes: Sequence[Outcome],
    *,
    manifest: str,
    stack: str,
    marked: bool,
    api: str | None = None,
    vars: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON document of a fleet run (and, with `api`, a saved fleet plan)."""
    fleet: dict[str, Any] = {"manifest": manifest, "stack": stack, "marked": marked}
    if api is not None:
        fleet["api"] = api
        fleet["vars"] = dict(sorted((vars or {}).items()))
    return {
        "format_version": FORMAT_VERSION,
        "fleet_format": FLEET_FORMAT,
        "fleet": fleet,
        "workspaces": [_entry(o) for o in outcomes],
        "summary": _summary(outcomes),
    }


def _entry(o: Outcome) -> dict[str, Any]:
    return {
        "entry": o.target.ref,
        "workspace": dict(o.workspace),
        "status": o.status,
        "reason": o.reason or None,
        "counts": o.counts(),
        "applied": o.applied,
        "notes": list(o.notes),
        "result": o.result or None,
        "plan": o.plan.to_json() if o.plan is not None else None,
    }


def _summary(outcomes: Sequence[Outcome]) -> dict[str, int]:
    out = {"workspaces": len(outcomes), "ok": 0, "no_changes": 0, "failed": 0}
    for o in outcomes:
        out[o.status.replace(" ", "_")] += 1
    for key in ("create", "update", "move", "delete"):
        out[key] = sum(o.counts()[key] for o in outcomes)
    return out


def render_fleet_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
