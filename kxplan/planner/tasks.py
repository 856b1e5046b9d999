"""Planning desired tasks: creates, updates (incl. marker rewrites), adoptions, moves.

Only fields the manifest writes are compared. Progress fields (status, percentage_complete)
are sent on create and compared later only when the task enforces them; a parent's progress
is rolled up by Kantata from its subtasks, so on parents it is a warning, never a change.
`protect` lives on Kantata, in the marker's external_status: a create carries it, and a task
whose live marker disagrees with the manifest gets an update of field `protect` (one PUT
rewriting the marker).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

from kxplan.changes.base import Action, Change, Kind, ReasonCode
from kxplan.changes.note import Note
from kxplan.changes.stages import CREATES, NOTES, UPDATES
from kxplan.changes.task import (
    NewTask,
    TaskAdopt,
    TaskCreate,
    TaskMove,
    TaskUpdate,
    TaskValues,
    set_field,
)
from kxplan.model import PROGRESS_FIELDS, TASK_FIELDS, DesiredTask, LiveTask
from kxplan.planner.checklist import checklist_in_line, plan_checklist
from kxplan.planner.context import Context
from kxplan.planner.memory import (
    FIELD_CODES,
    Memory,
    decode,
    encode,
    field_origins,
    item_digest,
    origin_reason,
    value_digest,
)
from kxplan.planner.normalize import COMPARED_FIELDS, desired_value, live_value, same, unique_tags
from kxplan.planner.order import Step, place

#: Fields sent on create when the manifest writes them (title, type, parent always are).
CREATE_FIELDS: tuple[str, ...] = tuple(
    f for f in TASK_FIELDS if f not in ("title", "type", "parent")
)


def plan_task(ctx: Context, task: DesiredTask, *, create_only: bool = False) -> list[Step]:
    """Steps for one desired task: create it, or bring its live story in line."""
    live = ctx.matching.by_key.get(task.key)
    if live is None:
        return [_create(ctx, task)]
    if create_only or _in_line(ctx, task, live):
        return []
    memory: list[Memory | None] = []  # decoded when first needed (a task in line never is)

    def recall() -> Memory | None:
        if not memory:
            memory.append(live_memory(ctx, live))
        return memory[0]

    steps = _update(ctx, task, live, recall)
    steps.extend(_move(ctx, task, live))
    if not checklist_in_line(task, live):  # else plan_checklist plans nothing: not asked
        rank, path = ctx.rank[task.key], ctx.desired_path(task.key)
        steps.extend(plan_checklist(task, live, rank, path, recall, ctx.prune))
    return steps


def _in_line(ctx: Context, task: DesiredTask, live: LiveTask) -> bool:
    """True when the live task is in line with the manifest in every way `plan_task` looks
    at, known in one look: most tasks of a plan are. False means "ask `_update`, `_move` and
    `plan_checklist`", never "changed". It holds when `_update` plans nothing (every compared
    field equal as stored, status not compared, not renamed nor adopted, the marker's flag
    as the manifest says), `_move` plans nothing (the parent is ignored, or the live parent
    is the desired one) and the checklist is in line (`checklist_in_line`)."""
    compared = _compared(task.fields, task.ignore_changes, task.enforce)
    if compared.status or not _stored_equal(compared, task, live):
        return False
    matching = ctx.matching
    if task.key in matching.renamed or task.key in matching.adopted:
        return False
    marker = live.marker_for(ctx.manifest.name)
    if (marker is not None and marker.protected) != task.protect:
        return False
    if "parent" not in task.ignore_changes:
        if task.parent_key is None:
            if live.parent_id is not None:
                return False
        else:
            parent = matching.by_key.get(task.parent_key)
            if parent is None or live.parent_id != parent.id:
                return False
    return checklist_in_line(task, live)


def live_memory(ctx: Context, live: LiveTask) -> Memory | None:
    """What this stack's marker on `live` remembers kxplan wrote; None: no memory."""
    marker = live.marker_for(ctx.manifest.name)
    return decode(marker.message) if marker is not None else None


def memory_after(ctx: Context, task: DesiredTask, live: LiveTask, steps: list[Step]) -> str | None:
    """The memory text to write on `live`'s marker when the plan changes the task, or None
    (no change to the task, or the memory already says it)."""
    if not any(s.change.action.makes_calls for s in steps):
        return None
    memory = live_memory(ctx, live)
    fields = dict(memory.fields) if memory is not None else {}
    for name in FIELD_CODES:
        managed = name in task.fields and name not in task.ignore_changes
        if managed and (name not in PROGRESS_FIELDS or name in task.enforce):
            fields[name] = value_digest(name, desired_value(task, name))
    items: frozenset[str] | None = memory.items if memory is not None else frozenset()
    if "checklist" in task.fields and "checklist" not in task.ignore_changes:
        kept = {
            item_digest(s.change.key)
            for s in steps
            if s.change.kind is Kind.CHECKLIST_ITEM and s.change.action is Action.KEEP
        }
        listed = {item_digest(i.name) for i in task.checklist}
        # Items of unknown origin are not claimed: once the memory is written they count
        # as people's (never deleted), the safe side.
        known = kept & memory.items if memory is not None and memory.items is not None else set()
        items = frozenset(listed | known)
    text = encode(Memory(fields, items))
    marker = live.marker_for(ctx.manifest.name)
    return None if marker is not None and marker.message == text else text


def _place(ctx: Context, change: Change, task: DesiredTask) -> Change:
    return replace(change, depth=task.depth, path=ctx.desired_path(task.key))


def _create(ctx: Context, task: DesiredTask) -> Step:
    parent = ctx.matching.by_key.get(task.parent_key or "")
    after: NewTask = {
        "title": task.title,
        "type": task.type,
        "parent": task.parent_key,
        "parent_id": parent.id if parent is not None else None,
    }
    for name in CREATE_FIELDS:
        if name not in task.fields:
            continue
        if name == "checklist":
            after["checklist"] = [
                {"name": i.name, "completed": i.completed} for i in task.checklist
            ]
        else:
            set_field(after, name, desired_value(task, name))
    if task.protect:
        after["protect"] = True  # the marker is written protected
    change = TaskCreate(key=task.key, parent=task.parent_key, after=after)
    return place(CREATES, _place(ctx, change, task), depth=task.depth, rank=ctx.rank[task.key])


def _update(
    ctx: Context, task: DesiredTask, live: LiveTask, recall: Callable[[], Memory | None]
) -> list[Step]:
    fields, before, after, notes = _diff(ctx, task, live)
    origin = field_origins({f: after.get(f) for f in fields}, before, recall()) if fields else {}
    old_key = ctx.matching.renamed.get(task.key)
    adopted = task.key in ctx.matching.adopted
    steps = [_note(ctx, task, reason) for reason in notes]
    protect = _protect_change(ctx, task, live)
    if old_key is not None or adopted:
        fields.insert(0, "key")
        before = {"key": old_key, **before}
        after = {"key": task.key, **after}
        if protect is not None:
            # The applier rewrites a renamed or adopted marker without the flag: the flag
            # gets its own change after it (for a renamed key, merged into the same PUT).
            rank = ctx.rank[task.key]
            steps.append(
                place(
                    UPDATES,
                    _place(ctx, protect, task),
                    flag_after_marker=1,
                    depth=task.depth,
                    rank=rank,
                )
            )
    elif protect is not None:
        fields.append("protect")
        before["protect"] = protect.before["protect"]
        after.update(protect.after)
    if not fields:
        return steps
    reason, code = _update_reason(old_key, adopted)
    if not reason and protect is not None:
        reason, code = protect.reason, protect.code
    if not reason and "status" in fields and ctx.switches_set:
        reason = "the workspace switches status sets: the status is set again"
        code = ReasonCode.SET_SWITCH
    if origin:
        reason = "; ".join(r for r in (reason, origin_reason(origin)) if r)
        code = code or ReasonCode.FIELD_ORIGIN
    kind = TaskAdopt if adopted else TaskUpdate
    change: Change = kind(
        key=task.key,
        id=live.id,
        parent=task.parent_key,
        before=before,
        after=after,
        fields=tuple(fields),
        reason=reason,
        code=code,
        origin=origin,
    )
    stage = CREATES if adopted else UPDATES
    steps.append(place(stage, _place(ctx, change, task), depth=task.depth, rank=ctx.rank[task.key]))
    return steps


def _protect_change(ctx: Context, task: DesiredTask, live: LiveTask) -> TaskUpdate | None:
    """An update of field `protect` when the live marker's flag differs from the manifest.

    `after["marker"]` names the marker to rewrite (stack and key), so the applier can send
    it with the flag (kxplan.apply._payload.story_attributes).
    """
    marker = live.marker_for(ctx.manifest.name)
    have = marker is not None and marker.protected
    if have == task.protect:
        return None
    return TaskUpdate(
        key=task.key,
        id=live.id,
        parent=task.parent_key,
        before={"protect": have},
        after={"protect": task.protect, "marker": {"stack": ctx.manifest.name, "key": task.key}},
        fields=("protect",),
        reason="" if task.protect else "released: kxplan may delete it once it leaves the manifest",
        code=ReasonCode.NONE if task.protect else ReasonCode.RELEASED,
    )


def _update_reason(old_key: str | None, adopted: bool) -> tuple[str, ReasonCode]:
    if adopted:
        return (
            "adopt: an unmanaged task with the same title path gets this stack's marker",
            ReasonCode.ADOPTED,
        )
    if old_key is not None:
        return f"renamed from key '{old_key}': the marker is rewritten", ReasonCode.KEY_RENAMED
    return "", ReasonCode.NONE


class _Compared(NamedTuple):
    """The fields `_diff` compares for one combination of `fields`, `ignore_changes` and
    `enforce` (many tasks share one)."""

    names: tuple[str, ...]  # in COMPARED_FIELDS order
    stored: Callable[[Any], Any]  # their values as stored, status left out (see _diff)
    status: tuple[str, ...]  # ("status",) when status is compared, else ()


@functools.lru_cache(maxsize=256)
def _compared(
    fields: frozenset[str], ignore_changes: frozenset[str], enforce: frozenset[str]
) -> _Compared:
    names = tuple(
        name
        for name in COMPARED_FIELDS
        if name in fields
        and name not in ignore_changes
        # people's progress: set on create, never reverted
        and (name not in PROGRESS_FIELDS or name in enforce)
    )
    plain = [name for name in names if name != "status"]
    stored = operator.attrgetter(*plain) if plain else (lambda obj: None)
    return _Compared(names, stored, ("status",) if "status" in names else ())


def _stored_equal(compared: _Compared, task: DesiredTask, live: LiveTask) -> bool:
    """Whether every compared field but status is equal as stored on both (one tuple
    compare): equal as stored, so equal normalised, as `_diff` checks field by field."""
    return bool(compared.stored(task) == compared.stored(live))


def _diff(
    ctx: Context, task: DesiredTask, live: LiveTask
) -> tuple[list[str], TaskValues, TaskValues, list[str]]:
    fields: list[str] = []
    before: TaskValues = {}
    after: TaskValues = {}
    notes: list[str] = []
    compared = _compared(task.fields, task.ignore_changes, task.enforce)
    # The common, no-change case: only the status (when compared) is left to look at.
    names = compared.status if _stored_equal(compared, task, live) else compared.names
    for name in names:
        if name != "status" and getattr(task, name) == getattr(live, name):
            continue  # equal as stored, so equal normalised (the common, no-change case)
        want, have = desired_value(task, name), _live(ctx, live, name)
        if same(name, want, have) and not _status_may_move(ctx, task, name):
            continue
        if name in PROGRESS_FIELDS and task.key in ctx.parents_with_children:
            notes.append(
                f"{name} is {have!r}, manifest says {want!r}: Kantata rolls it up "
                "from the subtasks, so kxplan leaves it"
            )
            continue
        fields.append(name)
        set_field(before, name, have)
        set_field(after, name, want)
    return fields, before, after, notes


def _status_may_move(ctx: Context, task: DesiredTask, name: str) -> bool:
    """A status the plan's set switch may move (Kantata's choice; docs/apply.md): set again.

    Parents are left out: Kantata rolls their progress up from the subtasks."""
    return (
        name == "status"
        and ctx.switches_set
        and task.status is not None
        and task.key not in ctx.parents_with_children
    )


def _live(ctx: Context, live: LiveTask, name: str) -> Any:
    value = live_value(live, name)
    if name == "status" and value is not None:
        # Statuses renamed earlier in this plan carry their tasks along; a status the plan
        # deletes is not mapped, so its tasks are given their status again before.
        return ctx.status_after.get(value, value)
    if name == "tags":
        return unique_tags(value)
    return value


def _move(ctx: Context, task: DesiredTask, live: LiveTask) -> list[Step]:
    if "parent" in task.ignore_changes:
        return []
    parent = ctx.matching.by_key.get(task.parent_key or "")
    if task.parent_key is None and live.parent_id is None:
        return []
    if parent is not None and live.parent_id == parent.id:
        return []
    old_parent = ctx.live_by_id.get(live.parent_id or "")
    placed = parent is not None or task.parent_key is None  # the new parent exists
    change = TaskMove(
        key=task.key,
        id=live.id,
        parent=task.parent_key,
        before={
            "parent": ctx.live_key(old_parent) if old_parent is not None else None,
            "parent_id": live.parent_id,
        },
        after={"parent": task.parent_key, "parent_id": parent.id if parent else None},
        reason="" if placed else "new parent is created first",
        code=ReasonCode.NONE if placed else ReasonCode.NEW_PARENT_FIRST,
    )
    # Moves run shallowest first (desired depth), so a parent is in place before its child.
    return [place(UPDATES, _place(ctx, change, task), depth=task.depth, rank=ctx.rank[task.key])]


def _note(ctx: Context, task: DesiredTask, reason: str) -> Step:
    change = Note(key=task.key, reason=reason, code=ReasonCode.ROLLED_UP)
    return place(NOTES, _place(ctx, change, task), rank=ctx.rank[task.key])
