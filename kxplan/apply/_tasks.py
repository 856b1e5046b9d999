"""Task adoptions, updates, moves and deletes: one PUT or DELETE per story, concurrently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kxplan.apply._creates import create_deferred, create_now, parent_id
from kxplan.apply._payload import marker, story_attributes
from kxplan.apply._run import Run, about, delete_quietly, label
from kxplan.errors import ApplyError, ValidationError
from kxplan.plan import Action, Change, Kind

# --------------------------------------------------------------------------- adopt, update, move


def update_and_move_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Updates, and moves made depth-safe.

    Kantata allows 4 levels below a top-level task and a moved task takes its subtree along,
    so moving tasks one by one can be refused part-way (a subtree still holding tasks that
    move out later, or that the plan deletes). With moves in the plan:
    1. every moving task is lifted to the top level (always allowed);
    2. the plan's task deletes run now (what they delete no longer holds a moving task);
    3. moves and the creates that waited (`run.deferred`) are placed level by level of the
       desired tree, so each lands under a parent already in its final place.
    A move costs two PUTs this way (one if it goes to the top level).
    """
    moves = [c for c in changes if c.action is Action.MOVE]
    if not moves:
        if changes:
            update_tasks(run, changes)
        create_deferred(run)
        return
    moving = {_story_id(run, c) for c in moves}
    updates = [c for c in changes if c.action is not Action.MOVE]
    update_tasks(run, [c for c in updates if _story_id(run, c) not in moving])
    along = [c for c in updates if _story_id(run, c) in moving]  # sent with the final PUT
    to_top = [c for c in moves if _target(c) is None]
    _lift(run, [c for c in moves if _target(c) is not None and (c.before or {}).get("parent")])
    update_tasks(run, to_top + _riding(run, along, to_top))
    delete_tasks(run, _pending_deletes(run))
    _place(run, [c for c in moves if _target(c) is not None], along)


def _story_id(run: Run, change: Change) -> str:
    return change.id or run.task_ids.get(change.key, "")


def _target(change: Change) -> str | None:
    after = change.after or {}
    parent = after.get("parent", change.parent)
    return str(parent) if parent is not None else None


def _riding(run: Run, along: list[Change], moves: list[Change]) -> list[Change]:
    """The updates of the stories moved by `moves`."""
    ids = {_story_id(run, c) for c in moves}
    return [c for c in along if _story_id(run, c) in ids]


def _lift(run: Run, moves: list[Change]) -> None:
    """Move these tasks to the top level for now (no change is complete yet)."""

    def lift(change: Change) -> None:
        story_id = _story_id(run, change)
        with about(f"{label((change,))} (id {story_id})"):
            body = {"story": {"parent_id": None}}
            run.client.request("PUT", f"/stories/{story_id}", json=body)

    run.map(lift, moves)
    run.count_extra(len(moves))


def _pending_deletes(run: Run) -> list[Change]:
    done = {id(c) for c in run.applied}
    return [
        c
        for c in run.plan.actionable
        if c.kind is Kind.TASK and c.action is Action.DELETE and id(c) not in done
    ]


def _place(run: Run, moves: list[Change], along: list[Change]) -> None:
    """Moves and waiting creates, shallowest desired depth first."""
    waiting, run.deferred = run.deferred, []
    depths = sorted({c.depth for c in moves} | {c.depth for c in waiting})
    for depth in depths:
        here = [c for c in moves if c.depth == depth]
        if here:
            update_tasks(run, here + _riding(run, along, here))
        create_now(run, [c for c in waiting if c.depth == depth])


def update_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Adoptions, updates and moves: one PUT per story (changes to one story are merged),
    concurrently. A move refused (e.g. its parent is not in place yet) is retried after the
    others, as long as each round makes progress."""
    pending = _merge_by_story(run, changes)
    while pending:
        results = run.map(lambda p: _put_story(run, *p), pending)
        failed = [(p, err) for p, err in zip(pending, results, strict=True) if err is not None]
        pending = [p for p, _ in failed]
        if len(failed) == len(results):
            (story_id, group), err = failed[0]
            raise ApplyError(f"{label(group)} (id {story_id}): {err.message}") from err


def _merge_by_story(run: Run, changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    merged: dict[str, list[Change]] = {}
    for c in changes:
        story_id = c.id or run.task_ids.get(c.key)
        if story_id is None:
            raise ApplyError(f"task {c.key!r} has no id to update", hint="run `kxplan plan` again")
        merged.setdefault(story_id, []).append(c)
    return list(merged.items())


def _put_story(run: Run, story_id: str, changes: list[Change]) -> ValidationError | None:
    body: dict[str, Any] = {}
    for c in changes:
        body.update(_story_body(run, c))
    with about(f"{label(changes)} (id {story_id})"):
        try:
            run.client.request("PUT", f"/stories/{story_id}", json={"story": body})
        except ValidationError as err:
            if any(c.action is Action.MOVE for c in changes):
                return err  # maybe only the order: retried after the other moves
            raise
    run.done(changes)
    return None


def _story_body(run: Run, change: Change) -> dict[str, Any]:
    after = change.after or {}
    if change.action is Action.MOVE:
        return {"parent_id": _move_target(run, change)}
    body = story_attributes(after, change.fields or None)
    new_key = after.get("key")
    if change.action is Action.ADOPT or new_key:
        body["external_reference"] = marker(run.stack, str(new_key or change.key))
    return body


def _move_target(run: Run, change: Change) -> int | None:
    after = change.after or {}
    if after.get("parent") is None:
        return None
    target = parent_id(run, change)
    return int(target) if target is not None else None


# --------------------------------------------------------------------------- deletes


def delete_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Delete children before parents; siblings at the same height concurrently."""
    for group in delete_heights(changes):
        run.map(lambda c: _delete_one(run, c), group)


def _delete_one(run: Run, change: Change) -> None:
    if change.id is not None:
        with about(f"{label((change,))} (id {change.id})"):
            delete_quietly(run.client, f"/stories/{change.id}")
    run.done((change,))


def delete_heights(changes: Sequence[Change]) -> list[list[Change]]:
    children: dict[str, list[Change]] = {}
    for c in changes:
        if c.parent is not None:
            children.setdefault(c.parent, []).append(c)
    memo: dict[str, int] = {}

    def height(c: Change) -> int:
        if c.key not in memo:
            memo[c.key] = 1 + max((height(k) for k in children.get(c.key, ())), default=-1)
        return memo[c.key]

    groups: dict[int, list[Change]] = {}
    for c in changes:
        groups.setdefault(height(c), []).append(c)
    return [groups[h] for h in sorted(groups)]
