"""How the status changes of one set become writes: the rules, played over a `SetPort`.

The applier (kxplan.apply._statuses) plays them over Kantata: each port call is one
request. The planner's estimate (kxplan.planner.status_model) plays the very same rules
over a model of the set, so the plan's `requests.write` counts the status writes the
applier sends by construction; only what the model assumes of Kantata's numbering can
differ (docs/plan.md, "JSON").

Within a set: creates and renames first (in plan order), then replacements (each creates
its successor, puts the tasks on it, and only then deletes the old status), then
positions, lowest first, each written only where the set read back has the status
elsewhere. So a set never loses the last status of a category on the way, and a task is
never left to wherever Kantata sends the tasks of a deleted status. Every change is
carried out on a status found by id (the plan's, the id of a new set's default of its
category, or the id a create returned); a change whose status cannot be found is an
ApplyError that names it, never skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

from kxplan.changes.base import Action, Change
from kxplan.changes.status import StatusCreate, StatusDelete, StatusReplace, StatusUpdate
from kxplan.errors import ApplyError
from kxplan.model import LiveStatus

REPLAN = "someone changed the status set since the plan was made; run `kxplan plan` again"

#: Where a status created in this run sits until it is read back (after every other).
END = 1 << 30


class SetPort(Protocol):
    """The writes the rules make to one set, and the one read they need."""

    def statuses(self) -> Sequence[LiveStatus]:
        """The set as it is now (the applier reads it from Kantata)."""
        ...

    def create(self, name: str, category: str) -> str:
        """Create a status; its id."""
        ...

    def rename(self, status_id: str, name: str, *, aside: bool = False) -> None:
        """Rename a status (`aside`: to a temporary name, freeing its name)."""
        ...

    def move(self, status_id: str, position: int) -> None:
        """Write a status's position."""
        ...

    def delete(self, status_id: str) -> None:
        """Delete a status (one already gone counts as deleted)."""
        ...

    def put_tasks(self, task_ids: Sequence[str], name: str) -> None:
        """Put these tasks on the status `name` (one PUT each)."""
        ...


#: Names the object an error is about (the applier's `about`); the model needs none.
Step = Callable[[str], AbstractContextManager[None]]


def _no_step(_: str) -> AbstractContextManager[None]:
    return nullcontext()


def _nothing(_: Change) -> None:
    return None


@dataclass(slots=True)
class _Set:
    """One set while its changes are applied: what the port has, and what this run made."""

    name: str
    defaults: Mapping[str, str]  # category -> id of a new set's default (empty: not new)
    statuses: dict[str, LiveStatus] = field(default_factory=dict)  # by id
    targets: set[str] = field(default_factory=set)  # ids renamed, replaced or deleted here
    created: dict[str, str] = field(default_factory=dict)  # status name -> id made this run

    def refresh(self, statuses: Sequence[LiveStatus]) -> None:
        self.statuses = {s.id: s for s in statuses}

    def holder(self, name: str, but: str = "") -> LiveStatus | None:
        """A status other than `but` named `name` (exactly, else ignoring case)."""
        others = [s for s in self.statuses.values() if s.id != but]
        exact = [s for s in others if s.name == name]
        folded = [s for s in others if s.name.casefold() == name.casefold()]
        return (exact + folded)[0] if exact or folded else None


def write_statuses(
    port: SetPort,
    set_name: str,
    changes: Sequence[Change],
    defaults: Mapping[str, str],
    *,
    step: Step = _no_step,
    done: Callable[[Change], None] = _nothing,
) -> None:
    """Carry out the status `changes` of set `set_name` over `port`, then fix positions.

    `defaults`: category -> id of the default status Kantata gave the set when this run
    created it (empty for a set that existed). `done(change)` follows each change.
    """
    st = _Set(set_name, defaults)
    st.refresh(port.statuses())
    # A new set's defaults are this run's own: any of them may take a temporary name (one
    # the manifest leaves out is deleted after the task changes).
    addressed = {_existing_id(st, c) for c in changes if c.action is not Action.CREATE}
    st.targets = addressed | set(defaults.values())
    for c in sorted(changes, key=lambda c: _PHASE[c.action]):  # stable: plan order inside
        with step(f"status {set_name}/{c.key!r}"):
            _apply_status(port, st, c)
        done(c)
    with step(f"status set {set_name!r}"):
        _fix_positions(port, st, changes)


_PHASE = {Action.CREATE: 0, Action.UPDATE: 0, Action.REPLACE: 1, Action.DELETE: 2}


def _apply_status(port: SetPort, st: _Set, change: Change) -> None:
    if isinstance(change, StatusCreate):
        _create(port, st, change, change.after["name"], change.after["category"])
    elif isinstance(change, StatusUpdate):
        status = _status(st, change)
        name = change.after.get("name")
        # A new set's default is always given its name: how Kantata spells the defaults
        # is not documented, so whether it is named so already is not known when planning.
        known = _default_of(change) is None
        if "name" in change.fields and name is not None and (status.name != name or not known):
            _rename(port, st, status, name, change)
    elif isinstance(change, StatusReplace):
        _replace(port, st, _status(st, change), change)
    elif isinstance(change, StatusDelete):
        target = _existing_id(st, change)
        if target in st.statuses:
            port.delete(target)
            del st.statuses[target]
        # Not in the set: it is gone already (a retried run, or a person), as planned.
    else:
        raise ApplyError(f"this kxplan cannot {change.action.value} a status ({change.key!r})")


def _existing_id(st: _Set, change: Change) -> str:
    """The id of the live status a change addresses: the plan's id, or for a new set's
    default the id Kantata gave the default of its category. Loud when there is none."""
    category = _default_of(change)
    if category is not None:
        found = st.defaults.get(category)
        if found is None:
            given = ", ".join(sorted(st.defaults)) or "none"
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


def _status(st: _Set, change: StatusUpdate | StatusReplace) -> LiveStatus:
    """The live status a rename, move or replacement addresses (loud when it is gone)."""
    target = _existing_id(st, change)
    found = st.statuses.get(target)
    if found is None:
        was = change.before["name"] or change.key
        raise ApplyError(
            f"{change.action.value} status {change.key!r} of set {st.name!r}: status id "
            f"{target} ({was!r}) is not in the set any more",
            hint=REPLAN,
        )
    return found


def _rename(port: SetPort, st: _Set, status: LiveStatus, name: str, change: Change) -> None:
    _free(port, st, name, status.id, change)
    port.rename(status.id, name)
    st.statuses[status.id] = LiveStatus(status.id, name, status.category, status.position)


def _free(port: SetPort, st: _Set, name: str, but: str, change: Change) -> None:
    """Make `name` free for a status: a holder that this run renames or deletes anyway gets a
    temporary name (Kantata may match names ignoring case); any other holder is a conflict."""
    holder = st.holder(name, but)
    if holder is None:
        return
    if holder.id in st.targets:
        temporary = f"kxplan-{holder.id}"
        port.rename(holder.id, temporary, aside=True)
        st.statuses[holder.id] = LiveStatus(holder.id, temporary, holder.category, holder.position)
    elif holder.name == name:
        raise ApplyError(
            f"{change.action.value} status {change.key!r} of set {st.name!r}: the set already "
            f"has a status {name!r} (category {holder.category!r}, id {holder.id})",
            hint=REPLAN,
        )


def _create(port: SetPort, st: _Set, change: Change, name: str, category: str) -> None:
    existing = st.holder(name)
    if existing is not None and existing.name == name and existing.category == category:
        st.created[name] = existing.id  # made by an earlier, interrupted run
        return
    st.created[name] = _create_status(port, st, change, name, category)


def _create_status(port: SetPort, st: _Set, change: Change, name: str, category: str) -> str:
    _free(port, st, name, "", change)
    new_id = port.create(name, category)
    st.statuses[new_id] = LiveStatus(new_id, name, category, END)
    return new_id


def _replace(port: SetPort, st: _Set, old: LiveStatus, change: StatusReplace) -> None:
    """A category cannot change: create the successor (under a temporary name when it keeps
    the old name), put the tasks on it, delete the old status, then give it its name."""
    after = change.after
    name = after["name"]
    same = name.casefold() == old.name.casefold()
    first = f"kxplan-{old.id}-new" if same else name
    new_id = _create_status(port, st, change, first, after["category"])
    port.put_tasks([str(i) for i in after["task_ids"]], first)
    port.delete(old.id)
    del st.statuses[old.id]
    if same:
        _rename(port, st, st.statuses[new_id], name, change)
    st.created[name] = new_id


def _fix_positions(port: SetPort, st: _Set, changes: Sequence[Change]) -> None:
    """Put statuses at their planned positions, lowest first, so each move settles the rest.

    The set is read once, and again only after a move (a move renumbers its neighbours).
    """
    planned = [(pos, c) for c in changes for pos in (planned_position(c),) if pos is not None]
    if not planned:
        return
    targets = sorted(((pos, _placed_id(st, c), c) for pos, c in planned), key=lambda t: t[0])
    st.refresh(port.statuses())
    for position, status_id, change in targets:
        status = st.statuses.get(status_id)
        if status is None:
            raise ApplyError(
                f"place status {change.key!r} of set {st.name!r} at position {position}: "
                f"status id {status_id} is not in the set any more",
                hint=REPLAN,
            )
        if status.position != position:
            port.move(status_id, position)
            st.refresh(port.statuses())


def planned_position(change: Change) -> int | None:
    """The position a status change places its status at (None: it leaves it)."""
    if isinstance(change, StatusCreate | StatusReplace):
        return change.after["position"]
    if isinstance(change, StatusUpdate):
        return change.after.get("position")
    return None


def _placed_id(st: _Set, change: Change) -> str:
    if isinstance(change, StatusCreate | StatusReplace):
        name = change.after["name"]
        if name not in st.created:
            raise ApplyError(
                f"place status {change.key!r} of set {st.name!r}: it was not created",
                hint=REPLAN,
            )
        return st.created[name]
    return _existing_id(st, change)
