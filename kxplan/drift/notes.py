"""Who changed a status, in `plan`: a planned status update whose value changed in Kantata
since kxplan wrote it (the memory says so) names who set it and when, like `kxplan drift`.

One `GET /story_state_changes` per such task, sent together; none when no planned change
sets back a status people moved (the usual plan costs nothing more).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from kxplan.changes.base import Change, Kind
from kxplan.client import KantataClient
from kxplan.drift.render import history_text, shown
from kxplan.drift.run import sole_statuses
from kxplan.live import StatusChange, read_status_history
from kxplan.model import LiveState
from kxplan.plan import Plan


def _moved_status(change: Change) -> bool:
    origin = getattr(change, "origin", None) or {}
    return change.kind is Kind.TASK and origin.get("status") in ("kantata", "both")


def with_status_history(client: KantataClient, plan: Plan, live: LiveState) -> Plan:
    """`plan` with the reason of each status update people caused naming who and when."""
    by_id = {t.id: t for t in live.tasks}
    wanted = {c.id: by_id[c.id] for c in plan.changes if _moved_status(c) and c.id in by_id}
    if not wanted:
        return plan
    history = read_status_history(client, wanted, sole_statuses([live]))
    changes = tuple(_noted(c, history) if c.id in history else c for c in plan.changes)
    requests = {**plan.requests, "read": int(plan.requests.get("read", 0)) + len(wanted)}
    return replace(plan, changes=changes, requests=requests)


def _noted(change: Change, history: Mapping[str, StatusChange | None]) -> Change:
    assert change.id is not None
    before = getattr(change, "before", {}) or {}
    after = getattr(change, "after", {}) or {}
    who = history_text(history.get(change.id), True)
    note = f"status: {shown(after.get('status'))} -> {shown(before.get('status'))}{who}"
    return replace(change, reason="; ".join(r for r in (change.reason, note) if r))
