"""Checklist item changes (Kantata "story tasks"), identified by their task and name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kxplan.apply._once import create_once
from kxplan.apply._payload import item_create, item_update, marker, story_marker
from kxplan.apply._run import Run, about, delete_quietly
from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.checklist import (
    ChecklistItemCreate,
    ChecklistItemDelete,
    ChecklistItemUpdate,
    NewItem,
)
from kxplan.errors import ApplyError
from kxplan.ids import result_ids
from kxplan.live import ITEM_PARAMS, find_tasks_by_marker


def apply_checklist(run: Run, changes: Sequence[Change]) -> None:
    """Apply item changes: one story after another inside a story (positions depend on order),
    stories concurrently."""
    groups: dict[str, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.parent or "", []).append(c)
    # Only a create needs its story's id (updates and deletes address the item itself).
    ids = _story_ids(run, [c for c in changes if c.action is Action.CREATE])
    run.map(lambda key: _apply_story(run, ids.get(key, ""), groups[key]), list(groups))


def _story_ids(run: Run, changes: Sequence[Change]) -> dict[str, str]:
    """Task key -> story id for the owners of `changes`, looking up by marker what is unknown."""
    ids: dict[str, str] = {}
    for c in changes:
        known = run.task_ids.get(c.parent or "") or _explicit_story_id(c)
        if known:
            ids[c.parent or ""] = known
    missing = sorted({c.parent or "" for c in changes} - set(ids))
    if missing:
        found = find_tasks_by_marker(run.client, run.workspace_id, run.stack, missing)
        run.count_extra()
        ids.update({k: t.id for k, t in found.items()})
    for key in missing:
        if key not in ids:
            raise ApplyError(
                f"task {key!r} was not found for its checklist changes",
                hint="it was deleted while applying; run `kxplan plan` again",
            )
    return ids


def _explicit_story_id(change: Change) -> str | None:
    return change.after["task_id"] if isinstance(change, ChecklistItemCreate) else None


def _target_position(change: Change) -> int:
    """Where an item goes (items that do not move: last)."""
    if isinstance(change, ChecklistItemCreate):
        return change.after["position"]
    if isinstance(change, ChecklistItemUpdate):
        return change.after.get("position", 1 << 30)
    return 1 << 30


def _apply_story(run: Run, story_id: str, changes: list[Change]) -> None:
    # Deletes first (they free names and positions), then the rest by target position, so
    # inserting each item at its place leaves the list in manifest order.
    deletes = [c for c in changes if c.action is Action.DELETE]
    others = sorted(
        (c for c in changes if c.action is not Action.DELETE),
        key=_target_position,
    )
    for c in deletes + others:
        with about(f"checklist item {c.parent}/{c.key!r}"):
            _apply_item(run, story_id, c)
        run.done((c,))
    _write_memory(run, changes[0].parent or "")


def _write_memory(run: Run, key: str) -> None:
    """The task's memory of its checklist, when no PUT of the task carried it: one PUT of
    the marker after the task's checklist changes (docs/apply.md, "The marker's memory")."""
    memory = run.plan.memory.get(key)
    carried = any(
        c.kind is Kind.TASK and c.key == key and c.action in _TASK_PUTS for c in run.plan.actionable
    )
    if memory is None or carried:
        return
    ref = marker(run.stack, key, memory=str(memory["text"]))
    with about(f"the memory on task {key!r}'s marker"):
        run.client.request("PUT", f"/stories/{memory['id']}", json=story_marker(ref))


#: Task changes whose PUT carries the task's memory (kxplan.apply._tasks).
_TASK_PUTS = (Action.UPDATE, Action.ADOPT, Action.MOVE)


def _apply_item(run: Run, story_id: str, change: Change) -> None:
    """One item change. An update of an item that is gone fails loudly (Kantata's 404,
    named by `about`); a delete of an item that is gone is done (the goal is reached)."""
    if isinstance(change, ChecklistItemCreate):
        _create_item(run, story_id, change.after)
        return
    if change.id is None:
        raise ApplyError(
            f"{change.action.value} checklist item {change.parent}/{change.key!r}: the plan has "
            "no id for it",
            hint="make a new plan with this version of kxplan",
        )
    if isinstance(change, ChecklistItemDelete):
        delete_quietly(run.client, f"/story_tasks/{change.id}")
    elif isinstance(change, ChecklistItemUpdate):
        body = item_update(change.after, change.fields)
        if body is None:
            raise ApplyError(
                f"update checklist item {change.parent}/{change.key!r}: the plan changes no "
                f"field this kxplan can write ({', '.join(change.fields) or 'none'})",
                hint="make a new plan with this version of kxplan",
            )
        run.client.request("PUT", f"/story_tasks/{change.id}", json=body)
    else:
        raise ApplyError(
            f"this kxplan cannot {change.action.value} a checklist item ({change.key!r})"
        )


def _create_item(run: Run, story_id: str, after: NewItem) -> None:
    """Create the item once (`create_once`): its identity is (task, name), so when the answer
    is lost, an item of that name on the story means the create went through."""
    name = after["name"]
    body = item_create(story_id, name, bool(after.get("completed", False)), after.get("position"))

    def send(_: list[str]) -> Mapping[str, Any]:
        return run.client.request("POST", "/story_tasks", json=body)

    def find(names: list[str]) -> dict[str, dict[str, Any]]:
        return _items_named(run, story_id, names)

    create_once(run, send, find, [name], f"creating checklist item {name!r}")


def _items_named(run: Run, story_id: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """The story's items among `names`, read in one request: name -> item."""
    data = run.client.request("GET", "/story_tasks", params={"story_id": story_id, **ITEM_PARAMS})
    run.count_extra()
    items = data.get("story_tasks") or {}
    wanted = set(names)
    found = [items[i] for i in result_ids(data) if i in items]
    return {str(it["name"]): dict(it) for it in found if it.get("name") in wanted}
