"""Fingerprints of the live objects a plan touches, for saved plans (`--out`).

`apply PLANFILE` reads those objects again and refuses the plan when a digest differs.
Keys: "task:<id>", "status:<id>", "status_set:<id>", "workspace:<id>", "checklist_item:<id>".

A saved plan is also bound to where it was made (`binding_for`): the API, the workspace,
the stack and a digest of the resolved manifest (docs/apply.md, "What a saved plan is
bound to").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kxplan.changes.base import Change, Kind
from kxplan.changes.checklist import ChecklistItemCreate
from kxplan.model import LiveChecklistItem, LiveState, LiveTask, Manifest
from kxplan.plan import Plan, fingerprint

#: Manifest fields that say where something was written, not what: left out of the digest
#: so a moved comment or another checkout directory does not count as a change.
_WHERE = frozenset({"loc", "path"})


def binding_for(plan: Plan, manifest: Manifest, api: str) -> dict[str, Any]:
    """What a saved plan is bound to: API root, workspace, stack, resolved manifest."""
    return {
        "api": api,
        "workspace": {"id": plan.workspace.get("id"), "title": plan.workspace.get("title")},
        "stack": plan.stack,
        "manifest_digest": manifest_digest(manifest),
    }


def manifest_digest(manifest: Manifest) -> str:
    """A digest of what the resolved manifest says (variables substituted), not where."""
    return fingerprint(_what(manifest))


def _what(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {n: _what(getattr(obj, n)) for n in obj.__dataclass_fields__ if n not in _WHERE}
    if isinstance(obj, (list, tuple)):
        return [_what(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_what(v) for v in obj)
    return obj


def fingerprints_for(plan: Plan, live: LiveState) -> dict[str, str]:
    """`<kind>:<id>` -> `fingerprint(live object)` for every live object `plan` changes."""
    tasks = {t.id: t for t in live.tasks}
    items = {i.id: (i, t) for t in live.tasks for i in t.checklist}
    objects: dict[str, object] = {}
    for change in plan.actionable:
        for name, obj in _touched(change, live, tasks, items):
            objects[name] = obj
    return {name: fingerprint(obj) for name, obj in sorted(objects.items())}


def _touched(
    change: Change,
    live: LiveState,
    tasks: dict[str, LiveTask],
    items: dict[str, tuple[LiveChecklistItem, LiveTask]],
) -> Iterator[tuple[str, object]]:
    if change.kind is Kind.TASK and change.id in tasks:
        yield f"task:{change.id}", tasks[change.id]
    elif change.kind is Kind.WORKSPACE and live.workspace.id:
        yield f"workspace:{live.workspace.id}", live.workspace
    elif change.kind is Kind.STATUS:
        live_set = live.status_set_named(change.parent or "")
        if live_set is not None:
            yield f"status_set:{live_set.id}", live_set
            for status in live_set.statuses:
                if status.id == change.id:
                    yield f"status:{status.id}", status
    elif change.kind is Kind.CHECKLIST_ITEM:
        task_id = change.after["task_id"] if isinstance(change, ChecklistItemCreate) else ""
        if change.id in items:
            item, owner = items[change.id]
            task_id = owner.id
            yield f"checklist_item:{item.id}", item
        if task_id in tasks:
            yield f"task:{task_id}", tasks[task_id]
