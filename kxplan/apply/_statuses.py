"""Status sets, their statuses and the workspace's set.

The rules that turn a set's status changes into writes are kxplan.changes.status_writes
(the planner's estimate plays the same rules); here they are played over Kantata, one request
per write. For a new set's default statuses, the id Kantata returned for that category when
the set was created is used (docs/apply.md, "A new status set": their names are not
documented, so they are never guessed). Deletes of statuses that left the manifest run after
the task changes.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kxplan.apply._once import create_once
from kxplan.apply._payload import (
    set_assignment,
    status_create,
    status_position,
    status_rename,
    status_set_create,
    story_status,
)
from kxplan.apply._run import Run, about, delete_quietly
from kxplan.changes.base import Change, Kind, expect
from kxplan.changes.status_writes import write_statuses
from kxplan.changes.workspace import WorkspaceUpdate
from kxplan.client import KantataClient
from kxplan.errors import ApplyError
from kxplan.ids import result_ids
from kxplan.live import read_status_sets, status_set_from
from kxplan.model import LiveStatus, LiveStatusSet
from kxplan.plan import SetWrite
from kxplan.shared_sets import read_records, write_record


def read_sets(run: Run) -> dict[str, LiveStatusSet]:
    """Every status set on the account, by name."""
    sets = read_status_sets(run.client)
    run.count_extra()
    return {s.name: s for s in sets}


def set_id(run: Run, name: str) -> str:
    """The id of the status set `name` (created in this run, or read from the account)."""
    if name not in run.set_ids:
        for set_name, found in read_sets(run).items():
            run.set_ids.setdefault(set_name, found.id)
    try:
        return run.set_ids[name]
    except KeyError:
        raise ApplyError(
            f"status set {name!r} does not exist", hint="run `kxplan plan` again"
        ) from None


def _read_set(run: Run, sid: str) -> LiveStatusSet:
    data = run.client.request(
        "GET", f"/task_status_sets/{sid}", params={"include": "custom_task_statuses"}
    )
    run.count_extra()
    found = status_set_from(data, sid)
    if found is None:
        raise ApplyError(f"status set id {sid}: Kantata's answer did not include the set")
    return found


# --------------------------------------------------------------------------- sets


@dataclass(slots=True)
class _MadeSet:
    """A status set an apply of this run created. `ready` is set once that apply has
    written the set's statuses (`ok`) or stopped before it could (not `ok`)."""

    sid: str
    defaults: dict[str, str]
    digest: str | None  # of the statuses the creating plan writes (kxplan.shared_sets)
    workspace: str  # the title of the workspace whose apply created it
    maker: Run
    ready: threading.Event = field(default_factory=threading.Event)
    ok: bool = False

    def finish(self, ok: bool) -> None:
        if not self.ready.is_set():
            self.ok = ok
            self.ready.set()


#: The status sets each run created, by client (one client is one run against one API):
#: sets are account-wide, so the plans of one run — a fleet's workspaces, several manifests
#: — that each plan to create the same set get ONE set, made by the first apply to reach it
#: (docs/apply.md, "A new status set").
_MADE: weakref.WeakKeyDictionary[KantataClient, dict[str, _MadeSet]] = weakref.WeakKeyDictionary()
_MADE_LOCK = threading.Lock()


def _digest(run: Run, name: str) -> str | None:
    return next((w["digest"] for w in run.plan.set_writes if w["set"] == name), None)


def _writes_statuses(run: Run, name: str) -> bool:
    return any(c.kind is Kind.STATUS and c.parent == name for c in run.plan.actionable)


def create_set(run: Run, change: Change) -> None:
    """Create a status set, and learn its default statuses by category from the answer
    (or, when the answer does not list them, from one read of the set). When another apply
    of this run created it already (a fleet, or several manifests, sharing a new set), that
    set is used once that apply has written its statuses, which are not written again."""
    with _MADE_LOCK:  # the workspaces of a fleet apply side by side: one creates the set
        made = _MADE.setdefault(run.client, {})
        earlier = made.get(change.key)
        if earlier is None:
            _create_set(run, change)
            mine = _MadeSet(
                run.set_ids[change.key],
                run.set_defaults[change.key],
                _digest(run, change.key),
                str(run.plan.workspace.get("title") or run.workspace_id),
                run,
            )
            made[change.key] = mine
            if not _writes_statuses(run, change.key):
                mine.finish(ok=True)
            return
    _use_made(run, change, earlier)


def _use_made(run: Run, change: Change, earlier: _MadeSet) -> None:
    where = f"the apply of workspace {earlier.workspace!r}"
    if earlier.digest != _digest(run, change.key):
        raise ApplyError(
            f"status set {change.key!r} was just created by {where} with other statuses "
            "than this plan gives it",
            hint="give the set the same statuses in every manifest (or fleet entry) of the "
            "run, or name the sets differently",
        )
    earlier.ready.wait()
    if not earlier.ok:
        raise ApplyError(
            f"status set {change.key!r} was created by {where}, which stopped before "
            "writing its statuses",
            hint="run apply again: the next plan finds the set and writes what is missing",
        )
    run.set_ids[change.key] = earlier.sid
    run.set_defaults[change.key] = earlier.defaults
    run.shared_new_sets.add(change.key)
    run.done((change,))


def finish_sets(run: Run, ok: bool) -> None:
    """Say that the status sets `run` created are written (`ok`) or never will be: the other
    applies of the run that use them stop waiting (called at the end of every apply)."""
    with _MADE_LOCK:
        mine = [m for m in _MADE.get(run.client, {}).values() if m.maker is run]
    for made in mine:
        made.finish(ok)


def _create_set(run: Run, change: Change) -> None:

    def send(_: list[str]) -> Mapping[str, Any]:
        return run.client.request(
            "POST",
            "/task_status_sets",
            params={"include": "custom_task_statuses"},
            json=status_set_create(change.key),
        )

    def find(names: list[str]) -> dict[str, LiveStatusSet]:
        return {n: s for n, s in read_sets(run).items() if n in names}

    once = create_once(run, send, find, [change.key], f"creating status set {change.key!r}")
    found: LiveStatusSet | None
    if once.answer is not None:
        sid = result_ids(once.answer)[0]
        found = status_set_from(once.answer, sid)
    else:
        found = once.found[change.key]
        sid = found.id
    if found is None or not found.statuses:
        found = _read_set(run, sid)
    run.set_ids[change.key] = sid
    run.set_defaults[change.key] = _first_by_category(found.statuses)
    run.done((change,))


def _first_by_category(statuses: Sequence[LiveStatus]) -> dict[str, str]:
    firsts: dict[str, str] = {}
    for s in sorted(statuses, key=lambda s: (s.position, s.id)):
        firsts.setdefault(s.category, s.id)
    return firsts


# --------------------------------------------------------------------------- statuses


def apply_statuses(run: Run, changes: Sequence[Change]) -> None:
    """Apply the status changes of each set, then fix positions (kxplan.changes.status_writes)."""
    by_set: dict[str, list[Change]] = {}
    for c in changes:
        by_set.setdefault(c.parent or "", []).append(c)
    for set_name, group in by_set.items():
        sid = set_id(run, set_name)
        _record_write(run, set_name, sid)
        if set_name in run.shared_new_sets:  # its statuses were written by the apply that made it
            run.done(tuple(group))
            continue
        defaults = run.set_defaults.get(set_name, {})
        write_statuses(_Kantata(run, sid), set_name, group, defaults, step=about, done=_done(run))
        made = _MADE.get(run.client, {}).get(set_name)
        if made is not None and made.maker is run:
            made.finish(ok=True)


def _done(run: Run) -> Callable[[Change], None]:
    def done(change: Change) -> None:
        run.done((change,))

    return done


@dataclass(frozen=True, slots=True)
class _Kantata:
    """The set in Kantata: each write is one request (`create` sends once: kxplan.apply._once)."""

    run: Run
    sid: str

    def statuses(self) -> Sequence[LiveStatus]:
        return _read_set(self.run, self.sid).statuses

    def create(self, name: str, category: str) -> str:
        run = self.run

        def send(_: list[str]) -> Mapping[str, Any]:
            body = status_create(name, category, self.sid)
            return run.client.request("POST", "/custom_task_statuses", json=body)

        def find(names: list[str]) -> dict[str, LiveStatus]:
            found: dict[str, LiveStatus] = {}
            for s in self.statuses():  # the first of exactly that name
                if s.name in names:
                    found.setdefault(s.name, s)
            return found

        once = create_once(run, send, find, [name], f"creating status {name!r}")
        return result_ids(once.answer)[0] if once.answer is not None else once.found[name].id

    def rename(self, status_id: str, name: str, *, aside: bool = False) -> None:
        self.run.client.request(
            "PUT", f"/custom_task_statuses/{status_id}", json=status_rename(name)
        )
        if aside:
            self.run.count_extra()

    def move(self, status_id: str, position: int) -> None:
        body = status_position(position)
        self.run.client.request("PUT", f"/custom_task_statuses/{status_id}", json=body)
        self.run.count_extra()

    def delete(self, status_id: str) -> None:
        delete_quietly(self.run.client, f"/custom_task_statuses/{status_id}")

    def put_tasks(self, task_ids: Sequence[str], name: str) -> None:
        run = self.run

        def restore(story_id: str) -> None:
            run.client.request("PUT", f"/stories/{story_id}", json=story_status(name))

        run.map(restore, task_ids)
        run.count_extra(len(task_ids))


def _record_write(run: Run, set_name: str, sid: str) -> None:
    """Before the first status write to a set: record on the workspace that this stack
    writes it, with the digest of the statuses it writes (kxplan.shared_sets; one request
    a set). First, so an apply stopped part-way never leaves the set changed unrecorded."""
    for write in run.plan.set_writes:
        if write["set"] == set_name and set_name not in run.recorded_sets:
            with about(f"status set {set_name!r}: recording who writes it"):
                _send_record(run, sid, write)
            run.recorded_sets.add(set_name)


def _send_record(run: Run, sid: str, write: SetWrite) -> None:
    """Send the record, once (`create_once`): when the outcome of a send is unknown, look
    for it (it may commit late) before sending it again (create_or_update of the same
    reference writes the same record, so even a re-sent one duplicates nothing)."""

    def send(_: list[str]) -> None:
        run.count_extra()
        workspace = {"id": run.workspace_id, "title": run.plan.workspace.get("title")}
        write_record(run.client, workspace, run.stack, sid, write)

    def find(keys: list[str]) -> dict[str, bool]:
        return _recorded(run, sid, write, keys)

    create_once(run, send, find, [sid], "recording")


def _recorded(run: Run, sid: str, write: SetWrite, keys: list[str]) -> dict[str, bool]:
    run.count_extra()
    mine = (run.workspace_id, run.stack, write["digest"], write["generation"])
    found = any(
        (r.workspace_id, r.stack, r.digest, r.generation) == mine
        for r in read_records(run.client, sid)
    )
    return dict.fromkeys(keys, True) if found else {}


# --------------------------------------------------------------------------- workspace


def assign_set(run: Run, change: Change) -> None:
    """Make the workspace use the planned status set."""
    name = expect(change, WorkspaceUpdate).after["status_set"]
    if not name:
        raise ApplyError(
            f"update workspace {change.key!r}: the plan names no status set to assign",
            hint="make a new plan with this version of kxplan",
        )
    body = set_assignment(run.workspace_id, set_id(run, name))
    run.client.request("PUT", "/workspace_task_status_sets/bulk_update", json=body)
    run.done((change,))
