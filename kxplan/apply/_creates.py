"""Task creates: bulk `POST /stories` level by level, with look-ups when an answer is lost."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kxplan.apply._grace import look_again
from kxplan.apply._guard import guarded_create
from kxplan.apply._payload import completed_names, create_item
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run, about, label, result_ids
from kxplan.errors import ApplyError, TransportError
from kxplan.live import find_tasks_by_marker
from kxplan.model import LiveTask
from kxplan.plan import Action, Change, Kind

#: Kantata's limit on objects in one bulk `POST /stories`.
BULK_LIMIT = 300


def create_levels(changes: Sequence[Change]) -> list[list[Change]]:
    """Creates grouped so every parent is created in an earlier group than its children.

    Computed from the parent keys rather than trusting `depth`, so a plan built by any
    version of the planner still creates parents first.
    """
    by_key = {c.key: c for c in changes}
    memo: dict[str, int] = {}

    def level(c: Change) -> int:
        if c.key not in memo:
            parent = by_key.get(c.parent) if c.parent else None
            memo[c.key] = 0 if parent is None else level(parent) + 1
        return memo[c.key]

    levels: dict[int, list[Change]] = {}
    for c in changes:
        levels.setdefault(level(c), []).append(c)
    return [levels[n] for n in sorted(levels)]


def create_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Create tasks top-down, up to BULK_LIMIT per request, each with marker, checklist, tags.

    Each level is sent last-first: Kantata places a new task above its older siblings
    (NOTES §6.1.3), so creating in reverse leaves a fresh tree in manifest order. A create
    under a task that moves in this plan waits until after the moves (`run.deferred`): under
    the task's old place it could be refused as too deep.
    """
    now, run.deferred = _split_deferred(run, changes)
    create_now(run, now)


def _split_deferred(run: Run, changes: Sequence[Change]) -> tuple[list[Change], list[Change]]:
    """(creates to send now, creates to send after the moves).

    When the plan moves tasks, a create under an existing task waits (with its new
    descendants): the existing parent, or one of its ancestors, may be moving, and only
    after the moves is its depth final.
    """
    moves = any(c.kind is Kind.TASK and c.action is Action.MOVE for c in run.plan.actionable)
    if not moves:
        return list(changes), []
    created = {c.key for c in changes}
    waiting: set[str] = set()
    now: list[Change] = []
    later: list[Change] = []
    for level in create_levels(changes):  # parents first, so `waiting` grows down the tree
        for c in level:
            if c.parent is not None and (c.parent not in created or c.parent in waiting):
                waiting.add(c.key)
                later.append(c)
            else:
                now.append(c)
    return now, later


def create_now(run: Run, changes: Sequence[Change]) -> None:
    for level in create_levels(changes):
        group = level[::-1]
        for start in range(0, len(group), BULK_LIMIT):
            _create_batch(run, group[start : start + BULK_LIMIT])


def _create_batch(run: Run, batch: list[Change]) -> None:
    with about(f"creating {label(batch)}"):
        guarded_create(run, batch, _create_pending)  # lock and marker checks, if any


def _create_pending(run: Run, batch: list[Change]) -> None:
    pending = batch
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        items = [_item(run, c) for c in pending]
        try:
            response = run.client.request(
                "POST", "/stories", params={"include": "story_tasks"}, json={"stories": items}
            )
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
            # The server may have created them: look them up by marker before re-sending.
            pending = _recover(run, pending)
            if not pending:
                return
            continue
        _created(run, pending, response)
        return


def _item(run: Run, change: Change) -> dict[str, Any]:
    after = change.after or {}
    return create_item(run.stack, change.key, after, run.workspace_id, parent_id(run, change))


def parent_id(run: Run, change: Change) -> str | None:
    """The live id of the parent: from the plan, or from a create earlier in this run."""
    after = change.after or {}
    parent_key = after.get("parent", change.parent)
    if parent_key is None:
        return None
    if after.get("parent_id") is not None:
        return str(after["parent_id"])
    try:
        return run.task_ids[parent_key]
    except KeyError:
        raise ApplyError(
            f"task {change.key!r}: its parent {parent_key!r} has no id (it was neither in the "
            "workspace nor created by this apply)",
            hint="run `kxplan plan` again; the workspace changed while applying",
        ) from None


def _created(run: Run, batch: list[Change], response: Mapping[str, Any]) -> None:
    ids = result_ids(response)
    if len(ids) != len(batch):
        raise ApplyError(
            f"POST /stories returned {len(ids)} ids for {len(batch)} tasks",
            hint="run `kxplan plan` to see what was created, then apply again",
        )
    run.learn_ids({c.key: i for c, i in zip(batch, ids, strict=True)})
    todo: list[tuple[str, str]] = []
    for change, story_id in zip(batch, ids, strict=True):
        wanted = completed_names(change.after or {})
        if wanted:
            items = _items_from_envelope(run, story_id, response)
            todo.extend((story_id, items[n]) for n in wanted if n in items)
    _complete_items(run, todo)
    run.done(batch)


def _items_from_envelope(run: Run, story_id: str, response: Mapping[str, Any]) -> dict[str, str]:
    """Checklist item name -> id for one created story (from include=story_tasks, or a read)."""
    story = (response.get("stories") or {}).get(story_id) or {}
    tasks = response.get("story_tasks") or {}
    ids = story.get("story_task_ids")
    if ids is not None and all(str(i) in tasks for i in ids):
        return {tasks[str(i)]["name"]: str(i) for i in ids}
    return read_items(run, story_id)


def read_items(run: Run, story_id: str) -> dict[str, str]:
    """Checklist item name -> id of one story, read from the API."""
    data = run.client.request("GET", "/story_tasks", params={"story_id": story_id, "per_page": 200})
    tasks = data.get("story_tasks") or {}
    run.count_extra()
    return {tasks[i]["name"]: i for i in result_ids(data) if i in tasks}


def _recover(run: Run, pending: list[Change]) -> list[Change]:
    """Look up by marker the creates of a batch whose outcome is unknown; return the missing.

    A create may commit after its answer was lost: the look-up is repeated over a grace
    period before anything is called missing (`look_again`)."""

    def find(keys: list[str]) -> dict[str, LiveTask]:
        return find_tasks_by_marker(run.client, run.workspace_id, run.stack, keys)

    found = look_again(find, [c.key for c in pending], f"creating {label(pending)}")
    created = [c for c in pending if c.key in found]
    run.count_recovered(len(created))
    run.learn_ids({c.key: found[c.key].id for c in created})
    todo: list[tuple[str, str]] = []
    for change in created:
        todo.extend(_still_open(found[change.key], completed_names(change.after or {})))
    _complete_items(run, todo)
    run.done(created)
    return [c for c in pending if c.key not in found]


def _still_open(task: LiveTask, names: Iterable[str]) -> list[tuple[str, str]]:
    wanted = set(names)
    return [(task.id, i.id) for i in task.checklist if i.name in wanted and not i.completed]


def _complete_items(run: Run, todo: list[tuple[str, str]]) -> None:
    """Mark created checklist items completed: Kantata's `checklist` strings create them open."""

    def complete(pair: tuple[str, str]) -> None:
        run.client.request(
            "PUT", f"/story_tasks/{pair[1]}", json={"story_task": {"completed": True}}
        )

    run.map(complete, todo)
    run.count_extra(len(todo))


def create_deferred(run: Run) -> None:
    """Create the tasks that waited for their parent to move."""
    waiting, run.deferred = run.deferred, []
    if waiting:
        create_now(run, waiting)
