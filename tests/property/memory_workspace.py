"""An in-memory Kantata workspace that applies a Plan's changes to a LiveState.

It follows the change contract in kxplan/plan.py the way the applier does, with the rules
the planner relies on: new sets come with four default statuses, deleting a status puts its
tasks back on the category, a status rename carries its tasks along, writing a position
inserts there and renumbers the list 1..n (docs/apply.md, "Positions"), a deleted task
takes its subtasks with it (so a planner bug that deletes a parent of something it should
keep shows up as a lost task).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kxplan.changes.codec import values_of
from kxplan.model import (
    CATEGORIES,
    SERVICE_NAME,
    LiveChecklistItem,
    LiveMarker,
    LiveState,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
)
from kxplan.plan import Action, Change, Kind, Plan


@dataclass
class MemoryWorkspace:
    """Mutable copy of a LiveState; `apply(plan)` runs the plan, `state()` freezes it."""

    live: LiveState
    stack: str
    tasks: dict[str, LiveTask] = field(default_factory=dict)
    sets: dict[str, LiveStatusSet] = field(default_factory=dict)
    set_id: str | None = None
    created: dict[str, str] = field(default_factory=dict)  # task key -> id made by this apply
    next_id: int = 0

    def __post_init__(self) -> None:
        self.tasks = {t.id: t for t in self.live.tasks}
        self.sets = {s.id: s for s in self.live.status_sets}
        self.set_id = self.live.workspace.task_status_set_id
        ids = [int(t.id) for t in self.live.tasks if t.id.isdigit()]
        ids += [int(i.id) for t in self.live.tasks for i in t.checklist if i.id.isdigit()]
        ids += [int(s.id) for s in self.live.status_sets if s.id.isdigit()]
        ids += [int(x.id) for s in self.live.status_sets for x in s.statuses if x.id.isdigit()]
        self.next_id = max(ids, default=0) + 1000

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    # ------------------------------------------------------------------ apply

    def apply(self, plan: Plan) -> LiveState:
        calls = [c for c in plan.changes if c.action.makes_calls]
        for run in _runs(calls):
            if run[0].kind is Kind.STATUS:
                self._statuses(run)
            else:
                for change in _applier_order(run):
                    self._one(change)
        return self.state()

    def state(self) -> LiveState:
        tasks = tuple(sorted(self.tasks.values(), key=lambda t: int(t.id)))
        workspace = replace(self.live.workspace, task_status_set_id=self.set_id)
        sets = tuple(sorted(self.sets.values(), key=lambda s: int(s.id)))
        return LiveState(workspace, tasks, sets, self.live.requests)

    def _one(self, change: Change) -> None:
        handler = {
            Kind.STATUS_SET: self._status_set,
            Kind.STATUS: self._status,
            Kind.WORKSPACE: self._workspace,
            Kind.TASK: self._task,
            Kind.CHECKLIST_ITEM: self._item,
        }[change.kind]
        handler(change)

    # ------------------------------------------------------------------ statuses

    def _set_named(self, name: str | None) -> LiveStatusSet:
        return next(s for s in self.sets.values() if s.name == name)

    def _status_set(self, change: Change) -> None:
        assert change.action is Action.CREATE
        sid = self.new_id()
        defaults = tuple(LiveStatus(self.new_id(), c, c, i + 1) for i, c in enumerate(CATEGORIES))
        self.sets[sid] = LiveStatusSet(sid, change.key, defaults)

    def _statuses(self, changes: list[Change]) -> None:
        """One set's status changes as the applier makes them: creates and renames, then
        replacements, then deletes, then each planned position, lowest first."""
        placed: list[tuple[int, str]] = []
        phase = {Action.CREATE: 0, Action.UPDATE: 0, Action.REPLACE: 1, Action.DELETE: 2}
        for change in sorted(changes, key=lambda c: phase[c.action]):
            sid = self._status(change)
            if change.action is not Action.DELETE and "position" in _after(change):
                placed.append((_after(change)["position"], sid))
        live_set = self._set_named(changes[0].parent)
        for position, sid in sorted(placed):
            live_set = self._set_named(changes[0].parent)
            order = [s for s in live_set.statuses if s.id != sid]
            moving = next(s for s in live_set.statuses if s.id == sid)
            order.insert(min(position, len(order) + 1) - 1, moving)
            self._renumber(live_set, order)

    def _renumber(self, live_set: LiveStatusSet, order: list[LiveStatus]) -> None:
        numbered = tuple(replace(s, position=n) for n, s in enumerate(order, start=1))
        self.sets[live_set.id] = replace(live_set, statuses=numbered)

    def _status(self, change: Change) -> str:
        live_set = self._set_named(change.parent)
        statuses = list(live_set.statuses)
        after = dict(_after(change))
        sid = ""
        if change.action is Action.CREATE:
            sid = self.new_id()
            statuses.append(LiveStatus(sid, after["name"], after["category"], 1 << 30))
        else:
            old = self._find_status(statuses, change)
            index = statuses.index(old)
            statuses.remove(old)
            if change.action is Action.UPDATE:
                sid = old.id
                statuses.insert(index, replace(old, name=after.get("name", old.name)))
                self._retag_tasks(old, after.get("name", old.name), old.id)
            elif change.action is Action.REPLACE:
                sid = self.new_id()
                new = LiveStatus(sid, after["name"], after["category"], 1 << 30)
                statuses.append(new)
                self._reset_tasks(old, keep=set(after["task_ids"]))
                for tid in after["task_ids"]:
                    self.tasks[tid] = replace(
                        self.tasks[tid], status=new.name, custom_task_status_id=new.id
                    )
            else:
                self._reset_tasks(old, keep=set())
        self._renumber(live_set, statuses)
        return sid

    @staticmethod
    def _find_status(statuses: Iterable[LiveStatus], change: Change) -> LiveStatus:
        if change.id is not None:
            return next(s for s in statuses if s.id == change.id)
        # A new set's default: found by its category (kxplan never predicts its name).
        before, after = values_of(change)
        category = (before if change.action is Action.DELETE else after)["default_of"]
        return next(s for s in statuses if s.category == category)

    def _on_status(self, status: LiveStatus) -> list[LiveTask]:
        return [t for t in self.tasks.values() if t.custom_task_status_id == status.id]

    def _retag_tasks(self, old: LiveStatus, name: str, sid: str) -> None:
        for task in self._on_status(old):
            self.tasks[task.id] = replace(task, status=name, custom_task_status_id=sid)

    def _reset_tasks(self, old: LiveStatus, keep: set[str]) -> None:
        for task in self._on_status(old):
            if task.id not in keep:
                self.tasks[task.id] = replace(
                    task, status=old.category, state=old.category, custom_task_status_id=None
                )

    def _workspace(self, change: Change) -> None:
        self.set_id = self._set_named(_after(change)["status_set"]).id

    # ------------------------------------------------------------------ tasks

    def _parent_id(self, after: Mapping[str, Any]) -> str | None:
        if after.get("parent_id") is not None:
            return str(after["parent_id"])
        if after.get("parent") is None:
            return None
        return self.created[after["parent"]]

    def _status_id(self, name: str | None) -> str | None:
        live_set = self.sets.get(self.set_id or "")
        if live_set is None or name is None:
            return None
        return next((s.id for s in live_set.statuses if s.name == name), None)

    def _task(self, change: Change) -> None:
        if change.action is Action.CREATE:
            self._create(change)
        elif change.action in (Action.UPDATE, Action.ADOPT):
            self._update(change)
        elif change.action is Action.MOVE:
            task = self.tasks[str(change.id)]
            self.tasks[task.id] = replace(task, parent_id=self._parent_id(_after(change)))
        elif change.action is Action.DELETE:
            self._delete(str(change.id))

    def _create(self, change: Change) -> None:
        after = dict(_after(change))
        tid = self.new_id()
        parent_id = self._parent_id(after)
        siblings = [t.position for t in self.tasks.values() if t.parent_id == parent_id]
        items = tuple(
            LiveChecklistItem(self.new_id(), i["name"], bool(i["completed"]), n + 1)
            for n, i in enumerate(after.get("checklist", []))
        )
        task = LiveTask(
            id=tid,
            title=after["title"],
            parent_id=parent_id,
            type=after.get("type", "task"),
            position=max(siblings, default=0) + 1,
            checklist=items,
            markers=(LiveMarker(self.new_id(), SERVICE_NAME, self.stack, change.key),),
        )
        self.tasks[tid] = self._set_fields(task, after)
        self.created[change.key] = tid

    def _update(self, change: Change) -> None:
        task = self.tasks[str(change.id)]
        after = dict(_after(change))
        if "key" in change.fields:
            others = tuple(m for m in task.markers if m.service_model != self.stack)
            marker = LiveMarker(self.new_id(), SERVICE_NAME, self.stack, after["key"])
            task = replace(task, markers=(*others, marker))
        self.tasks[task.id] = self._set_fields(task, {f: after[f] for f in change.fields})

    def _set_fields(self, task: LiveTask, values: Mapping[str, Any]) -> LiveTask:
        plain = ("title", "type", "description", "start_date", "due_date", "priority")
        changes: dict[str, Any] = {k: values[k] for k in plain if k in values}
        changes.update({k: values[k] for k in ("percentage_complete", "archived") if k in values})
        if "tags" in values:
            changes["tags"] = tuple(sorted(values["tags"]))
        if "status" in values:
            changes["status"] = values["status"]
            changes["custom_task_status_id"] = self._status_id(values["status"])
        return replace(task, **changes)

    def _delete(self, tid: str) -> None:
        for child in [t for t in self.tasks.values() if t.parent_id == tid]:
            self._delete(child.id)  # Kantata may take subtasks with their parent
        del self.tasks[tid]

    # ------------------------------------------------------------------ checklist

    def _item(self, change: Change) -> None:
        after = dict(_after(change))
        if change.action is Action.CREATE:
            task = self.tasks[after["task_id"]]
            item = LiveChecklistItem(self.new_id(), after["name"], bool(after["completed"]), 0)
            self._set_items(task, list(task.checklist), item, after["position"])
            return
        task = next(t for t in self.tasks.values() if any(i.id == change.id for i in t.checklist))
        items = [i for i in task.checklist if i.id != change.id]
        if change.action is Action.UPDATE:
            old = next(i for i in task.checklist if i.id == change.id)
            values = {f: after[f] for f in change.fields if f != "position"}
            position = after.get("position", task.checklist.index(old) + 1)
            self._set_items(task, items, replace(old, **values), position)
        else:
            self._set_items(task, items, None, 0)

    def _set_items(
        self,
        task: LiveTask,
        items: list[LiveChecklistItem],
        item: LiveChecklistItem | None,
        position: int,
    ) -> None:
        """`item` inserted at `position` (1-based), the list renumbered 1..n."""
        if item is not None:
            items.insert(min(max(position, 1), len(items) + 1) - 1, item)
        ordered = tuple(replace(i, position=n) for n, i in enumerate(items, start=1))
        self.tasks[task.id] = replace(self.tasks[task.id], checklist=ordered)


def _after(change: Change) -> Mapping[str, Any]:
    return values_of(change)[1]


def _runs(changes: list[Change]) -> list[list[Change]]:
    """Consecutive changes of one kind and parent (a set's statuses, a task's items)."""
    runs: list[list[Change]] = []
    for c in changes:
        grouped = c.kind in (Kind.STATUS, Kind.CHECKLIST_ITEM)
        last = runs[-1][-1] if runs else None
        if grouped and last is not None and (last.kind, last.parent) == (c.kind, c.parent):
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


def _applier_order(changes: list[Change]) -> list[Change]:
    """A task's checklist changes as the applier sends them: deletes, then by position."""
    if changes[0].kind is not Kind.CHECKLIST_ITEM:
        return changes
    deletes = [c for c in changes if c.action is Action.DELETE]
    others = [c for c in changes if c.action is not Action.DELETE]
    return deletes + sorted(others, key=lambda c: _after(c).get("position", 1 << 30))


def apply_to(live: LiveState, plan: Plan) -> LiveState:
    """`live` after `plan` was applied."""
    return MemoryWorkspace(live, plan.stack).apply(plan)
