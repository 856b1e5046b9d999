"""Status sets, their statuses (identified by set and name) and the workspace's set."""

from __future__ import annotations

from collections.abc import Sequence

from kxplan.apply._grace import look_again
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run, about, delete_quietly, result_ids
from kxplan.errors import ApplyError, TransportError
from kxplan.live import read_status_sets
from kxplan.model import LiveStatus
from kxplan.plan import Action, Change


def read_sets(run: Run) -> dict[str, tuple[str, dict[str, LiveStatus]]]:
    """Every status set on the account: name -> (id, statuses by name)."""
    sets = read_status_sets(run.client)
    run.count_extra()
    return {s.name: (s.id, {st.name: st for st in s.statuses}) for s in sets}


def set_id(run: Run, name: str) -> str:
    """The id of the status set `name` (created in this run, or read from the account)."""
    if name not in run.set_ids:
        for set_name, (sid, _) in read_sets(run).items():
            run.set_ids.setdefault(set_name, sid)
    try:
        return run.set_ids[name]
    except KeyError:
        raise ApplyError(
            f"status set {name!r} does not exist", hint="run `kxplan plan` again"
        ) from None


def _statuses_of(run: Run, name: str) -> dict[str, LiveStatus]:
    return read_sets(run).get(name, ("", {}))[1]


# --------------------------------------------------------------------------- sets


def create_set(run: Run, change: Change) -> None:
    """Create a status set (it comes with Kantata's four default statuses)."""
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        try:
            data = run.client.request(
                "POST", "/task_status_sets", json={"task_status_set": {"name": change.key}}
            )
            run.set_ids[change.key] = result_ids(data)[0]
            break
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
            # The create may have gone through, or commit late: look (again) before re-sending.
            found = look_again(
                lambda names: _sets_named(run, names),
                [change.key],
                f"creating status set {change.key!r}",
            ).get(change.key)
            if found is not None:
                run.set_ids[change.key] = found[0]
                run.count_recovered()
                break
    run.done((change,))


# --------------------------------------------------------------------------- statuses


def apply_statuses(run: Run, changes: Sequence[Change]) -> None:
    """Apply the status changes of each set in plan order, then fix positions."""
    by_set: dict[str, list[Change]] = {}
    for c in changes:
        by_set.setdefault(c.parent or "", []).append(c)
    for set_name, group in by_set.items():
        _apply_set_statuses(run, set_name, group)


def _apply_set_statuses(run: Run, set_name: str, changes: list[Change]) -> None:
    sid = set_id(run, set_name)
    live = _statuses_of(run, set_name)
    for c in changes:
        with about(f"status {set_name}/{c.key!r}"):
            _apply_status(run, sid, live, c)
        run.done((c,))
    _fix_positions(run, set_name, changes)


def _apply_status(run: Run, sid: str, live: dict[str, LiveStatus], change: Change) -> None:
    after = change.after or {}
    if change.action is Action.CREATE:
        existing = live.get(after["name"])
        if existing is not None and existing.category == after["category"]:
            return  # a default of a new set, or a create that went through before a crash
        if existing is not None:
            delete_quietly(run.client, f"/custom_task_statuses/{existing.id}")
        _create_status(run, sid, after["name"], after["category"])
        return
    status_id = _status_id(live, change)
    if change.action is Action.UPDATE:
        if "name" in change.fields and status_id is not None:
            body = {"custom_task_status": {"status": after["name"]}}
            run.client.request("PUT", f"/custom_task_statuses/{status_id}", json=body)
    elif change.action is Action.REPLACE:
        _replace_status(run, sid, status_id, change)
    elif change.action is Action.DELETE and status_id is not None:
        delete_quietly(run.client, f"/custom_task_statuses/{status_id}")


def _status_id(live: dict[str, LiveStatus], change: Change) -> str | None:
    """The live id: from the plan, or by name (a default status of a set created now)."""
    if change.id is not None:
        return change.id
    found = live.get((change.before or {}).get("name", change.key))
    return found.id if found is not None else None


def _create_status(run: Run, sid: str, name: str, category: str) -> None:
    body = {"status": name, "category": category, "status_set_id": int(sid)}
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        try:
            run.client.request("POST", "/custom_task_statuses", json={"custom_task_status": body})
            return
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
            if look_again(
                lambda names: _named_statuses(run, sid, names),
                [name],
                f"creating status {name!r}",
            ):
                run.count_recovered()
                return


def _sets_named(run: Run, names: list[str]) -> dict[str, tuple[str, dict[str, LiveStatus]]]:
    """The sets among `names` that exist now: name -> (id, statuses by name)."""
    sets = read_sets(run)
    return {n: sets[n] for n in names if n in sets}


def _named_statuses(run: Run, sid: str, names: list[str]) -> dict[str, bool]:
    """Which of `names` the set `sid` now has."""
    have = {n for i, s in read_sets(run).values() if i == sid for n in s}
    return {n: True for n in names if n in have}


def _replace_status(run: Run, sid: str, status_id: str | None, change: Change) -> None:
    """A category cannot change: delete the old status, create the new one, and put its
    tasks back on it (deleting a status moves its tasks to the bare category)."""
    after = change.after or {}
    if status_id is not None:
        delete_quietly(run.client, f"/custom_task_statuses/{status_id}")
    _create_status(run, sid, after["name"], after["category"])
    task_ids = [str(i) for i in after.get("task_ids") or ()]

    def restore(story_id: str) -> None:
        run.client.request("PUT", f"/stories/{story_id}", json={"story": {"status": after["name"]}})

    run.map(restore, task_ids)
    run.count_extra(len(task_ids))


def _fix_positions(run: Run, set_name: str, changes: list[Change]) -> None:
    """Put statuses at their planned positions, lowest first, so each move settles the rest.

    The set is read once, and again only after a move (a move renumbers its neighbours).
    """
    targets = sorted(
        ((c.after or {})["position"], (c.after or {}).get("name", c.key))
        for c in changes
        if c.action is not Action.DELETE and (c.after or {}).get("position") is not None
    )
    live = _statuses_of(run, set_name) if targets else {}
    for position, name in targets:
        status = live.get(name)
        if status is not None and status.position != position:
            body = {"custom_task_status": {"position": position}}
            run.client.request("PUT", f"/custom_task_statuses/{status.id}", json=body)
            run.count_extra()
            live = _statuses_of(run, set_name)


# --------------------------------------------------------------------------- workspace


def assign_set(run: Run, change: Change) -> None:
    """Make the workspace use the planned status set."""
    name = (change.after or {}).get("status_set")
    if name:
        entry = {"workspace_id": int(run.workspace_id), "status_set_id": int(set_id(run, name))}
        run.client.request(
            "PUT",
            "/workspace_task_status_sets/bulk_update",
            json={"workspace_task_status_sets": [entry]},
        )
    run.done((change,))
