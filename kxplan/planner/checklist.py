"""Planning the checklist items of a task that exists.

Items are identified by name within their task (`renamed_from` renames). `completed` is
progress people record: written on create, later only when the task enforces `completed`.
Positions are written only for the items the applier's placement must move (replayed by
kxplan.planner.positions), so a list that Kantata numbers differently but in the same order
shows no change, and an item pushed off its place by the inserts before it is moved back.
"""

from __future__ import annotations

from dataclasses import replace

from kxplan.model import DesiredChecklistItem, DesiredTask, LiveChecklistItem, LiveTask
from kxplan.plan import Action, Change, Kind
from kxplan.planner.order import W_CHECKLIST, Step, step
from kxplan.planner.positions import to_place

# Inside a task's checklist: deletes free names and places, then updates, then creates.
_DELETE, _UPDATE, _CREATE = 0, 1, 2


def plan_checklist(task: DesiredTask, live: LiveTask, rank: int, path: str) -> list[Step]:
    """Steps that make `live`'s checklist match `task`'s (when the manifest manages it)."""
    if "checklist" not in task.fields or "checklist" in task.ignore_changes:
        return []
    pairs = _match(task.checklist, live.checklist)
    moved = _to_move(task.checklist, live.checklist, pairs)
    enforce = "completed" in task.enforce
    steps: list[Step] = []
    for index, wanted in enumerate(task.checklist):
        old = pairs.get(index)
        if old is None:
            after = {
                "name": wanted.name,
                "completed": wanted.completed,
                "position": index + 1,
                "task_id": live.id,
            }
            change = Change(
                Action.CREATE, Kind.CHECKLIST_ITEM, wanted.name, parent=task.key, after=after
            )
            steps.append(_step(change, task, rank, path, _CREATE, index + 1))
        else:
            move = old.id in moved
            steps.extend(_update(task, rank, path, wanted, old, index + 1, move, enforce))
    matched = {item.id for item in pairs.values()}
    for item in live.checklist:
        if item.id not in matched:
            change = Change(
                Action.DELETE,
                Kind.CHECKLIST_ITEM,
                item.name,
                id=item.id,
                parent=task.key,
                before={"name": item.name, "completed": item.completed},
                reason="removed from the manifest's checklist",
            )
            steps.append(_step(change, task, rank, path, _DELETE, item.position))
    return steps


def _match(
    desired: tuple[DesiredChecklistItem, ...], live: tuple[LiveChecklistItem, ...]
) -> dict[int, LiveChecklistItem]:
    pairs: dict[int, LiveChecklistItem] = {}
    free = list(live)  # by position: with duplicate names the first one is the item
    for i, d in enumerate(desired):
        found = next((item for item in free if item.name == d.name), None)
        if found is not None:
            pairs[i] = found
            free.remove(found)
    names = {d.name for d in desired}
    for i, d in enumerate(desired):
        for old in d.renamed_from:
            found = next((item for item in free if item.name == old), None)
            if i not in pairs and found is not None and old not in names:
                pairs[i] = found
                free.remove(found)
    return pairs


def _to_move(
    desired: tuple[DesiredChecklistItem, ...],
    live: tuple[LiveChecklistItem, ...],
    pairs: dict[int, LiveChecklistItem],
) -> set[object]:
    """Ids of the live items whose position the applier must write.

    When the order or the membership changes: every item whose position number is not its
    target (right if Kantata simply stores the number), plus every item the applier's
    placement would leave pushed off its place (right if writing a position inserts there:
    the applier deletes first, then creates at their position and moves lowest target first;
    replaying that on the live list, sorted by position then id, tells which)."""
    if len(pairs) == len(desired) == len(live) and [i.id for i in live] == [
        pairs[i].id for i in range(len(desired))
    ]:
        return set()
    kept = {item.id for item in pairs.values()}
    start = [item.id for item in live if item.id in kept]
    wanted = [pairs[i].id if i in pairs else ("new", i) for i in range(len(desired))]
    numbered = {old.id for i, old in pairs.items() if old.position != i + 1}
    return numbered | to_place(start, wanted)


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
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    if old.name != wanted.name:
        before["name"], after["name"] = old.name, wanted.name
    if move:
        before["position"], after["position"] = old.position, position
    if enforce and old.completed != wanted.completed:
        before["completed"], after["completed"] = old.completed, wanted.completed
    if not after:
        return []
    change = Change(
        Action.UPDATE,
        Kind.CHECKLIST_ITEM,
        wanted.name,
        id=old.id,
        parent=task.key,
        before=before,
        after=after,
        fields=tuple(after),
    )
    return [_step(change, task, rank, path, _UPDATE, position)]


def _step(change: Change, task: DesiredTask, rank: int, path: str, phase: int, pos: int) -> Step:
    placed = replace(change, depth=task.depth, path=f"{path}[{change.key}]")
    return step(placed, W_CHECKLIST, 0, rank, phase * 100_000 + pos)
