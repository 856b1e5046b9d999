"""Planning the custom task status set: the set, its statuses, and the workspace's assignment.

Statuses are identified by name inside their set (`renamed_from` renames; a name that differs
only in case is the same status, renamed), paired as checklist items are
(kxplan.planner.pairing). A status whose category changes is replaced (Kantata cannot
change a category): its tasks are put back on it.

A set created by the plan starts with Kantata's four default statuses, one per category. How
Kantata spells them is not documented (docs/apply.md, "A new status set"), so the plan never
predicts their names: the first manifest status of each category takes over that category's
default ("the default status of category X, renamed to Backlog"), and the applier finds the
defaults by category in what the server returns. A category the manifest leaves empty loses
its default.

Where tasks go when the workspace switches sets, or when a status they are on is deleted,
is not documented either: tasks that enforce `status` get their status set again (planned
whenever it may have moved), so one apply converges whatever Kantata does.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from kxplan.changes.base import Change, Kind, ReasonCode
from kxplan.changes.stages import KEPT, SET_ASSIGNMENT, STATUS_DELETES, STATUS_SET, STATUSES
from kxplan.changes.status import (
    StatusBefore,
    StatusCreate,
    StatusDelete,
    StatusFields,
    StatusKeep,
    StatusReplace,
    StatusSetCreate,
    StatusUpdate,
    StatusValues,
)
from kxplan.changes.workspace import WorkspaceUpdate
from kxplan.ids import id_order
from kxplan.model import (
    CATEGORIES,
    DesiredStatus,
    DesiredStatusSet,
    LiveState,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
)
from kxplan.planner.order import Step, place
from kxplan.planner.pairing import pair_by_name, positions_to_write

#: Said in every change to an existing set whose other users were not counted.
SHARED_NOTE = (
    "status sets are account-wide: every other workspace using this set sees this change "
    "too (kxplan does not count them)"
)


def counted_note(others: int, tasks: int | None) -> str:
    """SHARED_NOTE once the set's other users are counted (kxplan.shared_sets): how many
    other workspaces, and how many of their tasks would change status."""
    if others == 0:
        return "no other workspace uses this set"
    verb = "uses" if others == 1 else "use"
    noun = "workspace" if others == 1 else "workspaces"
    sees = "sees" if others == 1 else "see"
    its = "its" if others == 1 else "their"
    held = (
        f"an uncounted number of {its} tasks"
        if tasks is None
        else f"{tasks} of {its} task{'' if tasks == 1 else 's'}"
    )
    return (
        f"{others} other {noun} {verb} this set and {sees} this change too "
        f"({held} would change status)"
    )


@dataclass(frozen=True, slots=True)
class StatusOutcome:
    """The status steps, and how task statuses will read afterwards.

    `status_after` maps an old name to the new one (renames); a status the plan deletes is
    not in it, so a task on it that enforces `status` is always given its status again.
    `switches_set`: the plan assigns the workspace another set, and Kantata may move any
    task's status (docs/apply.md), so every task that enforces `status` gets it again.
    """

    steps: tuple[Step, ...] = ()
    status_after: Mapping[str, str] = field(default_factory=dict)
    switches_set: bool = False


def plan_statuses(
    desired: DesiredStatusSet | None, live: LiveState, *, prune: bool = False
) -> StatusOutcome:
    """Steps that make the set, its statuses and the workspace assignment match `desired`.

    A status of an existing set that the manifest does not list is deleted only with `prune`
    (kept otherwise): Kantata lets kxplan keep no memory on a status (docs/plan.md, "Who owns
    checklist items and statuses"), so it cannot tell one it created from one a person added.
    """
    if desired is None:
        return StatusOutcome()
    live_set = live.status_set_named(desired.name)
    assign = _assign(desired.name, live, live_set)
    if live_set is None:
        create = StatusSetCreate(key=desired.name, after={"name": desired.name})
        steps = [place(STATUS_SET, create), *_new_set_steps(desired), *assign]
        return StatusOutcome(tuple(steps), {}, switches_set=True)
    steps = _existing_set_steps(desired, live, live_set, prune)
    in_use = live.workspace.task_status_set_id == live_set.id
    status_after = _renames(desired, live_set) if in_use else {}
    return StatusOutcome((*steps, *assign), status_after, switches_set=bool(assign))


def _existing_set_steps(
    desired: DesiredStatusSet, live: LiveState, live_set: LiveStatusSet, prune: bool
) -> list[Step]:
    statuses = live_set.statuses
    in_use = live.workspace.task_status_set_id == live_set.id
    pairs = pair_by_name(desired.statuses, statuses, ignore_case=True)
    users = _tasks_by_status(live, live_set) if in_use else {}
    moved = _to_move(desired.statuses, statuses, pairs)
    note = SHARED_NOTE
    steps: list[Step] = []
    for index, wanted in enumerate(desired.statuses):
        old = pairs.get(index)
        move = old is not None and old.id in moved
        steps.extend(_status_steps(desired.name, wanted, index, old, users, move, note))
    matched = {s.id for s in pairs.values()}
    for status in statuses:
        if status.id not in matched:
            steps.append(
                _delete(desired.name, status, users, note) if prune else _keep(desired.name, status)
            )
    return steps


def _renames(desired: DesiredStatusSet, live_set: LiveStatusSet) -> dict[str, str]:
    """Live status name -> its name after the plan, for the statuses the plan keeps."""
    pairs = pair_by_name(desired.statuses, live_set.statuses, ignore_case=True)
    return {old.name: desired.statuses[i].name for i, old in pairs.items()}


def _new_set_steps(desired: DesiredStatusSet) -> list[Step]:
    """A new set's defaults, paired with the manifest by category (their names unknown)."""
    steps: list[Step] = []
    taken: set[str] = set()
    for index, wanted in enumerate(desired.statuses):
        position = index + 1
        after: StatusValues = {
            "name": wanted.name,
            "category": wanted.category,
            "position": position,
        }
        change: Change
        if wanted.category in taken:
            change = StatusCreate(key=wanted.name, parent=desired.name, after=after)
        else:
            taken.add(wanted.category)
            change = StatusUpdate(
                key=wanted.name,
                parent=desired.name,
                before={"name": None, "category": wanted.category},
                after={**after, "default_of": wanted.category},
                fields=("name",),
                reason=f"the new set's default status of category '{wanted.category}' "
                f"becomes '{wanted.name}' (renamed unless Kantata already names it so)",
                code=ReasonCode.NEW_SET_DEFAULT,
            )
        steps.append(place(STATUSES, change, position=position))
    for position, category in enumerate(CATEGORIES, start=len(desired.statuses) + 1):
        if category not in taken:
            change = StatusDelete(
                key=category,
                parent=desired.name,
                before={"name": None, "category": category, "default_of": category},
                reason=f"the new set's default status of category '{category}': "
                "the manifest has no status in this category",
                code=ReasonCode.NEW_SET_DEFAULT,
            )
            steps.append(place(STATUS_DELETES, change, position=position))
    return steps


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


def _to_move(
    desired: tuple[DesiredStatus, ...],
    live: tuple[LiveStatus, ...],
    pairs: Mapping[int, LiveStatus],
) -> set[Hashable]:
    """Ids of the live statuses whose position the applier must write (as for checklists,
    kxplan.planner.checklist): when the order or the membership changes, every status whose
    number is not its target, plus every status the applier's placement would leave pushed
    off its place. The applier creates new statuses (and the successors of replaced ones) at
    the end, deletes statuses leaving the manifest only after placing, and places lowest
    position first. A set numbered differently but in the right order shows no change.
    """
    kept = {s.id for i, s in pairs.items() if s.category == desired[i].category}
    in_order = [s.id for s in live] == [pairs[i].id for i in range(len(desired)) if i in pairs]
    replaced = _ids(pairs) - kept
    start: list[object] = [s.id for s in live if s.id not in replaced]
    start += [("new", i) for i in range(len(desired)) if i not in pairs or pairs[i].id not in kept]
    wanted = [
        pairs[i].id if i in pairs and pairs[i].id in kept else ("new", i)
        for i in range(len(desired))
    ]
    numbered: set[Hashable] = {
        s.id for i, s in pairs.items() if s.id in kept and s.position != i + 1
    }
    unchanged = len(kept) == len(desired) == len(live) and in_order
    return positions_to_write(start, wanted, numbered, unchanged)


def _ids(pairs: Mapping[int, LiveStatus]) -> set[str]:
    return {s.id for s in pairs.values()}


def _status_steps(
    set_name: str,
    wanted: DesiredStatus,
    index: int,
    old: LiveStatus | None,
    users: Mapping[str, tuple[LiveTask, ...]],
    move: bool,
    note: str,
) -> list[Step]:
    position = index + 1
    after: StatusValues = {"name": wanted.name, "category": wanted.category, "position": position}
    shared = ReasonCode.SHARED_SET if note else ReasonCode.NONE
    change: Change
    if old is None:
        change = StatusCreate(
            key=wanted.name, parent=set_name, after=after, reason=note, code=shared
        )
        return [place(STATUSES, change, position=position)]
    if old.category != wanted.category:
        ids = sorted((t.id for t in users.get(old.name, ())), key=id_order)
        change = StatusReplace(
            key=wanted.name,
            id=old.id,
            parent=set_name,
            before={"name": old.name, "category": old.category},
            after={**after, "task_ids": ids},
            fields=("category",) + (("name",) if old.name != wanted.name else ()),
            reason=f"category cannot change in Kantata: replaced; {len(ids)} task(s) "
            f"in this workspace are put back on it" + (f"; {note}" if note else ""),
            code=ReasonCode.CATEGORY_CHANGED,
        )
        return [place(STATUSES, change, position=position)]
    fields = []
    if old.name != wanted.name:
        fields.append("name")
    if move:
        fields.append("position")
    if not fields:
        return []
    before: StatusBefore
    changed: StatusFields = {}
    if "name" in fields:
        before, changed["name"] = {"name": old.name}, wanted.name
        if move:
            before["position"], changed["position"] = old.position, position
    else:  # only the position changes
        before, changed["position"] = {"position": old.position, "name": old.name}, position
    change = StatusUpdate(
        key=wanted.name,
        id=old.id,
        parent=set_name,
        before=before,
        after=changed,
        fields=tuple(fields),
        reason=note,
        code=shared,
    )
    return [place(STATUSES, change, position=position)]


def _delete(
    set_name: str, status: LiveStatus, users: Mapping[str, tuple[LiveTask, ...]], note: str
) -> Step:
    n = len(users.get(status.name, ()))
    reason = "removed from the manifest"
    if n:
        reason += (
            f"; Kantata moves its {n} task(s) to another status of the category "
            f"'{status.category}' (tasks that enforce status get theirs again first)"
        )
    change = StatusDelete(
        key=status.name,
        id=status.id,
        parent=set_name,
        before={"name": status.name, "category": status.category},
        reason=reason + (f"; {note}" if note else ""),
        code=ReasonCode.PRUNED,
    )
    # After the tasks: they can move to their new statuses before Kantata resets them.
    return place(STATUS_DELETES, change, position=status.position)


#: Why a status the manifest dropped stays without --prune.
KEEP_STATUS_REASON = (
    "not in the manifest; kept (delete with --prune): kxplan cannot tell a status it created "
    "from one a person added"
)


def _keep(set_name: str, status: LiveStatus) -> Step:
    change = StatusKeep(
        key=status.name,
        id=status.id,
        parent=set_name,
        before={"name": status.name, "category": status.category},
        reason=KEEP_STATUS_REASON,
        code=ReasonCode.REMOVED_KEPT,
    )
    return place(KEPT, change, position=status.position)


def _assign(set_name: str, live: LiveState, live_set: LiveStatusSet | None) -> list[Step]:
    if live_set is not None and live.workspace.task_status_set_id == live_set.id:
        return []
    current = live.assigned_status_set()
    change = WorkspaceUpdate(
        key=live.workspace.id,
        id=live.workspace.id,
        before={"status_set": current.name if current else None},
        after={"status_set": set_name},
        reason="use the manifest's status set in this workspace",
        code=ReasonCode.USE_SET,
    )
    return [place(SET_ASSIGNMENT, change)]


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
