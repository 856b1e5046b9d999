"""Status sets, their statuses and the workspace's set.

Every status change is carried out on a status found by id: the plan's id for a status of an
existing set; for a new set's default statuses, the id Kantata returned for that category when
the set was created (docs/apply.md, "A new status set": their names are not documented, so
they are never guessed); for a status created in this run, the id of the create's answer.
A planned change whose status cannot be found stops the apply with an ApplyError that names
the change; it is never skipped or recorded as applied.

Within a set: creates and renames first, then replacements (each creates its successor, puts
the tasks on it, and only then deletes the old status), then positions; deletes of statuses
that left the manifest run after the task changes. So a set never loses the last status of a
category on the way, and a task is never left to wherever Kantata sends the tasks of a
deleted status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from kxplan.changes.base import Action, Change, expect
from kxplan.changes.status import (
    StatusCreate,
    StatusDelete,
    StatusReplace,
    StatusUpdate,
)
from kxplan.changes.workspace import WorkspaceUpdate
from kxplan.errors import ApplyError
from kxplan.ids import result_ids
from kxplan.live import read_status_sets, status_set_from
from kxplan.model import LiveStatus, LiveStatusSet
from kxplan.shared_sets import read_records, write_record

_REPLAN = "someone changed the status set since the plan was made; run `kxplan plan` again"


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


def create_set(run: Run, change: Change) -> None:
    """Create a status set, and learn its default statuses by category from the answer
    (or, when the answer does not list them, from one read of the set)."""

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


@dataclass(slots=True)
class _Set:
    """One set while its changes are applied: what Kantata has, and what this run made."""

    name: str
    id: str
    statuses: dict[str, LiveStatus]  # by id
    targets: set[str]  # ids some change of this run renames, replaces or deletes
    created: dict[str, str] = field(default_factory=dict)  # status name -> id made this run

    def refresh(self, live: LiveStatusSet) -> None:
        self.statuses = {s.id: s for s in live.statuses}

    def holder(self, name: str, but: str = "") -> LiveStatus | None:
        """A status other than `but` named `name` (exactly, else ignoring case)."""
        others = [s for s in self.statuses.values() if s.id != but]
        exact = [s for s in others if s.name == name]
        folded = [s for s in others if s.name.casefold() == name.casefold()]
        return (exact + folded)[0] if exact or folded else None


def apply_statuses(run: Run, changes: Sequence[Change]) -> None:
    """Apply the status changes of each set, then fix positions."""
    by_set: dict[str, list[Change]] = {}
    for c in changes:
        by_set.setdefault(c.parent or "", []).append(c)
    for set_name, group in by_set.items():
        _apply_set_statuses(run, set_name, group)


def _apply_set_statuses(run: Run, set_name: str, changes: list[Change]) -> None:
    sid = set_id(run, set_name)
    _record_write(run, set_name, sid)
    st = _Set(set_name, sid, {}, set())
    st.refresh(_read_set(run, sid))
    st.targets = {_existing_id(run, st, c) for c in changes if c.action is not Action.CREATE} - {""}
    ordered = sorted(changes, key=lambda c: _PHASE[c.action])  # stable: plan order inside
    for c in ordered:
        with about(f"status {set_name}/{c.key!r}"):
            _apply_status(run, st, c)
        run.done((c,))
    with about(f"status set {set_name!r}"):
        _fix_positions(run, st, changes)


_PHASE = {Action.CREATE: 0, Action.UPDATE: 0, Action.REPLACE: 1, Action.DELETE: 2}


def _apply_status(run: Run, st: _Set, change: Change) -> None:
    if isinstance(change, StatusCreate):
        _create(run, st, change, change.after["name"], change.after["category"])
    elif isinstance(change, StatusUpdate):
        status = _status(run, st, change)
        name = change.after.get("name")
        if "name" in change.fields and name is not None and status.name != name:
            _rename(run, st, status, name, change)
    elif isinstance(change, StatusReplace):
        _replace(run, st, _status(run, st, change), change)
    elif isinstance(change, StatusDelete):
        target = _existing_id(run, st, change)
        if target in st.statuses:
            delete_quietly(run.client, f"/custom_task_statuses/{target}")
            del st.statuses[target]
        # Not in the set: it is gone already (a retried run, or a person), as planned.
    else:
        raise ApplyError(f"this kxplan cannot {change.action.value} a status ({change.key!r})")


def _existing_id(run: Run, st: _Set, change: Change) -> str:
    """The id of the live status a change addresses: the plan's id, or for a new set's
    default the id Kantata gave the default of its category. Loud when there is none."""
    category = _default_of(change)
    if category is not None:
        found = run.set_defaults.get(st.name, {}).get(category)
        if found is None:
            given = ", ".join(sorted(run.set_defaults.get(st.name, {}))) or "none"
            raise ApplyError(
                f"{change.action.value} status {change.key!r} of set {st.name!r}: the new set "
                f"has no default status of category {category!r} (Kantata gave defaults of: "
                f"{given})",
                hint="plan again: the set now exists and its statuses are read as they are",
            )
        return found
    if change.id is None:
        raise ApplyError(
            f"{change.action.value} status {change.key!r} of set {st.name!r}: the plan has "
            "no id for it",
            hint="make a new plan with this version of kxplan",
        )
    return change.id


def _default_of(change: Change) -> str | None:
    """The category of the new set's default status a change addresses (None: not one)."""
    if isinstance(change, StatusDelete):
        return change.before.get("default_of")
    if isinstance(change, StatusUpdate):
        return change.after.get("default_of")
    return None


def _status(run: Run, st: _Set, change: StatusUpdate | StatusReplace) -> LiveStatus:
    """The live status a rename, move or replacement addresses (loud when it is gone)."""
    target = _existing_id(run, st, change)
    found = st.statuses.get(target)
    if found is None:
        was = change.before["name"] or change.key
        raise ApplyError(
            f"{change.action.value} status {change.key!r} of set {st.name!r}: status id "
            f"{target} ({was!r}) is not in the set any more",
            hint=_REPLAN,
        )
    return found


def _rename(run: Run, st: _Set, status: LiveStatus, name: str, change: Change) -> None:
    _free(run, st, name, status.id, change)
    run.client.request("PUT", f"/custom_task_statuses/{status.id}", json=status_rename(name))
    st.statuses[status.id] = LiveStatus(status.id, name, status.category, status.position)


def _free(run: Run, st: _Set, name: str, but: str, change: Change) -> None:
    """Make `name` free for a status: a holder that this run renames or deletes anyway gets a
    temporary name (Kantata may match names ignoring case); any other holder is a conflict."""
    holder = st.holder(name, but)
    if holder is None:
        return
    if holder.id in st.targets:
        temporary = f"kxplan-{holder.id}"
        body = status_rename(temporary)
        run.client.request("PUT", f"/custom_task_statuses/{holder.id}", json=body)
        run.count_extra()
        st.statuses[holder.id] = LiveStatus(holder.id, temporary, holder.category, holder.position)
    elif holder.name == name:
        raise ApplyError(
            f"{change.action.value} status {change.key!r} of set {st.name!r}: the set already "
            f"has a status {name!r} (category {holder.category!r}, id {holder.id})",
            hint=_REPLAN,
        )


def _create(run: Run, st: _Set, change: Change, name: str, category: str) -> None:
    existing = st.holder(name)
    if existing is not None and existing.name == name and existing.category == category:
        st.created[name] = existing.id  # made by an earlier, interrupted run
        return
    st.created[name] = _create_status(run, st, change, name, category)


def _create_status(run: Run, st: _Set, change: Change, name: str, category: str) -> str:
    _free(run, st, name, "", change)

    def send(_: list[str]) -> Mapping[str, Any]:
        body = status_create(name, category, st.id)
        return run.client.request("POST", "/custom_task_statuses", json=body)

    def find(names: list[str]) -> dict[str, LiveStatus]:
        return _exactly_named(run, st, names)

    once = create_once(run, send, find, [name], f"creating status {name!r}")
    new_id = result_ids(once.answer)[0] if once.answer is not None else once.found[name].id
    st.statuses[new_id] = LiveStatus(new_id, name, category, 1 << 30)
    return new_id


def _exactly_named(run: Run, st: _Set, names: list[str]) -> dict[str, LiveStatus]:
    """The statuses of the set (read again now) whose names are exactly among `names`."""
    st.refresh(_read_set(run, st.id))
    found = {n: st.holder(n) for n in names}
    return {n: h for n, h in found.items() if h is not None and h.name == n}


def _replace(run: Run, st: _Set, old: LiveStatus, change: StatusReplace) -> None:
    """A category cannot change: create the successor (under a temporary name when it keeps
    the old name), put the tasks on it, delete the old status, then give it its name."""
    after = change.after
    name = after["name"]
    same = name.casefold() == old.name.casefold()
    first = f"kxplan-{old.id}-new" if same else name
    new_id = _create_status(run, st, change, first, after["category"])
    task_ids = [str(i) for i in after["task_ids"]]

    def restore(story_id: str) -> None:
        run.client.request("PUT", f"/stories/{story_id}", json=story_status(first))

    run.map(restore, task_ids)
    run.count_extra(len(task_ids))
    delete_quietly(run.client, f"/custom_task_statuses/{old.id}")
    del st.statuses[old.id]
    if same:
        _rename(run, st, st.statuses[new_id], name, change)
    st.created[name] = new_id


def _fix_positions(run: Run, st: _Set, changes: list[Change]) -> None:
    """Put statuses at their planned positions, lowest first, so each move settles the rest.

    The set is read once, and again only after a move (a move renumbers its neighbours).
    """
    planned = [(pos, c) for c in changes for pos in (_planned_position(c),) if pos is not None]
    if not planned:
        return
    targets = sorted(((pos, _placed_id(run, st, c), c) for pos, c in planned), key=lambda t: t[0])
    st.refresh(_read_set(run, st.id))
    for position, status_id, change in targets:
        status = st.statuses.get(status_id)
        if status is None:
            raise ApplyError(
                f"place status {change.key!r} of set {st.name!r} at position {position}: "
                f"status id {status_id} is not in the set any more",
                hint=_REPLAN,
            )
        if status.position != position:
            body = status_position(position)
            run.client.request("PUT", f"/custom_task_statuses/{status_id}", json=body)
            run.count_extra()
            st.refresh(_read_set(run, st.id))


def _planned_position(change: Change) -> int | None:
    if isinstance(change, StatusCreate | StatusReplace):
        return change.after["position"]
    if isinstance(change, StatusUpdate):
        return change.after.get("position")
    return None


def _placed_id(run: Run, st: _Set, change: Change) -> str:
    name = change.key
    if isinstance(change, StatusCreate | StatusReplace):
        name = change.after["name"]
    elif isinstance(change, StatusUpdate):
        name = change.after.get("name") or change.key
    if isinstance(change, StatusCreate | StatusReplace):
        if name not in st.created:
            raise ApplyError(
                f"place status {change.key!r} of set {st.name!r}: it was not created",
                hint=_REPLAN,
            )
        return st.created[name]
    return _existing_id(run, st, change)


def _record_write(run: Run, set_name: str, sid: str) -> None:
    """Before the first status write to a set: record on the workspace that this stack
    writes it, with the digest of the statuses it writes (kxplan.shared_sets; one request
    a set). First, so an apply stopped part-way never leaves the set changed unrecorded."""
    for write in run.plan.set_writes:
        if write.get("set") == set_name and set_name not in run.recorded_sets:
            with about(f"status set {set_name!r}: recording who writes it"):
                _send_record(run, sid, write)
            run.recorded_sets.add(set_name)


def _send_record(run: Run, sid: str, write: Mapping[str, Any]) -> None:
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


def _recorded(run: Run, sid: str, write: Mapping[str, Any], keys: list[str]) -> dict[str, bool]:
    run.count_extra()
    mine = (run.workspace_id, run.stack, str(write["digest"]), int(write["generation"]))
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
