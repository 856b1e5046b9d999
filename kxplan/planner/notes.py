"""Warnings: what kxplan sees but does not change (plan notes, never calls)."""

from __future__ import annotations

from collections.abc import Callable

from kxplan.changes.base import ReasonCode
from kxplan.changes.note import Note
from kxplan.changes.stages import NOTES, UNMANAGED, Stage
from kxplan.ids import IdOrder, id_order
from kxplan.model import LiveTask
from kxplan.planner.context import Context, title_path
from kxplan.planner.duplicates import plan_duplicates
from kxplan.planner.order import Step, place


def plan_notes(ctx: Context, in_scope: Callable[[LiveTask], bool]) -> list[Step]:
    """Duplicate markers (one note, and the copies --prune deletes), unmanaged tasks and
    sibling-order drift."""
    steps = plan_duplicates(ctx, in_scope)
    steps.extend(_unmanaged(ctx, t) for t in ctx.matching.unmanaged if in_scope(t))
    steps.extend(_order_drift(ctx))
    return steps


def _warn(
    key: str,
    reason: str,
    code: ReasonCode,
    *,
    id: str | None = None,
    path: str = "",
    stage: Stage = NOTES,
) -> Step:
    change = Note(key=key, id=id, reason=reason, code=code, path=path or key)
    return place(stage, change)


def _unmanaged(ctx: Context, task: LiveTask) -> Step:
    return _warn(
        task.title,
        "unmanaged: no kxplan marker, so kxplan never changes it (adopt it with --adopt)",
        ReasonCode.UNMANAGED,
        id=task.id,
        path=title_path(task, ctx.live_by_id),
        stage=UNMANAGED,
    )


def _order_drift(ctx: Context) -> list[Step]:
    """At most ONE warning for every sibling group whose live order differs from the manifest.

    Position is not writable through the API, so a drift never goes away by applying: one
    line says how many parents are affected and how to silence it, instead of a warning per
    parent on every plan. The applier avoids drift in what it creates (docs/apply.md).
    """
    drifted: list[tuple[str | None, list[str], list[str]]] = []
    unsure = _unsure_groups(ctx)
    if unsure:
        siblings: dict[str | None, list[str]] = {}
        for task in ctx.manifest.tasks:
            if ORDER_FIELD not in task.ignore_changes and task.parent_key in unsure:
                siblings.setdefault(task.parent_key, []).append(task.key)
        for parent_key, keys in siblings.items():
            staying = _staying(ctx, parent_key, keys)
            live_order = sorted(staying, key=lambda k: _position(ctx, k))
            if live_order != staying:
                drifted.append((parent_key, live_order, staying))
    if not drifted:
        return []
    # Parents in manifest order. Sorting only the drifted groups gives the order sorting
    # every group first would: the sort is stable, and groups were visited in dict order
    # (first child first), as that sort would have met them.
    drifted.sort(key=lambda d: ctx.rank.get(d[0] or "", -1))
    return [
        _warn("(task order)", _drift_reason(drifted), ReasonCode.ORDER_DRIFT, path="(task order)")
    ]


#: The `ignore_changes` entry that silences the order warning.
ORDER_FIELD = "position"

_SILENCE = (
    "positions cannot be changed through the API, so kxplan reports it only (to silence "
    f"this, add `{ORDER_FIELD}` to the top-level `ignore_changes`)"
)


def _drift_reason(drifted: list[tuple[str | None, list[str], list[str]]]) -> str:
    def where(parent_key: str | None) -> str:
        return f"under '{parent_key}'" if parent_key else "at the top level"

    if len(drifted) == 1:
        parent_key, live_order, staying = drifted[0]
        return (
            f"task order {where(parent_key)} differs from the manifest (Kantata: "
            f"{', '.join(live_order)}; manifest: {', '.join(staying)}); {_SILENCE}"
        )
    shown = ", ".join(f"'{p}'" if p else "the top level" for p, _, _ in drifted[:3])
    more = f" and {len(drifted) - 3} more" if len(drifted) > 3 else ""
    return (
        f"task order differs from the manifest under {len(drifted)} parents ({shown}{more}); "
        f"{_SILENCE}"
    )


def _unsure_groups(ctx: Context) -> set[str | None]:
    """The parent keys (None: the top level) whose staying children (see `_staying`), in
    manifest order, do not have rising live positions; found in one pass over the tasks.

    Any other group is in order: sorting a list by (position, id) when its positions
    already rise leaves it as it is, so only these groups need to be sorted to tell."""
    by_key = ctx.matching.by_key
    last: dict[str | None, int] = {}  # parent key -> position of its last staying child so far
    unsure: set[str | None] = set()
    for task in ctx.manifest.tasks:
        live = by_key.get(task.key)
        if live is None or ORDER_FIELD in task.ignore_changes:
            continue
        parent_key = task.parent_key
        if parent_key is None:
            want = None
        else:
            parent = by_key.get(parent_key)
            if parent is None:
                continue
            want = parent.id
        if live.parent_id != want:
            continue  # not staying: it moves
        previous = last.get(parent_key)
        if previous is not None and live.position <= previous:
            unsure.add(parent_key)
        last[parent_key] = live.position
    return unsure


def _staying(ctx: Context, parent_key: str | None, keys: list[str]) -> list[str]:
    """Keys of siblings that exist and already sit under the desired parent."""
    parent = ctx.matching.by_key.get(parent_key or "")
    if parent_key is not None and parent is None:
        return []
    want = parent.id if parent is not None else None
    by_key = ctx.matching.by_key
    return [k for k in keys if (live := by_key.get(k)) is not None and live.parent_id == want]


def _position(ctx: Context, key: str) -> tuple[int, IdOrder]:
    task = ctx.matching.by_key[key]
    return (task.position, id_order(task.id))
