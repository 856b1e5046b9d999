"""Planning tasks that left the manifest: delete (with prune), keep, or blocked.

Deletion is opt-in (`--prune` / `prune: true`). A task is never deleted while something
kxplan does not delete stays under it (an unmanaged or other stack's subtask, a blocked
one), because Kantata may take subtasks with their parent. Deletes run children first.

A protected task (its marker says so, see `LiveMarker.protected`) is never deleted, with or
without prune: it is shown as blocked, and so is every task whose delete would take it along.
"""

from __future__ import annotations

from collections.abc import Callable

from kxplan.changes.base import Action, Change, Kind, ReasonCode
from kxplan.changes.stages import KEPT, TASK_DELETES
from kxplan.changes.task import GoneTask, TaskBlocked, TaskDelete, TaskKeep
from kxplan.errors import UnsafePlanError
from kxplan.model import LiveTask
from kxplan.planner.context import Context
from kxplan.planner.duplicates import people_work
from kxplan.planner.order import Step, place

#: The mass-delete guard: more than this share of managed tasks, and at least MIN tasks.
MASS_DELETE_SHARE = 0.10
MASS_DELETE_MIN = 5


def plan_orphans(ctx: Context, in_scope: Callable[[LiveTask], bool]) -> list[Step]:
    """Delete / keep / blocked steps for live tasks this stack owns but no longer wants."""
    orphans = [t for t in ctx.matching.orphans if in_scope(t)]
    copied = set(_staying_copies(ctx))
    doomed = (
        {t.id for t in orphans if ctx.live_key(t) not in copied and not _protected(ctx, t)}
        if ctx.prune
        else set()
    )
    # Idle copies are deleted in the same plan (kxplan.planner.duplicates): they do not
    # hold their parent back.
    if ctx.prune:
        doomed |= {
            t.id
            for key, t in ctx.matching.duplicates
            if in_scope(t) and not people_work(ctx, key, t)
        }
    memo: dict[str, str | None] = {}
    steps = []
    for task in orphans:
        steps.append(_orphan_step(ctx, task, doomed, memo))
    return steps


def _orphan_step(
    ctx: Context, task: LiveTask, doomed: set[str], memo: dict[str, str | None]
) -> Step:
    key, depth = ctx.live_key(task), ctx.live_depth(task)
    parent = ctx.live_by_id.get(task.parent_id or "")
    gone: GoneTask = {"title": task.title, "parent": ctx.live_key(parent) if parent else None}

    def fate(
        cls: type[TaskBlocked | TaskKeep | TaskDelete], reason: str, code: ReasonCode
    ) -> Change:
        parent_key = ctx.live_key(parent) if parent is not None else None
        return cls(
            key=key,
            id=task.id,
            parent=parent_key,
            before=gone,
            reason=reason,
            code=code,
            depth=depth,
            path=ctx.live_path(task),
        )

    if _protected(ctx, task):
        return place(KEPT, fate(TaskBlocked, PROTECTED_REASON, ReasonCode.PROTECTED))
    if not ctx.prune:
        kept = "removed from the manifest; kept (delete with --prune)"
        return place(KEPT, fate(TaskKeep, kept, ReasonCode.REMOVED_KEPT))
    copies = _staying_copies(ctx).get(key, 0)
    blocker = _blocker(ctx, task, doomed, memo)
    if copies:
        # Deleting the task would hand its key to a copy, deleted by the next run: resolve first.
        blocker = f"{copies} other stor{'ies carry' if copies > 1 else 'y carries'} its marker"
    if blocker is not None:
        blocked = fate(TaskBlocked, f"not deleted: {blocker}", ReasonCode.DELETE_BLOCKED)
        return place(KEPT, blocked)
    delete = fate(TaskDelete, "removed from the manifest (prune)", ReasonCode.PRUNED)
    # Deepest first, so children go before their parents.
    return place(TASK_DELETES, delete, depth=depth)


def _staying_copies(ctx: Context) -> dict[str, int]:
    """Key -> how many of its copies stay after this plan (see `kxplan.planner.duplicates`:
    with prune, the copies that carry no people's work are deleted with the task)."""
    counts: dict[str, int] = {}
    for key, copy in ctx.matching.duplicates:
        if not ctx.prune or people_work(ctx, key, copy):
            counts[key] = counts.get(key, 0) + 1
    return counts


#: Why a protected task that left the manifest stays, and how to release it.
PROTECTED_REASON = (
    "protected: kxplan never deletes it; to release it, put it back in the manifest with "
    "`protect: false`, apply, then remove it"
)


def _protected(ctx: Context, task: LiveTask) -> bool:
    marker = task.marker_for(ctx.manifest.name)
    return marker is not None and marker.protected


def _blocker(
    ctx: Context, task: LiveTask, doomed: set[str], memo: dict[str, str | None]
) -> str | None:
    """Why deleting `task` would take something kxplan keeps, or None."""
    if task.id in memo:
        return memo[task.id]
    memo[task.id] = None  # guards against parent cycles in odd live data
    reason = None
    for child in ctx.live_children.get(task.id, ()):
        if _moves_away(ctx, child, task):
            continue
        if _protected(ctx, child) and ctx.key_by_live_id.get(child.id) is None:
            reason = f"its subtask '{child.title}' (#{child.id}) is protected"
        elif child.id not in doomed:
            reason = f"subtask '{child.title}' (#{child.id}) stays and would go with it"
        elif _blocker(ctx, child, doomed, memo) is not None:
            reason = f"its subtask '{child.title}' (#{child.id}) is blocked"
        if reason:
            break
    memo[task.id] = reason
    return reason


def _moves_away(ctx: Context, child: LiveTask, parent: LiveTask) -> bool:
    """A desired task now under `parent` is moved elsewhere before deletes run."""
    key = ctx.key_by_live_id.get(child.id)
    if key is None:
        return False
    desired = ctx.desired[key]
    if "parent" in desired.ignore_changes:
        return False
    new_parent = ctx.matching.by_key.get(desired.parent_key or "")
    return new_parent is None or new_parent.id != parent.id


#: What the mass-delete guard counts, and how each is named.
_GUARDED = (
    (Kind.TASK, "tasks"),
    (Kind.CHECKLIST_ITEM, "checklist items"),
    (Kind.STATUS, "statuses"),
)


def check_mass_delete(ctx: Context, changes: tuple[Change, ...]) -> None:
    """Refuse a plan deleting over 10 % (and at least 5) of what kxplan manages here unless
    allowed: of its tasks, of the checklist items on them, or of the statuses of the set the
    manifest names, each kind counted against its own number (so the guard for tasks is as
    before). The defaults of a set the plan creates are not counted: they have no id yet.
    Copies of a key that carry no people's work are not counted either: the key's task stays."""
    if ctx.options.allow_mass_delete:
        return
    kinds = {kind for kind, _ in _GUARDED}
    deletes = [
        c
        for c in changes
        if c.kind in kinds
        and c.action is Action.DELETE
        and c.id is not None
        and not (isinstance(c, TaskDelete) and "copy_of" in c.before)
    ]
    if len(deletes) < MASS_DELETE_MIN:
        return  # too few to trip the guard for any kind (_too_many): nothing to count
    managed = _managed_objects(ctx)
    per_kind = [
        (noun, sum(c.kind is kind for c in deletes), managed[kind]) for kind, noun in _GUARDED
    ]
    tripped = next((g for g in per_kind if _too_many(g[1], g[2])), None)
    if tripped is None:
        return
    noun, n, of = tripped
    share = round(100 * n / of) if of else 100
    detail = ", ".join(f"{k} {name}" for name, k, _ in per_kind if k)
    what = f"{share} %" if noun == "tasks" and n == len(deletes) else f"{share} %: {detail}"
    shown = ", ".join(_delete_label(c) for c in deletes[:5]) + (", ..." if len(deletes) > 5 else "")
    raise UnsafePlanError(
        f"the plan for stack '{ctx.manifest.name}' would delete {n} of {of} managed "
        f"{noun} ({what}) in workspace '{ctx.live.workspace.title}': "
        f"{shown}",
        hint="check the manifest (a missing file or a bad merge?), then re-run with "
        "--allow-mass-delete if the deletes are intended",
    )


def _too_many(n: int, of: int) -> bool:
    return n >= MASS_DELETE_MIN and n > of * MASS_DELETE_SHARE


def _managed_objects(ctx: Context) -> dict[Kind, int]:
    """How many of each guarded kind a delete here could remove: managed tasks, the
    checklist items on them, the statuses of the set the manifest names."""
    tasks = [*ctx.matching.by_key.values(), *ctx.matching.orphans]
    desired = ctx.manifest.status_set
    live_set = ctx.live.status_set_named(desired.name) if desired is not None else None
    return {
        Kind.TASK: ctx.matching.managed_count,
        Kind.CHECKLIST_ITEM: sum(len(t.checklist) for t in tasks),
        Kind.STATUS: len(live_set.statuses) if live_set is not None else 0,
    }


def _delete_label(change: Change) -> str:
    if change.kind is Kind.TASK:
        return change.key
    if change.kind is Kind.CHECKLIST_ITEM:
        return f"checklist item {change.parent}[{change.key}]"
    return f"status {change.parent}/{change.key}"
