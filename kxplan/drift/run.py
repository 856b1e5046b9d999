"""`kxplan drift`'s reads: the same reads as `plan`, then the history of drifted statuses.

Read-only by construction: the workspace and its tasks are read through `make_plans` (the
plan is made and discarded, never applied, no lock taken), and the only other requests are
`GET /story_state_changes`, one per task whose status drifted, and, when manifest tasks are
missing, `GET /stories?only_deleted=true` by marker, one per 200 of them
(kxplan.live._history); none when nothing is missing and no status drifted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from kxplan.cli.plan_options import PlanFlags, make_plans
from kxplan.client import KantataClient
from kxplan.drift.report import WorkspaceDrift, compare_workspace, with_deleted, with_history
from kxplan.live import SharedReads, deleted_by_marker, read_status_history
from kxplan.model import LiveState, LiveTask, Manifest, PlanOptions
from kxplan.plan import Plan


def drift_of(
    manifests: Sequence[Manifest],
    client: KantataClient,
    flags: PlanFlags,
    *,
    shared: SharedReads | None = None,
) -> list[WorkspaceDrift]:
    """The drift of each manifest's workspace, in order (errors are raised, as plan's).
    Each drift's `requests` counts its reads and its history requests."""
    from kxplan.planner import build_plan

    seen: dict[int, LiveState] = {}

    def planner(manifest: Manifest, live: LiveState, options: PlanOptions) -> Plan:
        seen[id(manifest)] = live
        return build_plan(manifest, live, options)

    plans = make_plans(
        manifests,
        client,
        flags,
        planner=planner,
        shared=shared,
        status_history=False,
        status_sets=True,  # which status is the only one of its category (`sole_statuses`)
    )
    lives = [seen[id(m)] for m in manifests]
    drifts = [compare_workspace(m, lv, p) for m, lv, p in zip(manifests, lives, plans, strict=True)]
    drifts = client.map_concurrent(lambda d: _deleted(client, d), drifts)
    tasks = {t.id: t for lv in lives for t in lv.tasks}
    return with_histories(client, drifts, tasks, sole_statuses(lives))


def _deleted(client: KantataClient, drift: WorkspaceDrift) -> WorkspaceDrift:
    """`drift` telling tasks deleted in Kantata from tasks never applied: one request per 200
    missing tasks, none when none is missing (or the workspace does not exist yet)."""
    missing = [t.key for t in drift.tasks if t.state == "missing"]
    workspace_id = drift.workspace.get("id")
    if not missing or not workspace_id:
        return drift
    with client.tally() as tally:
        deleted = deleted_by_marker(client, str(workspace_id), drift.stack, missing)
    return replace(with_deleted(drift, deleted), requests=drift.requests + tally.requests)


def sole_statuses(lives: Sequence[LiveState]) -> frozenset[str]:
    """Status names (casefolded) that are the only one of their category in the status set
    their workspace uses (a move into the category can only have set them)."""
    out: set[str] = set()
    for live in lives:
        used = next(
            (s for s in live.status_sets if s.id == live.workspace.task_status_set_id), None
        )
        if used is None:
            continue
        categories = Counter(s.category for s in used.statuses)
        out |= {s.name.casefold() for s in used.statuses if categories[s.category] == 1}
    return frozenset(out)


def with_histories(
    client: KantataClient,
    drifts: Sequence[WorkspaceDrift],
    tasks: dict[str, LiveTask],
    sole: frozenset[str] = frozenset(),
) -> list[WorkspaceDrift]:
    """Each drift with who set its drifted statuses (`tasks`: live tasks by id)."""
    wanted = {
        t.id: tasks[t.id] for d in drifts for t in d.tasks if t.wants_history and t.id in tasks
    }
    if not wanted:
        return list(drifts)
    history = read_status_history(client, wanted, sole)
    out = []
    for d in drifts:
        asked = sum(1 for t in d.tasks if t.id in history)
        out.append(replace(with_history(d, history), requests=d.requests + asked))
    return out
