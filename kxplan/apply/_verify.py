"""What the writes of one apply showed Kantata stored, and the live state they add up to.

Verification after apply plans the manifest again against the state the apply left. That
state is the plan's live read with every write's answer laid over it: a create's answer
carries the stored stories (with their markers, tags and checklist items), a DELETE's
success says the story is gone. What an answer did not show whole is read again, and only
that: the stories an update, move, adoption or checklist write touched (`only=` reads, 200
ids each), the workspace when the apply created it or wrote its fields or its status set
(one `GET /workspaces/{id}`: the answers to those writes do not show its marker, or show
nothing), the account's status sets when it wrote a set or a status (one `GET
/task_status_sets`: a status write answers with that status only, and positions and
renames made aside move the others). A write to a status, a set or the workspace's set
changes tasks it did not write (a renamed status is renamed on every task holding it, a
switched set maps its tasks' statuses): when the workspace had tasks before the apply, such
an apply reads everything again, as one with a kind of change this module does not know
(`Observed.accounts_for`); a workspace that had none (a bootstrap) has only the tasks the
apply created after those writes, whose answers show them; of those, the ones a status
deleted after the task changes held (their status is not in the sets read again) are read
again. docs/apply.md, "Verification".
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.workspace import WorkspaceUpdate
from kxplan.ids import id_order
from kxplan.live import read_status_sets, read_tasks
from kxplan.live._lookups import workspace_by_id
from kxplan.model import LiveChecklistItem, LiveState, LiveStatusSet, LiveTask

if TYPE_CHECKING:
    from kxplan.client import KantataClient

#: Story writes whose answer is not kept: the story is read again to verify it.
_REREAD = (Action.UPDATE, Action.MOVE, Action.ADOPT, Action.REPLACE)


@dataclass(slots=True)
class Observed:
    """Story id -> the story as a write's answer showed it; the ids deleted; the ids to read
    again; whether the workspace, and the status sets, must be read again."""

    seen: dict[str, LiveTask] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    unseen: set[str] = field(default_factory=set)
    workspace: bool = False
    sets: bool = False  # a status set or status written: the account's sets are read again
    retouched: bool = False  # a write that may change the status of tasks it did not write
    complete: bool = True  # False: a write this module cannot account for (read all again)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, tasks: Iterable[LiveTask]) -> None:
        with self._lock:
            for t in tasks:
                self.seen[t.id] = t
                self.gone.discard(t.id)

    def deleted(self, story_id: str) -> None:
        with self._lock:
            self.gone.add(story_id)
            self.seen.pop(story_id, None)
            self.unseen.discard(story_id)

    def reread(self, story_id: str) -> None:
        with self._lock:
            if story_id not in self.gone:
                self.unseen.add(story_id)

    def completed(self, story_id: str, item_id: str, answer: Mapping[str, Any]) -> None:
        """A checklist item marked completed: laid over the created story from the PUT's
        answer (the stored item); read the story again when the answer does not show it."""
        item = (answer.get("story_tasks") or {}).get(item_id)
        with self._lock:
            task = self.seen.get(story_id)
            if task is None or not isinstance(item, Mapping):
                self.unseen.add(story_id)
                return
            done = item.get("completed") is True
            self.seen[story_id] = replace(task, checklist=_with_item(task, item_id, done))

    def accounts_for(self, before: LiveState) -> bool:
        """Whether the writes' answers (and the reads `live_after` makes) show the state the
        apply left in a workspace that was `before`: not when a write may have changed
        tasks that existed before it without writing them (see the module's docstring)."""
        return self.complete and not (self.retouched and before.tasks)

    def applied(self, changes: Iterable[Change], story_id: Mapping[str, str]) -> None:
        """Account for applied `changes` (`story_id`: task key -> id learnt in the run)."""
        for c in changes:
            self._account(c, story_id)

    def _account(self, c: Change, story_id: Mapping[str, str]) -> None:
        if c.kind is Kind.NOTE:
            return
        if c.kind is Kind.WORKSPACE and c.action is Action.CREATE:
            self.workspace = True  # it had no tasks: only the workspace is read again
        elif c.kind is Kind.WORKSPACE and c.action is Action.UPDATE:
            self.workspace = True  # its fields, or its status set: read it again
            if isinstance(c, WorkspaceUpdate) and c.assigns_set:  # tasks' statuses mapped anew
                self.retouched = True
        elif c.kind is Kind.TASK:
            self._task(c, story_id)
        elif c.kind is Kind.CHECKLIST_ITEM:
            sid = story_id.get(c.parent or "") or _after(c, "task_id")
            self._need(sid)
        elif c.kind is Kind.STATUS_SET and c.action is Action.CREATE:
            self.sets = True  # a new set: no task holds its statuses yet
        elif c.kind is Kind.STATUS:
            # Before the task changes, the created tasks' answers show what it made; a
            # status deleted after them moves the tasks still holding it (`live_after`
            # reads again the created ones whose status is gone).
            self.sets = True
            self.retouched = True
        else:  # a change of a kind this module does not know
            self.complete = False

    def _task(self, c: Change, story_id: Mapping[str, str]) -> None:
        sid = c.id or story_id.get(c.key)
        if c.action is Action.DELETE:
            if sid is None:
                self.complete = False
            else:
                self.deleted(str(sid))
        elif c.action is Action.CREATE:
            if sid is None:
                self.complete = False
            elif str(sid) not in self.seen:  # e.g. found by a look-up: read it
                self.reread(str(sid))
        elif c.action in _REREAD:
            self._need(sid)
        else:
            self.complete = False

    def _need(self, sid: str | None) -> None:
        if sid is None:
            self.complete = False
        else:
            self.reread(str(sid))


def _after(change: Change, name: str) -> str | None:
    after = getattr(change, "after", None)
    after = after if isinstance(after, Mapping) else {}
    value = after.get(name)
    return str(value) if value else None


def _with_item(task: LiveTask, item_id: str, done: bool) -> tuple[LiveChecklistItem, ...]:
    return tuple(replace(i, completed=done) if i.id == item_id else i for i in task.checklist)


def _status_gone(observed: Observed, sets: Iterable[LiveStatusSet]) -> set[str]:
    """The stories a write's answer showed on a status the sets read after the apply no
    longer have (deleted after the task changes: Kantata moved them)."""
    held = {s.id for one in sets for s in one.statuses}
    return {
        sid
        for sid, t in observed.seen.items()
        if t.custom_task_status_id is not None and t.custom_task_status_id not in held
    }


def live_after(
    client: KantataClient, before: LiveState, observed: Observed, workspace_id: str
) -> LiveState:
    """The live state the apply left: `before` with the writes' answers laid over it, and
    what they did not show read again (see the module's docstring). `workspace_id`: the
    workspace's id after the apply (a workspace the apply created has one only now)."""
    workspace = before.workspace
    if observed.workspace or workspace.id != workspace_id:
        workspace = workspace_by_id(client, workspace_id) or replace(workspace, id=workspace_id)
    sets = read_status_sets(client) if observed.sets else before.status_sets
    unseen = observed.unseen | (_status_gone(observed, sets) if observed.sets else set())
    again = read_tasks(client, workspace.id, unseen) if unseen else {}
    tasks: dict[str, LiveTask] = {t.id: t for t in before.tasks}
    tasks.update(observed.seen)
    for sid in unseen:
        tasks.pop(sid, None)
    tasks.update(again)
    for sid in observed.gone:
        tasks.pop(sid, None)
    ordered = tuple(sorted(tasks.values(), key=lambda t: id_order(t.id)))
    # The stack's posts as the plan read it: a post write is of a kind `Observed` does not
    # account for, so the verification reads the workspace again (Observed.complete).
    return replace(before, workspace=workspace, tasks=ordered, status_sets=sets, requests=0)
