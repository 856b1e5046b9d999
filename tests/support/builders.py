"""Builders for planner tests: compact dicts (as written in tests/planner/cases/*.yaml) -> model
values.

This is deliberately independent of the manifest loader: the planner's cases describe the
*resolved* desired state, so they keep working whatever the YAML front end does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from kxplan.model import (
    TASK_FIELDS,
    DesiredChecklistItem,
    DesiredStatus,
    DesiredStatusSet,
    DesiredTask,
    LiveChecklistItem,
    LiveMarker,
    LiveState,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
    LiveWorkspace,
    Manifest,
    PlanOptions,
)
from kxplan.plan import Plan
from kxplan.planner.memory import Memory, encode, remember
from kxplan.shared_sets import with_usage

STACK = "demo"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def manifest_from(data: Mapping[str, Any], path: str = "case.yaml") -> Manifest:
    """A resolved Manifest from a compact dict (nested `children`, fields = keys written)."""
    top_enforce = frozenset(data.get("enforce", ()))
    top_ignore = frozenset(data.get("ignore_changes", ()))
    tasks: list[DesiredTask] = []

    def walk(items: Sequence[Mapping[str, Any]], parent: str | None, depth: int) -> None:
        for index, item in enumerate(items):
            task = _desired_task(item, parent, depth, index, top_enforce, top_ignore)
            tasks.append(task)
            walk(item.get("children", ()), task.key, depth + 1)

    walk(data.get("tasks", ()), None, 0)
    return Manifest(
        path=path,
        name=data.get("name", STACK),
        workspace=data.get("workspace"),
        tasks=tuple(tasks),
        status_set=_status_set(data.get("status_set")),
        prune=bool(data.get("prune", False)),
    )


def _desired_task(
    item: Mapping[str, Any],
    parent: str | None,
    depth: int,
    index: int,
    enforce: frozenset[str],
    ignore: frozenset[str],
) -> DesiredTask:
    written = {f for f in TASK_FIELDS if f in item}
    return DesiredTask(
        key=item.get("key") or slug(item["title"]),
        title=item["title"],
        parent_key=parent,
        depth=depth,
        index=index,
        type=item.get("type", "task"),
        description=item.get("description"),
        start_date=_str(item.get("start_date")),
        due_date=_str(item.get("due_date")),
        priority=item.get("priority"),
        status=item.get("status"),
        percentage_complete=item.get("percentage_complete"),
        tags=tuple(item.get("tags", ())),
        checklist=tuple(_item(c) for c in item.get("checklist", ())),
        archived=bool(item.get("archived", False)),
        protect=bool(item.get("protect", False)),
        renamed_from=tuple(item.get("renamed_from", ())),
        enforce=enforce | frozenset(item.get("enforce", ())),
        ignore_changes=ignore | frozenset(item.get("ignore_changes", ())),
        fields=frozenset(written | {"title", "parent"}),
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _item(data: str | Mapping[str, Any]) -> DesiredChecklistItem:
    if isinstance(data, str):
        return DesiredChecklistItem(data)
    return DesiredChecklistItem(
        data["name"], bool(data.get("completed", False)), tuple(data.get("renamed_from", ()))
    )


def _status_set(data: Mapping[str, Any] | None) -> DesiredStatusSet | None:
    if data is None:
        return None
    statuses = tuple(
        DesiredStatus(s["name"], s["category"], tuple(s.get("renamed_from", ())))
        for s in data["statuses"]
    )
    return DesiredStatusSet(data["name"], statuses)


def live_from(data: Mapping[str, Any] | None, stack: str = STACK) -> LiveState:
    """A LiveState from a compact dict: nested `children`; `key` adds this stack's marker,
    `stack` names another stack for it, `protected: true` flags it; `checklist` items get
    ids and positions. (`set_usage` is not live state: see `with_case_usage`.)"""
    data = data or {}
    ws = data.get("workspace", {})
    workspace = LiveWorkspace(
        str(ws.get("id", "1")), ws.get("title", "Workspace"), _str(ws.get("task_status_set_id"))
    )
    tasks: list[LiveTask] = []

    def walk(items: Sequence[Mapping[str, Any]], parent: str | None) -> None:
        for position, item in enumerate(items):
            task = _live_task(item, parent, position + 1, stack)
            tasks.append(task)
            walk(item.get("children", ()), task.id)

    walk(data.get("tasks", ()), None)
    tasks.sort(key=lambda t: int(t.id))
    sets = tuple(_live_set(s) for s in data.get("status_sets", ()))
    return LiveState(workspace, tuple(tasks), sets, int(data.get("requests", 3)))


def with_case_usage(plan: Plan, manifest: Manifest, data: Mapping[str, Any] | None) -> Plan:
    """`plan` with a case's `live.set_usage` (set id -> number of other workspaces using
    it) counted in as the CLI does after planning (kxplan.shared_sets.guard_plan counts
    them with requests, `with_usage` says them); their tasks are left uncounted."""
    usage = (data or {}).get("set_usage") or {}
    if manifest.status_set is None:
        return plan
    for set_id, others in usage.items():
        plan = with_usage(plan, manifest.status_set.name, str(set_id), int(others), None)
    return plan


def _live_task(item: Mapping[str, Any], parent: str | None, position: int, stack: str) -> LiveTask:
    tid = str(item["id"])
    markers = ()
    if "key" in item:
        owner = item.get("stack", stack)
        protected = bool(item.get("protected", False))
        message = _memory_text(item.get("memory"))
        markers = (LiveMarker(f"m{tid}", "kxplan", owner, item["key"], protected, message),)
    checklist = tuple(_live_item(tid, i, c) for i, c in enumerate(item.get("checklist", ())))
    status = item.get("status")
    return LiveTask(
        id=tid,
        title=item["title"],
        parent_id=_str(item.get("parent_id", parent)),
        type=item.get("type", "task"),
        description=item.get("description"),
        start_date=_str(item.get("start_date")),
        due_date=_str(item.get("due_date")),
        priority=item.get("priority"),
        status=status,
        state=item.get("state", status if status in _CATS else "not started"),
        percentage_complete=int(item.get("percentage_complete", 0)),
        archived=bool(item.get("archived", False)),
        position=int(item.get("position", position)),
        tags=tuple(sorted(item.get("tags", ()))),
        checklist=tuple(sorted(checklist, key=lambda c: (c.position, int(c.id)))),
        markers=markers,
        custom_task_status_id=_str(item.get("custom_task_status_id")),
        created_at=str(item.get("created_at", "")),
        updated_at=str(item.get("updated_at", "")),
    )


def _memory_text(data: Mapping[str, Any] | str | None) -> str:
    """The marker's memory: `{fields: {field: value written}, items: [names created]}`
    (`items: unknown` for a memory that could not hold them), or the literal text."""
    if data is None or isinstance(data, str):
        return data or ""
    items = data.get("items", ())
    memory = remember(data.get("fields") or {}, () if items == "unknown" else items)
    return encode(Memory(memory.fields, None) if items == "unknown" else memory)


_CATS = ("not started", "started", "needs info", "completed")


def _live_item(task_id: str, index: int, data: str | Mapping[str, Any]) -> LiveChecklistItem:
    if isinstance(data, str):
        data = {"name": data}
    return LiveChecklistItem(
        id=str(data.get("id", int(task_id) * 100 + index)),
        name=data["name"],
        completed=bool(data.get("completed", False)),
        position=int(data.get("position", index + 1)),
    )


def _live_set(data: Mapping[str, Any]) -> LiveStatusSet:
    statuses = tuple(
        LiveStatus(str(s["id"]), s["name"], s["category"], int(s.get("position", i + 1)))
        for i, s in enumerate(data.get("statuses", ()))
    )
    return LiveStatusSet(
        str(data["id"]), data["name"], tuple(sorted(statuses, key=lambda s: (s.position, s.id)))
    )


def options_from(data: Mapping[str, Any] | None) -> PlanOptions:
    data = data or {}
    return PlanOptions(
        prune=bool(data.get("prune", False)),
        allow_mass_delete=bool(data.get("allow_mass_delete", False)),
        targets=tuple(data.get("targets", ())),
        adopt=bool(data.get("adopt", False)),
    )
