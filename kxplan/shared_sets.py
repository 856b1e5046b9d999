"""Guarded shared status sets (docs/plan.md, "Shared status sets").

Status sets are account-wide: a status renamed, replaced or deleted in a set changes every
task holding it, in every workspace using the set. So a plan that changes an existing set
counts the other workspaces using it and their tasks on the statuses it changes, and it is
refused when another stack wrote the set last with other statuses (no tug of war).

Kantata's external references cannot name a status set (their `subject_type` list has no
status set), so who last wrote a set is recorded on the writer's workspace: an external
reference with `service_name` "kxplan-status-set", `service_model` the stack,
`service_model_ref` the set id and `external_message` a JSON object
{"stack", "workspace", "digest", "generation"} (docs/apply.md, "Who last wrote a status
set"). The record with the highest generation is the last write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.status import StatusDelete, StatusReplace, StatusUpdate
from kxplan.client import KantataClient
from kxplan.errors import PlanError
from kxplan.model import DesiredStatusSet, LiveState, LiveStatusSet, Manifest
from kxplan.plan import Plan, SetWrite, SharedSet, fingerprint

if TYPE_CHECKING:
    from kxplan.live.shared import SharedReads

#: The external references that record who last wrote a status set.
RECORD_SERVICE = "kxplan-status-set"


@dataclass(frozen=True, slots=True)
class SetRecord:
    """Who last wrote a status set, from one workspace's record."""

    workspace_id: str
    workspace: str
    stack: str
    digest: str
    generation: int


def statuses_digest(statuses: Iterable[tuple[str, str]]) -> str:
    """A digest of a set's statuses: (name, category) in order."""
    return fingerprint([[name, category] for name, category in statuses])


def desired_digest(desired: DesiredStatusSet) -> str:
    return statuses_digest((s.name, s.category) for s in desired.statuses)


def live_digest(live_set: LiveStatusSet) -> str:
    return statuses_digest((s.name, s.category) for s in live_set.statuses)


def read_records(client: KantataClient, set_id: str) -> tuple[SetRecord, ...]:
    """Every record of who wrote the set `set_id` (one request; a record that cannot be
    read is ignored: it is kxplan's own bookkeeping, not people's work)."""
    params = {
        "subject_type": "Workspace",
        "service_name": RECORD_SERVICE,
        "service_model_ref": set_id,
    }
    records = []
    for ref in client.get_all("/external_references", params):
        found = _record(ref, set_id)
        if found is not None:
            records.append(found)
    return tuple(records)


def _record(ref: Mapping[str, Any], set_id: str) -> SetRecord | None:
    if str(ref.get("service_model_ref")) != set_id or ref.get("service_name") != RECORD_SERVICE:
        return None
    try:
        data = json.loads(str(ref.get("external_message") or ""))
        return SetRecord(
            workspace_id=str(ref["subject_id"]),
            workspace=str(data.get("workspace", "")),
            stack=str(data["stack"]),
            digest=str(data["digest"]),
            generation=int(data["generation"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def write_record(
    client: KantataClient,
    workspace: Mapping[str, Any],
    stack: str,
    set_id: str,
    write: SetWrite,
) -> None:
    """Record on the workspace that `stack` wrote the set `set_id` (one request)."""
    message = {
        "stack": stack,
        "workspace": str(workspace.get("title", "")),
        "digest": write["digest"],
        "generation": int(write["generation"]),
    }
    body = {
        "subject_type": "Workspace",
        "subject_id": int(str(workspace["id"])),
        "service_name": RECORD_SERVICE,
        "service_model": stack,
        "service_model_ref": set_id,
        "external_message": json.dumps(message, sort_keys=True),
    }
    client.post("/external_references/create_or_update", json={"external_reference": body})


def last_write(records: Sequence[SetRecord]) -> SetRecord | None:
    """The record with the highest generation (ties: the lowest workspace id, stably)."""
    if not records:
        return None
    return max(records, key=lambda r: (r.generation, -_num(r.workspace_id)))


def _num(value: str) -> int:
    return int(value) if value.isdigit() else 0


# --------------------------------------------------------------------------- planning


def changed_statuses(changes: Iterable[Change], set_name: str) -> tuple[str, ...]:
    """Live names of the statuses of `set_name` that the plan renames, replaces or deletes:
    every task holding one of them changes status."""
    names: list[str] = []
    for c in changes:
        if c.kind is not Kind.STATUS or c.parent != set_name or c.id is None:
            continue
        name: str | None = None
        if isinstance(c, StatusUpdate) and "name" in c.fields:
            name = c.before.get("name")
        elif isinstance(c, StatusReplace | StatusDelete):
            name = c.before["name"]
        if name and name not in names:
            names.append(name)
    return tuple(names)


def guard_plan(
    client: KantataClient,
    manifest: Manifest,
    plan: Plan,
    live: LiveState,
    shared: SharedReads | None = None,
) -> Plan:
    """`plan` with its shared sets counted and its set writes to record; PlanError when
    another stack last wrote a set this plan changes with other statuses.

    Makes requests only when the plan changes the statuses of an existing set: the pages of
    workspaces, one read of the set's records, one story count (when other workspaces use
    it and the plan renames, replaces or deletes a status). Plans once: the counts are
    added to the plan made without them. With `shared` (a run's `SharedReads`), the
    workspaces are counted in the run's one index, paged at most once for every manifest.
    """
    from kxplan.live import count_set_usage, count_tasks_holding
    from kxplan.planner.statuses import changed_sets

    desired = manifest.status_set
    if desired is None:
        return plan
    creates = any(c.kind is Kind.STATUS_SET and c.action is Action.CREATE for c in plan.changes)
    if creates:
        write: SetWrite = {"set": desired.name, "digest": desired_digest(desired), "generation": 1}
        return replace(plan, set_writes=(write,), requests=_one_more_write(plan.requests))
    set_ids = changed_sets(plan.changes, live)
    live_set = live.status_set_named(desired.name)
    if not set_ids or live_set is None or live_set.id not in set_ids:
        return plan
    with client.tally() as tally:
        index = shared.workspaces().workspaces if shared is not None else None
        (_, others), *_ = count_set_usage(client, live.workspace.id, [live_set.id], index)
        records = read_records(client, live_set.id)
        _refuse_disagreement(manifest, live, live_set, others, last_write(records))
        names = changed_statuses(plan.changes, desired.name)
        tasks = count_tasks_holding(client, others, names) if others else 0
    generation = max((r.generation for r in records), default=0) + 1
    write = SetWrite(set=desired.name, digest=desired_digest(desired), generation=generation)
    requests = {
        **_one_more_write(plan.requests),
        "read": int(plan.requests.get("read", 0)) + tally.requests,
    }
    counted = with_usage(plan, desired.name, live_set.id, len(others), tasks)
    return replace(counted, set_writes=(write,), requests=requests)


def with_usage(plan: Plan, set_name: str, set_id: str, others: int, tasks: int | None) -> Plan:
    """`plan` once the users of the existing set it changes are counted: `others` other
    workspaces, `tasks` of their tasks on a status it renames, replaces or deletes (None:
    not counted). The uncounted SHARED_NOTE in its reasons becomes the counts, and a set
    other workspaces use is listed in `shared_sets`. Pure: guard_plan counts, this says."""
    from kxplan.planner.statuses import SHARED_NOTE, counted_note

    names = changed_statuses(plan.changes, set_name)
    shared = (SharedSet(set_name, set_id, others, tasks, names),) if others else ()
    note = counted_note(others, tasks)
    changes = tuple(
        replace(c, reason=c.reason.replace(SHARED_NOTE, note)) if SHARED_NOTE in c.reason else c
        for c in plan.changes
    )
    return replace(plan, changes=changes, shared_sets=shared)


def _one_more_write(requests: Mapping[str, int]) -> dict[str, int]:
    """The estimate with the record of who writes the set (one POST)."""
    return {**requests, "write": int(requests.get("write", 0)) + 1}


def _refuse_disagreement(
    manifest: Manifest,
    live: LiveState,
    live_set: LiveStatusSet,
    others: Sequence[str],
    last: SetRecord | None,
) -> None:
    """PlanError when another stack (or this stack in another workspace) wrote the set last
    with statuses other than this manifest's, and its workspace still uses the set."""
    desired = manifest.status_set
    assert desired is not None
    if last is None or last.digest == desired_digest(desired):
        return
    if (last.stack, last.workspace_id) == (manifest.name, live.workspace.id):
        return
    here = live.workspace.task_status_set_id == live_set.id
    still_used = last.workspace_id in others or (last.workspace_id == live.workspace.id and here)
    if not still_used:
        return
    as_written = "" if live_digest(live_set) == last.digest else " (and changed in Kantata since)"
    where = f"workspace {last.workspace!r} (#{last.workspace_id})"
    raise PlanError(
        f'{manifest.path}: status set "{desired.name}" was last written by stack '
        f"{last.stack!r} in {where}{as_written}, with statuses other than this manifest's: "
        f"{_difference(desired, live_set)}; applying this manifest would change the set "
        f"back for every workspace using it",
        hint=f"make the two manifests agree on the statuses of {desired.name!r} (change the "
        f"manifest of stack {last.stack!r} and apply it first), or give this manifest a "
        "status set of its own (another status_set name)",
    )


def _difference(desired: DesiredStatusSet, live_set: LiveStatusSet) -> str:
    """What differs between the manifest's statuses and the set's, shortly."""
    mine = [(s.name, s.category) for s in desired.statuses]
    theirs = [(s.name, s.category) for s in live_set.statuses]
    only_mine = [n for n, c in mine if (n, c) not in theirs]
    only_theirs = [n for n, c in theirs if (n, c) not in mine]
    parts = []
    if only_mine:
        parts.append("this manifest has " + ", ".join(repr(n) for n in only_mine))
    if only_theirs:
        parts.append("the set has " + ", ".join(repr(n) for n in only_theirs))
    if not parts:
        parts.append("the same statuses in another order")
    return "; ".join(parts)
