"""Task adoptions, updates, moves and deletes: one PUT or DELETE per story, concurrently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kxplan.apply._creates import create_deferred, create_now, parent_id
from kxplan.apply._payload import (
    marker,
    merge_reference,
    story_attributes,
    story_lift,
    story_update,
    unwritable,
)
from kxplan.apply._run import Run, about, delete_quietly, label
from kxplan.changes.base import Action, Change, Kind, expect
from kxplan.changes.batches import by_depth, story_puts
from kxplan.changes.depth import Move, move_of, play_moves, tree_from_plan
from kxplan.changes.task import TaskFieldChange, TaskMove
from kxplan.errors import ApplyError, ValidationError
from kxplan.ids import id_order
from kxplan.live import read_tasks
from kxplan.live._params import STORY_PARAMS, chunks

# --------------------------------------------------------------------------- adopt, update, move


def adopt_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Adoptions, one PUT each; a task that is also updated or moved is adopted later, by the
    same PUT as its update or move (`update_and_move_tasks`)."""
    later = _updated_ids(run)
    update_tasks(run, [c for c in changes if _story_id(run, c) not in later])


def update_and_move_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Updates and moves, one PUT per task whenever Kantata allows it.

    Kantata allows 4 levels below a top-level task and a moved task takes its subtree along,
    so a move can be refused at a given moment (its subtree still holds tasks that move out
    later or that the plan deletes, or its new parent is still below it). A model of the
    live tree (`_depth`) tells which: the plan's task deletes run first when no moving task
    is under a deleted one; moves go shallowest desired depth first, each in ONE PUT (with
    the task's other updates) when the model says it is allowed; only the others are lifted
    to the top level, and placed, level by level with the creates that waited
    (`run.deferred`), after the deletes.
    """
    # Adoptions first: a later update of the same story (e.g. `protect`) writes the marker last.
    updates = _waiting_adopts(run) + [c for c in changes if c.action is not Action.MOVE]
    moves = [c for c in changes if c.action is Action.MOVE]
    moving = {_story_id(run, c) for c in moves}
    if updates:
        update_tasks(run, [c for c in updates if _story_id(run, c) not in moving])
    if not moves:
        create_deferred(run)
        return
    along = [c for c in updates if _story_id(run, c) in moving]  # sent with the move's PUT
    _move(run, moves, along)


def _updated_ids(run: Run) -> set[str]:
    """Stories the plan updates or moves (in wave 3)."""
    merged = (Action.UPDATE, Action.MOVE)
    return {
        _story_id(run, c) for c in run.plan.actionable if c.kind is Kind.TASK and c.action in merged
    }


def _waiting_adopts(run: Run) -> list[Change]:
    """Adoptions `adopt_tasks` left to the updates and moves of their tasks."""
    done = {id(c) for c in run.applied}
    later = _updated_ids(run)
    return [
        c
        for c in run.plan.actionable
        if c.kind is Kind.TASK
        and c.action is Action.ADOPT
        and id(c) not in done
        and _story_id(run, c) in later
    ]


def _move(run: Run, changes: list[Change], along: list[Change]) -> None:
    """The moves and the plan's task deletes, in the rounds of kxplan.changes.depth (the
    rules the plan's estimate counts its lifts with)."""
    moves = [move_of(expect(c, TaskMove), _story_id(run, c), run.task_ids) for c in changes]
    by_id = {m.id: c for m, c in zip(moves, changes, strict=True)}
    port = _MovePort(run, by_id, along)
    tree = tree_from_plan(run.plan.changes, run.task_ids)
    later = play_moves(tree, moves, _ids(_pending_deletes(run)), port)
    _place(run, [by_id[m.id] for m in later], along)


@dataclass(frozen=True, slots=True)
class _MovePort:
    """`MovePort` over Kantata: each move is one PUT with the task's other updates."""

    run: Run
    by_id: dict[str, Change]
    along: list[Change]

    def delete(self) -> None:
        delete_tasks(self.run, _pending_deletes(self.run))

    def send(self, moves: Sequence[Move]) -> Sequence[Move]:
        run, by_id = self.run, self.by_id

        def put(m: Move) -> ValidationError | None:
            change = by_id[m.id]
            return _put_story(run, m.id, [change, *_riding(run, self.along, [change])])

        results = run.map(put, moves)
        refused = [m for m, err in zip(moves, results, strict=True) if err is not None]
        run.count_refused(len(refused))  # each is sent again later: beyond what the plan estimated
        return refused

    def lift(self, planned: Sequence[Move], refused: Sequence[Move]) -> None:
        _lift(self.run, [self.by_id[m.id] for m in (*planned, *refused)])
        self.run.count_refused(len(refused))  # a lift the plan did not foresee


def _ids(changes: Sequence[Change]) -> list[str]:
    return [str(c.id) for c in changes if c.id is not None]


def _story_id(run: Run, change: Change) -> str:
    story_id = change.id or run.task_ids.get(change.key)
    if not story_id:
        raise ApplyError(
            f"{label((change,))} has no story id to update",
            hint="run `kxplan plan` again; the workspace changed while applying",
        )
    return story_id


def _riding(run: Run, along: list[Change], moves: list[Change]) -> list[Change]:
    """The updates of the stories moved by `moves`."""
    ids = {_story_id(run, c) for c in moves}
    return [c for c in along if _story_id(run, c) in ids]


def _lift(run: Run, moves: list[Change]) -> None:
    """Move these tasks to the top level for now (their changes are not complete yet)."""

    def lift(change: Change) -> None:
        story_id = _story_id(run, change)
        with about(f"{label((change,))} (id {story_id})"):
            run.client.request("PUT", f"/stories/{story_id}", json=story_lift())

    run.map(lift, moves)
    run.count_lifts(len(moves))


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
    creates = by_depth(waiting)  # as the plan's estimate counts them (kxplan.changes.batches)
    for depth in sorted({c.depth for c in moves} | set(creates)):
        here = [c for c in moves if c.depth == depth]
        if here:
            update_tasks(run, here + _riding(run, along, here))
        create_now(run, creates.get(depth, []))


def update_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Adoptions, updates and moves: one PUT per story (changes to one story are merged),
    concurrently. A move refused (e.g. its parent is not in place yet) is retried after the
    others, as long as each round makes progress."""
    pending = _merge_by_story(run, changes)
    while pending:
        results = run.map(lambda p: _put_story(run, *p), pending)
        failed = [(p, err) for p, err in zip(pending, results, strict=True) if err is not None]
        pending = [p for p, _ in failed]
        if failed and len(failed) < len(results):
            run.count_refused(len(failed))  # sent again: beyond what the plan estimated
        if len(failed) == len(results):
            (story_id, group), err = failed[0]
            raise ApplyError(f"{label(group)} (id {story_id}): {err.message}") from err


def _merge_by_story(run: Run, changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    def story_id(c: Change) -> str:
        found = c.id or run.task_ids.get(c.key)
        if found is None:
            raise ApplyError(f"task {c.key!r} has no id to update", hint="run `kxplan plan` again")
        return found

    return story_puts(changes, story_id)  # as the plan's estimate counts them


def _put_story(run: Run, story_id: str, changes: list[Change]) -> ValidationError | None:
    body: dict[str, Any] = {}
    for c in changes:
        part = _story_body(run, c)
        ref = part.pop("external_reference", None)
        body.update(part)
        if ref is not None:
            merge_reference(body, ref)
    _add_memory(run, body, changes)
    with about(f"{label(changes)} (id {story_id})"):
        try:
            run.client.request("PUT", f"/stories/{story_id}", json=story_update(body))
        except ValidationError as err:
            if any(c.action is Action.MOVE for c in changes):
                return err  # maybe only the order: retried after the other moves
            raise
    run.done(changes)
    return None


def _add_memory(run: Run, body: dict[str, Any], changes: list[Change]) -> None:
    """The task's memory rides in the PUT that changes it (no extra request)."""
    for c in changes:
        memory = run.plan.memory.get(c.key) if c.kind is Kind.TASK else None
        if memory is not None:
            key = c.after.get("key") if isinstance(c, TaskFieldChange) else None
            merge_reference(body, marker(run.stack, key or c.key, memory=str(memory["text"])))
            return


def _story_body(run: Run, change: Change) -> dict[str, Any]:
    if isinstance(change, TaskMove):
        return {"parent_id": _move_target(run, change)}
    after = expect(change, TaskFieldChange).after
    fields = change.fields or None
    unsent = unwritable(after, fields) if change.action is Action.UPDATE else []
    if unsent:
        raise ApplyError(
            f"{label((change,))}: the plan changes {', '.join(unsent)} but holds no value "
            "kxplan can send for it",
            hint="plan again (a saved plan from another kxplan version?)",
        )
    body = story_attributes(after, fields)
    new_key = after.get("key")
    if change.action is Action.ADOPT or new_key:
        body["external_reference"] = marker(run.stack, new_key or change.key)
    return body


def _move_target(run: Run, change: TaskMove) -> int | None:
    after = change.after
    if after["parent"] is None:
        return None
    target = parent_id(run, change)
    if target is None:  # never silently to the top level: the plan names a parent
        raise ApplyError(f"{label((change,))}: its new parent {after['parent']!r} has no id")
    return int(target)


# --------------------------------------------------------------------------- deletes


def delete_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Delete the topmost tasks first, then only the subtasks Kantata did not delete with
    them; tasks at one height concurrently.

    Whether Kantata deletes a story's subtasks with it is not documented, so it is read,
    never guessed: after the parents' DELETEs one `only=` read of the subtasks' ids says
    which are still there. Those that are gone count as deleted (the read showed it); the
    others get their own DELETE: children first once the read showed that nothing went
    with its parent, else again top-down with a read after each round. The planner never
    deletes a task while something it keeps (people's subtasks included) stays under it
    (docs/apply.md, "Deletes").
    """
    todo = list(changes)
    while todo:
        planned = {c.key for c in todo}
        tops = [c for c in todo if c.parent not in planned]
        run.map(lambda c: _delete_one(run, c), tops)
        below = [c for c in todo if c.parent in planned]
        if not below:
            return
        there = _still_there(run, below)
        went = [c for c in below if c.id is not None and str(c.id) not in there]
        run.count_cascaded(len(went))
        run.done(went)
        todo = [c for c in below if c.id is None or str(c.id) in there]
        if len(todo) == len(below):  # nothing went with its parent: no cascade to wait for
            for group in delete_heights(todo):
                run.map(lambda c: _delete_one(run, c), group)
            return


def _still_there(run: Run, changes: Sequence[Change]) -> set[str]:
    """The ids of these stories that a read still lists (deleted ones it never does). No
    check of parent links: a subtask whose parent was just deleted names it as its parent."""
    ids = sorted({str(c.id) for c in changes if c.id is not None}, key=id_order)

    def batch(chunk: Sequence[str]) -> set[str]:
        params = {"workspace_id": run.workspace_id, **STORY_PARAMS, "only": ",".join(chunk)}
        params.pop("include", None)
        records = run.client.get_all("/stories", params)
        return {str(s["id"]) for s in records.items}

    found = run.map(batch, chunks(ids))
    run.count_extra(len(found))
    return set().union(*found)


def _delete_one(run: Run, change: Change) -> None:
    if change.id is None:
        raise ApplyError(f"{label((change,))}: the planned delete names no story id")
    with about(f"{label((change,))} (id {change.id})"):
        if not delete_quietly(run.client, f"/stories/{change.id}"):
            _check_gone(run, change)
    run.done((change,))


def _check_gone(run: Run, change: Change) -> None:
    """A DELETE answered 404: fine if the story is gone (a retry after a lost answer, or a
    cascade), an error if it is still listed (the 404 was about something else)."""
    run.count_extra()
    if str(change.id) in read_tasks(run.client, run.workspace_id, [str(change.id)]):
        raise ApplyError(
            f"{label((change,))} (id {change.id}): DELETE answered 404 but the story is "
            "still in the workspace",
            hint="check the API user's rights on the workspace, then apply again",
        )


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
