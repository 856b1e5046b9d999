"""`apply_plan`: dispatch a plan's changes wave by wave to the handlers."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kxplan.apply import _checklist, _creates, _posts, _statuses, _tasks, _workspace
from kxplan.apply._guard import CreateGuard
from kxplan.apply._run import Progress, Run
from kxplan.apply._verify import Observed
from kxplan.changes import stages
from kxplan.changes.base import WAVES, Change, Kind
from kxplan.changes.stages import STAGES, Stage, stage_of
from kxplan.changes.task import TaskAdopt, TaskCreate
from kxplan.changes.workspace import WorkspaceCreate
from kxplan.errors import ApplyError, KxplanError
from kxplan.plan import Plan

if TYPE_CHECKING:
    from kxplan.client import KantataClient


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one apply did. `requests` counts every HTTP request made while applying."""

    applied: tuple[Change, ...]
    requests: int
    seconds: float
    created_ids: tuple[tuple[str, str], ...] = ()  # (task key, story id), in creation order
    extra_requests: int = 0
    recovered: int = 0  # creates with an unknown outcome that a look-up found done
    lifts: int = 0  # moves that needed a lift to the top level first (one extra PUT each)
    refused: int = 0  # requests a refused move cost (resent, or lifted): beyond the estimate
    cascaded: int = 0  # planned deletes not sent: Kantata had deleted them with their parent
    created_workspace: tuple[str, str] | None = None  # (id, title) of the workspace created
    workspace_id: str = ""  # the workspace applied to (created by this apply, perhaps)
    # What the writes' answers showed Kantata stored (kxplan.apply._verify.live_after).
    observed: Observed = field(default_factory=Observed)

    def summary(self) -> dict[str, int]:
        """Counts of applied changes, as in `Plan.summary()`."""
        return Plan("", "", {"id": None, "title": ""}, self.applied).summary()


class ApplyFailed(ApplyError):
    """Apply stopped part-way. `applied` and `pending` say exactly how far it got."""

    def __init__(
        self,
        cause: KxplanError,
        applied: Sequence[Change],
        pending: Sequence[Change],
        failed: Sequence[Change] = (),
    ) -> None:
        self.cause = cause
        self.applied = tuple(applied)
        self.pending = tuple(pending)
        self.failed = tuple(failed)  # the pending changes of the batch that raised `cause`
        super().__init__(_failure_message(cause, self.applied, self.pending), hint=_HINT)


_HINT = (
    "Nothing was applied twice. Fix the cause, then run `kxplan plan` to see what is left "
    "and `kxplan apply` to finish: the next plan starts from what was applied."
)


def _failure_message(
    cause: KxplanError, applied: tuple[Change, ...], pending: tuple[Change, ...]
) -> str:
    total = len(applied) + len(pending)
    lines = [f"apply stopped: {cause.message}"]
    if cause.hint:
        lines.append(f"  ({cause.hint})")
    lines.append(f"Applied {len(applied)} of {total} changes{':' if applied else '.'}")
    lines.extend(_listed(applied))
    lines.append("Not applied:")
    lines.extend(_listed(pending))
    return "\n".join(lines)


def _listed(changes: tuple[Change, ...], limit: int = 20) -> list[str]:
    lines = [f"  {c.action.symbol} {c.kind.value} {_label(c)}" for c in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"  ... and {len(changes) - limit} more")
    return lines


def _label(change: Change) -> str:
    return f"{change.parent}/{change.key}" if change.kind is Kind.CHECKLIST_ITEM else change.key


def apply_plan(
    plan: Plan,
    client: KantataClient,
    *,
    progress: Progress | None = None,
    guard: CreateGuard | None = None,
    on_done: Callable[[tuple[Change, ...]], None] | None = None,
) -> ApplyResult:
    """Apply `plan` with `client`; `progress(n)` is called as each batch of n changes finishes
    (and `on_done(batch)` with the changes themselves).

    With a `guard`, every create batch is checked against the workspace lock first, and
    each level of creates against the markers in Kantata before and against duplicates
    made meanwhile after (`_guard`).

    Raises `ApplyFailed` on a hard failure (after recording what was applied).
    """
    workspace_id = plan.workspace.get("id")
    creates = any(isinstance(c, WorkspaceCreate) for c in plan.changes)
    if not workspace_id and not creates:
        raise ApplyError(
            f"workspace {plan.workspace.get('title')!r} does not exist",
            hint="add `create: true` to the manifest's workspace: mapping (or use --sandbox, "
            "which creates it), or create it in Kantata, and plan again",
        )
    # A workspace the plan creates gets its id from the create (wave 0, first of all).
    run = Run(
        plan=plan,
        client=client,
        workspace_id=str(workspace_id or ""),
        progress=progress,
        guard=guard,
        on_done=on_done,
    )
    if guard is not None:
        guard.count_from(plan.stack_stories)
    # The guard's first count may have been made while the lock was taken: it is this
    # apply's request all the same.
    before = client.requests - (guard.early_requests if guard is not None else 0)
    todo = [c for c in plan.actionable if c.kind is not Kind.NOTE]
    try:
        for wave in range(len(WAVES)):
            _run_wave(run, [c for c in todo if c.wave == wave])
        _run_wave(run, [c for c in todo if not 0 <= c.wave < len(WAVES)])
        run.attempting = tuple(run.deferred)
        _creates.create_deferred(run)  # normally done right after the moves
    except KxplanError as err:
        raise _failed(err, run, todo) from err
    except KeyboardInterrupt as err:  # Ctrl-C: still say how far it got
        stopped = ApplyError("interrupted (Ctrl-C)")
        raise _failed(stopped, run, todo) from err
    finally:
        _statuses.finish_sets(run, ok=False)  # sets it made but never wrote: none wait for them
    return ApplyResult(
        applied=tuple(run.applied),
        requests=client.requests - before,
        seconds=time.monotonic() - run.started,
        created_ids=tuple((c.key, run.task_ids[c.key]) for c in todo if _is_task_create(c)),
        extra_requests=run.extra_requests,
        recovered=run.recovered,
        lifts=run.lifts,
        refused=run.refused,
        cascaded=run.cascaded,
        created_workspace=_created_workspace(run),
        workspace_id=run.workspace_id,
        observed=run.observed,
    )


def _created_workspace(run: Run) -> tuple[str, str] | None:
    made = [c for c in run.applied if isinstance(c, WorkspaceCreate)]
    return (run.workspace_id, made[0].after["title"]) if made else None


def _failed(cause: KxplanError, run: Run, todo: list[Change]) -> ApplyFailed:
    done = {id(c) for c in run.applied}
    pending = [c for c in todo if id(c) not in done]
    tried = {id(c) for c in run.attempting}
    return ApplyFailed(cause, run.applied, pending, [c for c in pending if id(c) in tried])


def _is_task_create(change: Change) -> bool:
    return isinstance(change, TaskCreate)


_Handler = Callable[[Run, Sequence[Change]], None]


def _each(fn: Callable[[Run, Change], None]) -> _Handler:
    def handler(run: Run, changes: Sequence[Change]) -> None:
        for c in changes:
            fn(run, c)

    return handler


def _create_and_adopt(run: Run, changes: Sequence[Change]) -> None:
    """The bulk creates first, then the adoptions (a PUT on a story that exists)."""
    creates = [c for c in changes if isinstance(c, TaskCreate)]
    adoptions = [c for c in changes if isinstance(c, TaskAdopt)]
    if creates:
        _creates.create_tasks(run, creates)
    if adoptions:
        _tasks.adopt_tasks(run, adoptions)


#: The handler of each stage that makes calls (kxplan.changes.stages.STAGES is the order).
#: A new kind of change = its types (kxplan.changes), its stage, and one handler here.
HANDLERS: Mapping[Stage, _Handler] = {
    stages.WORKSPACE_CREATE: _each(_workspace.create_workspace),
    stages.WORKSPACE_FIELDS: _each(_workspace.update_workspace),
    stages.STATUS_SET: _each(_statuses.create_set),
    stages.STATUSES: _statuses.apply_statuses,
    stages.SET_ASSIGNMENT: _each(_statuses.assign_set),
    stages.CREATES: _create_and_adopt,
    stages.UPDATES: _tasks.update_and_move_tasks,
    stages.CHECKLIST: _checklist.apply_checklist,
    stages.POSTS: _posts.apply_posts,
    stages.POST_DELETES: _posts.delete_posts,
    stages.TASK_DELETES: _tasks.delete_tasks,
    stages.STATUS_DELETES: _statuses.apply_statuses,
}


def _run_wave(run: Run, changes: list[Change]) -> None:
    # Each change's stage, found once (a 5,000-task bootstrap has 60,000 change-stage pairs
    # per wave to try otherwise), grouped in the changes' order.
    by_stage: dict[Stage | None, list[Change]] = {}
    for c in changes:
        by_stage.setdefault(stage_of(c), []).append(c)
    for stage in STAGES:
        handler = HANDLERS.get(stage)
        picked = by_stage.get(stage)
        if handler is None or not picked:
            continue  # a stage of changes that make no call, or none in this wave
        applied = run.applied
        # Applied already by an earlier stage (e.g. deletes a stuck move needed early).
        done = {id(c) for c in applied} if applied else set()
        chosen = [c for c in picked if id(c) not in done]
        if chosen:
            run.attempting = tuple(chosen)
            handler(run, chosen)
    unknown = [c for s, group in by_stage.items() if s is None or s not in HANDLERS for c in group]
    if unknown:
        c = unknown[0]
        raise ApplyError(
            f"this kxplan cannot apply {c.action.value} of a {c.kind.value} ({c.key!r})",
            hint="upgrade kxplan, or plan again with the version that will apply",
        )
