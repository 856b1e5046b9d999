"""Fingerprints of the live objects a plan touches, for saved plans (`--out`).

`apply PLANFILE` reads those objects again and refuses the plan when a digest differs.
Keys: "task:<id>", "status:<id>", "status_set:<id>", "workspace:<id>", "checklist_item:<id>".
"""

from __future__ import annotations

from collections.abc import Iterator

from kxplan.model import LiveChecklistItem, LiveState, LiveTask
from kxplan.plan import Change, Kind, Plan, fingerprint


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
    elif change.kind is Kind.WORKSPACE:
        yield f"workspace:{live.workspace.id}", live.workspace
    elif change.kind is Kind.STATUS:
        live_set = live.status_set_named(change.parent or "")
        if live_set is not None:
            yield f"status_set:{live_set.id}", live_set
            for status in live_set.statuses:
                if status.id == change.id:
                    yield f"status:{status.id}", status
    elif change.kind is Kind.CHECKLIST_ITEM:
        task_id = str((change.after or {}).get("task_id") or "")
        if change.id in items:
            item, owner = items[change.id]
            task_id = owner.id
            yield f"checklist_item:{item.id}", item
        if task_id in tasks:
            yield f"task:{task_id}", tasks[task_id]
