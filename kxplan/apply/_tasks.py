"""Task adoptions, updates, moves and deletes: one PUT or DELETE per story, concurrently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kxplan.apply._creates import create_deferred, parent_id
from kxplan.apply._payload import marker, story_attributes
from kxplan.apply._run import Run, about, delete_quietly, label
from kxplan.errors import ApplyError, ValidationError
from kxplan.plan import Action, Change, Kind

# --------------------------------------------------------------------------- adopt, update, move


def update_and_move_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Updates and moves; then the creates that waited for their parent to move; then the
    moves into those new tasks."""
    deferred = {c.key for c in run.deferred}
    into_new = [c for c in changes if c.action is Action.MOVE and _target(c) in deferred]
    later = {id(c) for c in into_new}
    first = [c for c in changes if id(c) not in later]
    if first:
        update_tasks(run, first)
    create_deferred(run)
    if into_new:
        update_tasks(run, into_new)


def _target(change: Change) -> str | None:
    after = change.after or {}
    parent = after.get("parent", change.parent)
    return str(parent) if parent is not None else None


def update_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Adoptions, updates and moves: one PUT per story (changes to one story are merged),
    concurrently. A move refused because of the order (e.g. a parent not moved yet) is retried
    after the others, as long as each round makes progress."""
    pending = _merge_by_story(run, changes)
    while pending:
        results = run.map(lambda p: _put_story(run, *p), pending)
        failed = [(p, err) for p, err in zip(pending, results, strict=True) if err is not None]
        pending = [p for p, _ in failed]
        stuck = [c for _, group in pending for c in group]
        if len(failed) == len(results) and not _delete_early(run, stuck):
            (story_id, group), err = failed[0]
            raise ApplyError(f"{label(group)} (id {story_id}): {err.message}") from err


def _delete_early(run: Run, stuck: Sequence[Change]) -> bool:
    """Run the plan's deletes now, when moves are stuck on depth.

    Kantata allows 4 levels below a top-level task and a moved task takes its subtree along,
    so moves can be refused only because of descendants the delete wave would remove later.
    A deleted task that is (an ancestor of) the old parent of a waiting move stays for later:
    deleting it would take the waiting task with it. Returns whether any task was deleted.
    """
    done = {id(c) for c in run.applied}
    deletes = {
        c.key: c
        for c in run.plan.actionable
        if c.kind is Kind.TASK and c.action is Action.DELETE and id(c) not in done
    }
    unsafe: set[str] = set()
    for change in stuck:
        unsafe.update(_chain((change.before or {}).get("parent"), deletes))
    early = [c for c in deletes.values() if c.key not in unsafe]
    if early:
        delete_tasks(run, early)
    return bool(early)


def _chain(key: str | None, deletes: dict[str, Change]) -> list[str]:
    """`key` and its ancestors, as far as the plan's deletes know them."""
    out: list[str] = []
    while key is not None and key not in out:
        out.append(key)
        if key in deletes:
            key = deletes[key].parent
        else:
            break
    return out


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
