"""Planning the checklist items of a task that exists.

Items are identified by name within their task (`renamed_from` renames), paired as statuses
are (kxplan.planner.pairing). `completed` is progress people record: written on create,
later only when the task enforces `completed`. Positions are written only for the items the
applier's placement must move (kxplan.planner.pairing.positions_to_write), so a list that
Kantata numbers differently but in the same order shows no change, and an item pushed off
its place by the inserts before it is moved back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import replace

from kxplan.changes.base import Change, ReasonCode
from kxplan.changes.checklist import (
    ChecklistItemCreate,
    ChecklistItemDelete,
    ChecklistItemKeep,
    ChecklistItemUpdate,
    ItemFields,
)
from kxplan.changes.stages import CHECKLIST
from kxplan.model import DesiredChecklistItem, DesiredTask, LiveChecklistItem, LiveTask
from kxplan.planner.memory import Memory
from kxplan.planner.order import Step, place
from kxplan.planner.pairing import pair_by_name, positions_to_write

# Inside a task's checklist: deletes free names and places, then updates, then creates.
_DELETE, _UPDATE, _CREATE = 0, 1, 2


def plan_checklist(
    task: DesiredTask,
    live: LiveTask,
    rank: int,
    path: str,
    recall: Callable[[], Memory | None] = lambda: None,
    prune: bool = False,
) -> list[Step]:
    """Steps that make `live`'s checklist match `task`'s (when the manifest manages it).

    `recall` gives the task's memory (read only when an item is not where the manifest
    has it). An item the manifest does not list is deleted only when kxplan created it (its memory,
    kxplan.planner.memory) and `prune` is on; kept otherwise. An item a person added (not in
    the memory) is never deleted nor moved; with no memory, nothing tells, so such an item is
    kept unless `prune`.
    """
    if "checklist" not in task.fields or "checklist" in task.ignore_changes:
        return []
    if _same_names(task.checklist, live.checklist):
        return _in_place(task, live, rank, path)
    pairs = pair_by_name(task.checklist, live.checklist)
    memory = recall()
    matched = {item.id for item in pairs.values()}
    fates = {i.id: _fate(i, memory, prune) for i in live.checklist if i.id not in matched}
    staying = [i for i in live.checklist if fates.get(i.id) != "delete"]
    layout = _layout(len(task.checklist), staying, pairs)
    target = {entry[1]: n + 1 for n, entry in enumerate(layout) if entry[0] == "item"}
    moved = _to_move(staying, layout, pairs, target)
    enforce = "completed" in task.enforce
    steps: list[Step] = []
    for index, wanted in enumerate(task.checklist):
        old = pairs.get(index)
        if old is None:
            change = ChecklistItemCreate(
                key=wanted.name,
                parent=task.key,
                after={
                    "name": wanted.name,
                    "completed": wanted.completed,
                    "position": target[index],
                    "task_id": live.id,
                },
            )
            steps.append(_step(change, task, rank, path, _CREATE, target[index]))
        else:
            move = old.id in moved
            steps.extend(_update(task, rank, path, wanted, old, target[index], move, enforce))
    for item in live.checklist:
        fate = fates.get(item.id)
        if fate is not None and fate != "person":
            steps.append(_leaving(task, rank, path, item, fate, memory))
    return steps


def checklist_in_line(task: DesiredTask, live: LiveTask) -> bool:
    """True when `plan_checklist` plans nothing, as a quick check; False when it may plan
    something (then ask it). The manifest does not manage the checklist, or the live list
    holds its names in order and `completed` is not enforced (see `_in_place`)."""
    if "checklist" not in task.fields or "checklist" in task.ignore_changes:
        return True
    return "completed" not in task.enforce and _same_names(task.checklist, live.checklist)


def _same_names(
    desired: tuple[DesiredChecklistItem, ...], live: tuple[LiveChecklistItem, ...]
) -> bool:
    """Whether the live list holds the manifest's names, in its order, and nothing else."""
    return len(desired) == len(live) and [w.name for w in desired] == [o.name for o in live]


def _in_place(task: DesiredTask, live: LiveTask, rank: int, path: str) -> list[Step]:
    """`plan_checklist` for a live list that already has the manifest's names in order
    (`_same_names`): each item pairs with the one at its index, none leaves, the order stays
    (so no position is written); only `completed`, when enforced, can differ."""
    if "completed" not in task.enforce:
        return []
    steps: list[Step] = []
    for index, (wanted, old) in enumerate(zip(task.checklist, live.checklist, strict=True)):
        if old.completed != wanted.completed:
            steps.extend(_update(task, rank, path, wanted, old, index + 1, False, True))
    return steps


#: What happens to a live item the manifest does not list.
_Fate = str  # "delete" | "keep" (kxplan's, no prune) | "unknown" (no memory) | "person"


def _fate(item: LiveChecklistItem, memory: Memory | None, prune: bool) -> _Fate:
    created = memory.created_item(item.name) if memory is not None else None
    if created is False:
        return "person"
    if prune:
        return "delete"
    return "keep" if created else "unknown"


def _leaving(
    task: DesiredTask,
    rank: int,
    path: str,
    item: LiveChecklistItem,
    fate: _Fate,
    memory: Memory | None,
) -> Step:
    created = memory is not None and memory.created_item(item.name)
    if fate == "delete":
        reason = (
            "created by kxplan, removed from the manifest's checklist (prune)"
            if created
            else "not in the manifest's checklist, and kxplan has no memory of who added it (prune)"
        )
        kind: type[ChecklistItemDelete | ChecklistItemKeep] = ChecklistItemDelete
        code = ReasonCode.PRUNED
    elif fate == "keep":
        reason = (
            "created by kxplan, removed from the manifest's checklist; kept (delete with --prune)"
        )
        kind, code = ChecklistItemKeep, ReasonCode.REMOVED_KEPT
    else:
        reason = (
            "not in the manifest's checklist; kxplan has no memory of creating it (the task "
            "was written before kxplan kept one), so it is kept (delete with --prune); once "
            "kxplan writes its memory on this task it counts as a person's item"
        )
        kind, code = ChecklistItemKeep, ReasonCode.REMOVED_KEPT
    change = kind(
        key=item.name,
        id=item.id,
        parent=task.key,
        before={"name": item.name, "completed": item.completed},
        reason=reason,
        code=code,
    )
    return _step(change, task, rank, path, _DELETE, item.position)


Slot = tuple[str, object]  # ("item", desired index) or ("stays", live item id)


def _layout(
    count: int, staying: list[LiveChecklistItem], pairs: dict[int, LiveChecklistItem]
) -> list[Slot]:
    """The checklist after the apply: the manifest's items in order, each item kxplan keeps
    without listing it (people's, or kept without --prune) right after the listed item it
    follows now (at the top when none precedes it). So people's items never move."""
    index_of = {item.id: i for i, item in pairs.items()}
    after: dict[int, list[str]] = {}
    anchor = -1
    for item in staying:
        if item.id in index_of:
            anchor = index_of[item.id]
        else:
            after.setdefault(anchor, []).append(item.id)
    layout: list[Slot] = [("stays", i) for i in after.get(-1, ())]
    for index in range(count):
        layout.append(("item", index))
        layout.extend(("stays", i) for i in after.get(index, ()))
    return layout


def _to_move(
    staying: list[LiveChecklistItem],
    layout: list[Slot],
    pairs: dict[int, LiveChecklistItem],
    target: dict[object, int],
) -> set[Hashable]:
    """Ids of the listed live items whose position the applier must write.

    When the order or the membership changes: every item whose position number is not its
    target (right if Kantata simply stores the number), plus every item the applier's
    placement would leave pushed off its place (right if writing a position inserts there:
    the applier deletes first, then creates at their position and moves lowest target first;
    replaying that on the live list, sorted by position then id, tells which). Items kxplan
    keeps without listing them are never written."""
    wanted: list[object] = []
    for kind, ref in layout:
        if kind == "stays":
            wanted.append(ref)
        else:
            old = pairs.get(ref)  # type: ignore[call-overload]
            wanted.append(old.id if old is not None else ("new", ref))
    start = [item.id for item in staying]
    numbered: set[Hashable] = {old.id for i, old in pairs.items() if old.position != target[i]}
    listed = {item.id for item in pairs.values()}
    writes = positions_to_write(start, wanted, numbered, unchanged=start == wanted)
    return {i for i in writes if i in listed}


def _update(
    task: DesiredTask,
    rank: int,
    path: str,
    wanted: DesiredChecklistItem,
    old: LiveChecklistItem,
    position: int,
    move: bool,
    enforce: bool,
) -> list[Step]:
    before: ItemFields = {}
    after: ItemFields = {}
    if old.name != wanted.name:
        before["name"], after["name"] = old.name, wanted.name
    if move:
        before["position"], after["position"] = old.position, position
    if enforce and old.completed != wanted.completed:
        before["completed"], after["completed"] = old.completed, wanted.completed
    if not after:
        return []
    change = ChecklistItemUpdate(
        key=wanted.name,
        id=old.id,
        parent=task.key,
        before=before,
        after=after,
        fields=tuple(after),
    )
    return [_step(change, task, rank, path, _UPDATE, position)]


def _step(change: Change, task: DesiredTask, rank: int, path: str, phase: int, pos: int) -> Step:
    placed = replace(change, depth=task.depth, path=f"{path}[{change.key}]")
    return place(CHECKLIST, placed, rank=rank, phase=phase, position=pos)
