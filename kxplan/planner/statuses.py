"""Planning the custom task status set: the set, its statuses, and the workspace's assignment.

Statuses are identified by name inside their set (`renamed_from` renames). A status whose
category changes is replaced (Kantata cannot change a category): its tasks are put back on it.
A set created by the plan starts with Kantata's four default statuses (named after the four
categories); the plan predicts them and renames, reorders or deletes them like live statuses,
pairing unmatched ones with desired statuses of the same category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kxplan.model import (
    CATEGORIES,
    DesiredStatus,
    DesiredStatusSet,
    LiveState,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
)
from kxplan.plan import Action, Change, Kind
from kxplan.planner.order import W_DELETE, W_STATUS, W_WORKSPACE, Step, step

#: Said in every change to an existing set whose other users were not counted.
SHARED_NOTE = (
    "status sets are account-wide: every other workspace using this set sees this change "
    "too (kxplan does not count them)"
)


def shared_note(live: LiveState, set_id: str) -> str:
    """What a change to the existing set `set_id` says about the set's other users.

    The count comes from `LiveState.set_usage` (read by the CLI only when the plan changes
    an existing set); without it, the general SHARED_NOTE.
    """
    others = live.other_users(set_id)
    if others is None:
        return SHARED_NOTE
    if others == 0:
        return "no other workspace uses this set"
    verb = "uses" if others == 1 else "use"
    noun = "workspace" if others == 1 else "workspaces"
    sees = "sees" if others == 1 else "see"
    return f"{others} other {noun} {verb} this set and {sees} this change too"


@dataclass(frozen=True, slots=True)
class StatusOutcome:
    """The status steps, and how task statuses will read afterwards (old name -> new name)."""

    steps: tuple[Step, ...] = ()
    status_after: Mapping[str, str] = field(default_factory=dict)


def plan_statuses(desired: DesiredStatusSet | None, live: LiveState) -> StatusOutcome:
    """Steps that make the set, its statuses and the workspace assignment match `desired`."""
    if desired is None:
        return StatusOutcome()
    live_set = live.status_set_named(desired.name)
    steps: list[Step] = []
    if live_set is None:
        create = Change(Action.CREATE, Kind.STATUS_SET, desired.name, after={"name": desired.name})
        steps.append(step(create, W_STATUS, 0))
        statuses = _defaults()
    else:
        statuses = live_set.statuses
    in_use = live_set is not None and live.workspace.task_status_set_id == live_set.id
    pairs = _match(desired.statuses, statuses, pair_by_category=live_set is None)
    users = _tasks_by_status(live, live_set) if in_use else {}
    status_after: dict[str, str] = {}
    reorder = _needs_reorder(desired.statuses, statuses, pairs)
    # A set created by this plan has no other users yet.
    note = shared_note(live, live_set.id) if live_set is not None else ""
    for index, wanted in enumerate(desired.statuses):
        old = pairs.get(index)
        steps.extend(_status_steps(desired.name, wanted, index, old, users, reorder, note))
        if old is not None and old.name != wanted.name:
            status_after[old.name] = wanted.name
    matched = {id(s) for s in pairs.values()}
    for status in statuses:
        if id(status) not in matched:
            steps.append(_delete(desired.name, status, users, note))
            status_after[status.name] = status.category
    steps.extend(_assign(desired.name, live, live_set))
    return StatusOutcome(tuple(steps), status_after if in_use else {})


def changed_sets(changes: Iterable[Change], live: LiveState) -> tuple[str, ...]:
    """Ids of the existing (live) status sets whose statuses these changes create, change
    or delete; a set created by the plan is not among them."""
    ids = {
        found.id
        for c in changes
        if c.kind is Kind.STATUS and c.action.makes_calls
        for found in (live.status_set_named(c.parent or ""),)
        if found is not None
    }
    return tuple(sorted(ids))


def _defaults() -> tuple[LiveStatus, ...]:
    """The statuses Kantata puts in a new set (no ids yet)."""
    return tuple(LiveStatus("", c, c, i + 1) for i, c in enumerate(CATEGORIES))


def _match(
    desired: tuple[DesiredStatus, ...], live: tuple[LiveStatus, ...], *, pair_by_category: bool
) -> dict[int, LiveStatus]:
    by_name = {s.name: s for s in live}
    pairs: dict[int, LiveStatus] = {}
    taken: set[str] = set()
    for i, d in enumerate(desired):
        if d.name in by_name:
            pairs[i] = by_name[d.name]
            taken.add(d.name)
    desired_names = {d.name for d in desired}
    for i, d in enumerate(desired):
        for old in d.renamed_from:
            if i not in pairs and old in by_name and old not in taken | desired_names:
                pairs[i] = by_name[old]
                taken.add(old)
    if pair_by_category:
        for i, d in enumerate(desired):
            spare = [s for s in live if s.category == d.category and s.name not in taken]
            if i not in pairs and spare and spare[0].name not in desired_names:
                pairs[i] = spare[0]
                taken.add(spare[0].name)
    return pairs


def _needs_reorder(
    desired: tuple[DesiredStatus, ...],
    live: tuple[LiveStatus, ...],
    pairs: Mapping[int, LiveStatus],
) -> bool:
    """Positions are written only when the order or the membership changes.

    So a set whose positions are numbered differently (0-based, gaps) but in the right order
    shows no change.
    """
    if len(pairs) != len(desired) or len(pairs) != len(live):
        return True
    live_order = [s.name for s in sorted(live, key=lambda s: (s.position, s.id))]
    return live_order != [pairs[i].name for i in range(len(desired))]


def _status_steps(
    set_name: str,
    wanted: DesiredStatus,
    index: int,
    old: LiveStatus | None,
    users: Mapping[str, tuple[LiveTask, ...]],
    reorder: bool,
    note: str,
) -> list[Step]:
    position = index + 1
    after = {"name": wanted.name, "category": wanted.category, "position": position}
    if old is None:
        change = Change(
            Action.CREATE, Kind.STATUS, wanted.name, parent=set_name, after=after, reason=note
        )
        return [step(change, W_STATUS, 2, position)]
    if old.category != wanted.category:
        ids = sorted((t.id for t in users.get(old.name, ())), key=_numeric)
        change = Change(
            Action.REPLACE,
            Kind.STATUS,
            wanted.name,
            id=old.id or None,
            parent=set_name,
            before={"name": old.name, "category": old.category},
            after={**after, "task_ids": ids},
            fields=("category",) + (("name",) if old.name != wanted.name else ()),
            reason=f"category cannot change in Kantata: replaced; {len(ids)} task(s) "
            f"in this workspace are put back on it" + (f"; {note}" if note else ""),
        )
        return [step(change, W_STATUS, 2, position)]
    fields = []
    if old.name != wanted.name:
        fields.append("name")
    if reorder and old.position != position:
        fields.append("position")
    if not fields:
        return []
    before = {"name": old.name, "position": old.position}
    change = Change(
        Action.UPDATE,
        Kind.STATUS,
        wanted.name,
        id=old.id or None,
        parent=set_name,
        before={f: before[f] for f in fields} | {"name": old.name},
        after={f: after[f] for f in fields},
        fields=tuple(fields),
        reason=note if old.id else "one of the new set's default statuses",
    )
    return [step(change, W_STATUS, 2, position)]


def _delete(
    set_name: str, status: LiveStatus, users: Mapping[str, tuple[LiveTask, ...]], note: str
) -> Step:
    n = len(users.get(status.name, ()))
    reason = "removed from the manifest"
    if n:
        reason += f"; Kantata resets its {n} task(s) to the category '{status.category}'"
    change = Change(
        Action.DELETE,
        Kind.STATUS,
        status.name,
        id=status.id or None,
        parent=set_name,
        before={"name": status.name, "category": status.category},
        reason=reason + (f"; {note}" if status.id and note else ""),
    )
    # After the tasks: they can move to their new statuses before Kantata resets them.
    return step(change, W_DELETE, 5, status.position)


def _assign(set_name: str, live: LiveState, live_set: LiveStatusSet | None) -> list[Step]:
    if live_set is not None and live.workspace.task_status_set_id == live_set.id:
        return []
    current = live.assigned_status_set()
    change = Change(
        Action.UPDATE,
        Kind.WORKSPACE,
        live.workspace.id,
        id=live.workspace.id,
        before={"status_set": current.name if current else None},
        after={"status_set": set_name},
        fields=("status_set",),
        reason="use the manifest's status set in this workspace",
    )
    return [step(change, W_WORKSPACE)]


def _tasks_by_status(
    live: LiveState, live_set: LiveStatusSet | None
) -> dict[str, tuple[LiveTask, ...]]:
    """Live tasks of this workspace on each status of the set, by status name."""
    if live_set is None:
        return {}
    names_by_id = {s.id: s.name for s in live_set.statuses}
    found: dict[str, list[LiveTask]] = {}
    for task in live.tasks:
        if task.custom_task_status_id is not None:
            name = names_by_id.get(task.custom_task_status_id)
        else:
            name = task.status
        if name is not None:
            found.setdefault(name, []).append(task)
    return {k: tuple(v) for k, v in found.items()}


def _numeric(task_id: str) -> tuple[int, str]:
    return (int(task_id), "") if task_id.isdigit() else (1 << 62, task_id)
