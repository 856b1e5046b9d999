"""The fleet runner: one template planned (and applied) in every workspace of a fleet.

    run = FleetRun(client, FleetReads(client), flags, api)
    outcomes = plan_fleet(run, members)            # one Outcome per workspace, in order
    outcomes = apply_fleet(run, outcomes, gates)   # the planned ones applied, each verified

Each workspace goes through the ordinary single-workspace path (read, plan, shared-set
guard, lock, apply, verification) and is isolated: any KxplanError in one (a workspace
that is not there, an API error, a stale saved plan, an apply that fails) becomes that
workspace's `failed` outcome with the error's text, and the others go on. Every step
writes only into its own outcome (`Outcome.text`), never to the terminal, so workspaces
can run concurrently without their sections interleaving (kxplan.fleet.reads.FleetReads
.each decides how they run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from kxplan.apply import ApplyFailed, CreateGuard, apply_plan
from kxplan.changes.base import Action, Kind
from kxplan.cli.plan_options import PlanFlags, duplicates_left, make_plans
from kxplan.cli.rename_gate import AcceptNew, gate_suspected_renames
from kxplan.client import KantataClient
from kxplan.connection import SANDBOX_DATA
from kxplan.errors import KxplanError, UnsafePlanError
from kxplan.fleet.reads import FleetReads
from kxplan.lock import WorkspaceLock, lock_ttl
from kxplan.model import Manifest
from kxplan.plan import Plan, PlanWorkspace
from kxplan.render import render_text
from kxplan.saved_plans import check_fresh

#: Outcome statuses, as the aggregate shows them.
OK, NO_CHANGES, FAILED = "ok", "no changes", "failed"


@dataclass(frozen=True, slots=True)
class FleetRun:
    """What every workspace step of one run shares: the client, the ONE FleetReads of the
    run, the plan flags (their --workspace already used to pick the entry), the API a saved
    plan binds to, and whether missing workspaces are created (`apply --sandbox`) or
    planned as empty (`plan --sandbox`)."""

    client: KantataClient
    reads: FleetReads
    flags: PlanFlags
    api: str
    sandbox: bool = False
    create_missing: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    """One workspace to run: the entry's workspace as written, and its manifest (None for
    a saved plan whose manifest is gone or changed: then it is applied unverified)."""

    ref: str | int
    manifest: Manifest | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened in one workspace: `text` is its plan as text, `result` what came of it
    (the error of a failed step; after apply, what was applied and verified), `notes` what
    it said on the side (locks, workspaces created)."""

    target: Target
    status: str
    workspace: PlanWorkspace
    plan: Plan | None = None
    reason: str = ""
    text: str = ""
    result: str = ""
    notes: tuple[str, ...] = ()
    applied: dict[str, int] | None = None
    requests: int = 0

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def counts(self) -> dict[str, int]:
        """add/change/move/delete: what was applied, else what is planned."""
        if self.applied is not None:
            source = self.applied
        else:
            source = self.plan.summary() if self.plan is not None else {}
        return {
            "create": source.get("create", 0),
            "update": source.get("update", 0),
            "move": source.get("move", 0),
            "delete": source.get("delete", 0),
        }


@dataclass(frozen=True, slots=True)
class Gates:
    """What `apply` checks before asking and writing, in every workspace."""

    allow_shared: bool = False
    accept: AcceptNew = field(default_factory=AcceptNew)
    lock_timeout: float = 0.0


def failed(
    target: Target,
    err: KxplanError,
    *,
    workspace: PlanWorkspace | None = None,
    plan: Plan | None = None,
    text: str = "",
    applied: dict[str, int] | None = None,
    notes: Sequence[str] = (),
    requests: int = 0,
) -> Outcome:
    """The outcome of a workspace whose step raised `err` (its text is the result)."""
    return Outcome(
        target,
        FAILED,
        workspace or _unknown(target),
        plan=plan,
        reason=err.message,
        text=text,
        result=err.format() + "\n",
        notes=tuple(notes),
        applied=applied,
        requests=requests,
    )


def _unknown(target: Target) -> PlanWorkspace:
    if isinstance(target.ref, int) or str(target.ref).isdigit():
        return {"id": str(target.ref), "title": ""}
    return {"id": None, "title": str(target.ref)}


# --------------------------------------------------------------------------- plan


def plan_fleet(run: FleetRun, targets: Sequence[Target]) -> list[Outcome]:
    """Every target planned, in order; each one isolated."""
    return list(run.reads.each(lambda t: plan_one(run, t), targets))


def plan_one(run: FleetRun, target: Target) -> Outcome:
    """One workspace planned: found (or created, or planned as empty in the sandbox), read,
    planned and guarded like `kxplan plan MANIFEST --workspace ...`."""
    assert target.manifest is not None
    notes: list[str] = []
    try:
        plan = _plan(run, target.manifest, target.ref, notes.append)
    except KxplanError as err:
        return failed(target, err, notes=notes)
    return _planned(target, plan, tuple(notes))


def _planned(target: Target, plan: Plan, notes: tuple[str, ...] = ()) -> Outcome:
    status = OK if plan.has_changes else NO_CHANGES
    text = render_text(plan, False)
    return Outcome(target, status, plan.workspace, plan=plan, text=text, notes=notes)


def _plan(run: FleetRun, manifest: Manifest, ref: str | int, say: Callable[[str], None]) -> Plan:
    """One workspace's plan, through the single-workspace path (`make_plans` against `ref`,
    reading through the run's shared reads): a workspace that does not exist is planned as
    an empty one starting with its create when the entry says `create: true` (or in the
    sandbox), else it is this workspace's error."""
    flags = replace(run.flags, workspace=str(ref))
    shared = run.reads.shared
    (plan,) = make_plans(
        [manifest], run.client, flags, api=run.api, shared=shared, create_missing=run.sandbox
    )
    if not plan.workspace.get("id") and run.sandbox:
        say(
            f'Workspace "{ref}" is not in the sandbox yet: planned as an empty workspace '
            "(kxplan apply --sandbox creates it)."
        )
    return plan


# --------------------------------------------------------------------------- apply


def gate(outcome: Outcome, gates: Gates) -> Outcome:
    """The checks apply makes before asking, in one workspace: a change to a shared status
    set needs --allow-shared-set-change, a suspected rename --accept-new. A workspace that
    fails them is not applied (the others are)."""
    plan = outcome.plan
    if outcome.failed or plan is None or not plan.has_changes:
        return outcome
    try:
        if plan.shared_sets and not gates.allow_shared:
            raise UnsafePlanError(
                "; ".join(s.warning() for s in plan.shared_sets),
                hint="agree the change with the other workspaces and re-run with "
                "--allow-shared-set-change",
            )
        gate_suspected_renames([plan], gates.accept)
    except KxplanError as err:
        return failed(
            outcome.target, err, workspace=outcome.workspace, plan=plan, text=outcome.text
        )
    return outcome


def apply_fleet(
    run: FleetRun, outcomes: Sequence[Outcome], gates: Gates, *, saved: bool = False
) -> list[Outcome]:
    """Every planned workspace with changes applied and verified, each isolated; the
    others pass through unchanged."""
    return list(run.reads.each(lambda o: apply_one(run, o, gates, saved=saved), outcomes))


def apply_one(run: FleetRun, outcome: Outcome, gates: Gates, *, saved: bool = False) -> Outcome:
    """Lock the workspace, (re-check a saved plan | re-plan if another apply wrote since),
    apply, verify, release."""
    plan = outcome.plan
    if outcome.failed or plan is None or not plan.has_changes:
        return outcome
    notes = list(outcome.notes)
    wid = str(plan.workspace.get("id") or "")
    lock = WorkspaceLock(
        run.client, wid, str(plan.workspace.get("title") or ""), ttl=lock_ttl(), say=notes.append
    )
    before = run.client.requests
    text = outcome.text
    try:
        if not wid:  # the plan creates its workspace first: there is nothing to lock yet
            result = apply_plan(plan, run.client)
        else:
            lock.peek(gates.lock_timeout)
            try:
                changed = lock.acquire(gates.lock_timeout)
                plan, text = _current(run, outcome, plan, changed, saved, notes)
                if not plan.has_changes:
                    return replace(
                        outcome, status=NO_CHANGES, plan=plan, text=text, notes=tuple(notes)
                    )
                result = apply_plan(plan, run.client, guard=CreateGuard(check_lock=lock.check))
            finally:
                note = lock.release()
                if note:
                    notes.append(note)
    except ApplyFailed as err:
        applied = Plan("", "", plan.workspace, err.applied).summary()
        return failed(
            outcome.target, err, workspace=plan.workspace, plan=plan, text=text,
            applied=applied, notes=notes, requests=run.client.requests - before,
        )  # fmt: skip
    except KxplanError as err:
        return failed(
            outcome.target, err, workspace=plan.workspace, plan=plan, text=text, notes=notes,
            requests=run.client.requests - before,
        )  # fmt: skip
    done = _done_line(result.summary(), result.requests)
    if result.created_workspace is not None:
        created_id, created_title = result.created_workspace
        where = f" in the sandbox ({SANDBOX_DATA})" if run.sandbox else ""
        notes.append(f'Created workspace "{created_title}"{where}: id {created_id}.')
        plan = replace(plan, workspace={"id": created_id, "title": created_title})
    verified = _verify(run, outcome.target, plan)
    requests = run.client.requests - before
    if isinstance(verified, KxplanError):
        return replace(
            failed(outcome.target, verified, workspace=plan.workspace, plan=plan, text=text),
            applied=result.summary(),
            result=done + verified.format() + "\n",
            notes=tuple(notes),
            requests=requests,
        )
    return replace(
        outcome,
        status=OK,
        workspace=plan.workspace,  # with its id when this apply created it
        plan=plan,
        text=text,
        result=done + verified,
        applied=result.summary(),
        notes=tuple(notes),
        requests=requests,
    )


def _current(
    run: FleetRun,
    outcome: Outcome,
    plan: Plan,
    changed: bool,
    saved: bool,
    notes: list[str],
) -> tuple[Plan, str]:
    """The plan to apply, under the lock: a saved plan if it is still true (StalePlanError
    otherwise); a fresh plan when another apply wrote since this one was planned."""
    if saved:
        n = check_fresh(plan, run.client)
        notes.append(f"The saved plan is still current (checked in {n} request{_s(n)}).")
        return plan, outcome.text
    if not changed or outcome.target.manifest is None:
        return plan, outcome.text
    notes.append("Another apply wrote to the workspace since it was planned; planning again.")
    again = _plan(run, outcome.target.manifest, plan.workspace.get("id") or "", notes.append)
    return again, render_text(again, False)


def _verify(run: FleetRun, target: Target, plan: Plan) -> str | KxplanError:
    """Plan the workspace again: nothing may be left to do. The line to show, or the error."""
    if target.manifest is None:
        return "Not verified: the manifest the plan was made from is not here, or changed.\n"
    wid = plan.workspace.get("id") or ""
    if any(c.kind is Kind.WORKSPACE and c.action is Action.UPDATE for c in plan.actionable):
        run.reads.forget(str(wid))  # what the run read of it before is stale now
    flags = replace(run.flags, out=None)
    after = _plan(replace(run, flags=flags), target.manifest, wid, lambda _: None)
    left = duplicates_left([after])
    if left is not None:
        return KxplanError(f"verification found duplicates after apply: {left[0]}", hint=left[1])
    if after.has_changes:
        n = len(after.actionable)
        return KxplanError(
            f"verification found {n} change{_s(n)} still pending after apply",
            hint="someone may be editing the workspace; run `kxplan plan` to review, then apply",
        )
    return "Verified: the workspace matches the manifest.\n"


def _done_line(counts: dict[str, int], requests: int) -> str:
    return (
        f"Applied: {counts.get('create', 0)} added, {counts.get('update', 0)} changed, "
        f"{counts.get('move', 0)} moved, {counts.get('delete', 0)} deleted "
        f"in {requests} request{_s(requests)}.\n"
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"
