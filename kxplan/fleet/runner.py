"""The fleet runner: one template planned (and applied) in every workspace of a fleet.

    run = FleetRun(client, FleetReads(client), flags, api)
    outcomes = plan_fleet(run, members)            # one Outcome per workspace, in order
    outcomes = [gate_one(run, o, gates) for o in outcomes]  # shared sets, renames
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
from typing import TYPE_CHECKING

from kxplan.cli.flow import (
    REPLANNED,
    VERIFIED,
    Gates,
    Output,
    apply_changes,
    counts_of,
    created_note,
    fresh_note,
    gate,
    not_applied,
    planned_after_writes,
    verification_error,
)
from kxplan.cli.locking import guard_for, hold_workspaces, peek_locks
from kxplan.cli.plan_options import PlanFlags, make_plans
from kxplan.client import KantataClient
from kxplan.errors import KxplanError
from kxplan.fleet.reads import FleetReads
from kxplan.model import LiveState, LiveWorkspace, Manifest, PlanOptions

if TYPE_CHECKING:  # imported where used: a fleet's first request does not wait for them
    from kxplan.apply import ApplyResult
    from kxplan.plan import Plan, PlanWorkspace

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
    out: Output = field(default_factory=Output)  # where events go (kxplan.cli.flow)
    notify: bool = False  # apply --notify: each workspace that changed gets a post (kxplan.notify)


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
    #: The live state `plan` was made against, kept while it has changes (verification
    #: lays the apply's answers over it instead of reading the workspace again); None for
    #: a saved plan, whose verification reads the workspace again.
    live: LiveState | None = field(default=None, repr=False, compare=False)

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
        plan, live = _plan(run, target.manifest, target.ref, notes.append)
    except KxplanError as err:
        return failed(target, err, notes=notes)
    return _planned(target, plan, live, tuple(notes))


def _planned(
    target: Target, plan: Plan, live: LiveState | None, notes: tuple[str, ...] = ()
) -> Outcome:
    from kxplan.render import render_text

    status = OK if plan.has_changes else NO_CHANGES
    text = render_text(plan, False)
    kept = live if plan.has_changes else None  # nothing to apply: nothing to verify
    return Outcome(target, status, plan.workspace, plan=plan, text=text, notes=notes, live=kept)


def _plan(
    run: FleetRun, manifest: Manifest, ref: str | int, say: Callable[[str], None]
) -> tuple[Plan, LiveState | None]:
    """One workspace's plan, through the single-workspace path (`make_plans` against `ref`,
    reading through the run's shared reads), and the live state it was made against: a
    workspace that does not exist is planned as an empty one starting with its create when
    the entry says `create: true` (or in the sandbox), else it is this workspace's error."""
    flags = replace(run.flags, workspace=str(ref))
    shared = run.reads.shared
    lives: list[LiveState] = []

    def planner(one: Manifest, live: LiveState, options: PlanOptions) -> Plan:
        from kxplan.planner import build_plan  # once the workspace is read (kxplan._deferred)

        lives.append(live)
        return build_plan(one, live, options)

    (plan,) = make_plans(
        [manifest],
        run.client,
        flags,
        api=run.api,
        shared=shared,
        create_missing=run.sandbox,
        planner=planner,
    )
    if not plan.workspace.get("id") and run.sandbox:
        say(
            f'Workspace "{ref}" is not in the sandbox yet: planned as an empty workspace '
            "(kxplan apply --sandbox creates it)."
        )
    return plan, (lives[0] if lives else None)


# --------------------------------------------------------------------------- apply


def gate_one(run: FleetRun, outcome: Outcome, gates: Gates) -> Outcome:
    """The checks apply makes before asking (kxplan.cli.flow.gate), in one workspace. A
    workspace that fails them is not applied (the others are)."""
    plan = outcome.plan
    if outcome.failed or plan is None or not plan.has_changes:
        return outcome
    try:
        gate([plan], gates)
    except KxplanError as err:
        not_applied(plan, run.out, err, "refused")
        if run.out.events is not None:
            run.out.events.error(err, plan.workspace)
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
    apply, verify, release: the steps of `_Apply`."""
    plan = outcome.plan
    if outcome.failed or plan is None or not plan.has_changes:
        return outcome
    live = None if saved else outcome.live
    return _Apply(run, outcome, gates, saved, plan, outcome.text, list(outcome.notes), live).go()


@dataclass(slots=True)
class _Apply:
    """One workspace's apply, step by step; `plan`, `text`, `notes` and `live` (what the
    plan was made against) as they are now."""

    run: FleetRun
    outcome: Outcome
    gates: Gates
    saved: bool
    plan: Plan
    text: str
    notes: list[str]
    live: LiveState | None = None
    before: int = 0

    def go(self) -> Outcome:
        from kxplan.apply import ApplyFailed
        from kxplan.plan import Plan

        self.before = self.run.client.requests
        try:
            result = self._locked_apply()
        except ApplyFailed as err:
            return self._failed(err, Plan("", "", self.plan.workspace, err.applied).summary())
        except KxplanError as err:
            not_applied(self.plan, self.run.out, err, "refused")
            return self._failed(err)
        if result is None:
            return replace(
                self.outcome,
                status=NO_CHANGES,
                plan=self.plan,
                text=self.text,
                notes=tuple(self.notes),
                live=None,
            )
        return self._verified(result)

    def _locked_apply(self) -> ApplyResult | None:
        """The apply under the workspace's lock; None when, planned again, it has nothing
        left to do."""
        run, plan = self.run, self.plan
        wid = str(plan.workspace.get("id") or "")
        if not wid:  # the plan creates its workspace first: there is nothing to lock yet
            return apply_changes(plan, run.client, None, run.out, bar=False)
        timeout = self.gates.lock_timeout
        # The workspace as the plan's look-up found it, before its plan read: its lock
        # references are the peek, so an apply that wrote since is seen (planned again).
        # A saved plan's workspace has none: its lock is read now.
        ws = self.live.workspace if self.live is not None else None
        if ws is None or ws.id != wid:
            ws = LiveWorkspace(wid, str(plan.workspace.get("title") or ""))
        locks = peek_locks(run.client, [ws], timeout, say=self.notes.append)
        with hold_workspaces(locks, timeout, say=self.notes.append, plans=[plan]) as changed:
            self._current(changed)
            if not self.plan.has_changes:
                return None
            guard = guard_for(locks, wid, self.plan.stack)
            return apply_changes(self.plan, run.client, guard, run.out, bar=False)

    def _current(self, changed: bool) -> None:
        """The plan to apply, under the lock: a saved plan if it is still true
        (StalePlanError otherwise); a fresh plan, gated again, when another apply wrote
        since this one was planned."""
        from kxplan.render import render_text
        from kxplan.saved_plans import check_fresh

        run, manifest = self.run, self.outcome.target.manifest
        if self.saved:
            self.notes.append(fresh_note(check_fresh(self.plan, run.client)))
            return
        if not changed or manifest is None:
            return
        self.notes.append(REPLANNED)
        wid = self.plan.workspace.get("id") or ""
        self.plan, self.live = _plan(run, manifest, wid, self.notes.append)
        self.text = render_text(self.plan, False)
        if run.out.events is not None:
            run.out.events.planned(self.plan)
        gate([self.plan], self.gates)

    def _failed(self, err: KxplanError, applied: dict[str, int] | None = None) -> Outcome:
        if self.run.out.events is not None:
            self.run.out.events.error(err, self.plan.workspace)
        return failed(
            self.outcome.target, err, workspace=self.plan.workspace, plan=self.plan,
            text=self.text, applied=applied, notes=self.notes,
            requests=self.run.client.requests - self.before,
        )  # fmt: skip

    def _verified(self, result: ApplyResult) -> Outcome:
        """The outcome after the apply: verified (planned again), or failed verification."""
        done = _done_line(counts_of([result]), result.requests)
        note = created_note(result, self.run.sandbox)
        if note is not None and result.created_workspace is not None:
            self.notes.append(note)
            created_id, created_title = result.created_workspace
            self.plan = replace(self.plan, workspace={"id": created_id, "title": created_title})
        verified = _verify(self.run, self.outcome.target, self.plan, result, self.live)
        requests = self.run.client.requests - self.before
        if isinstance(verified, KxplanError):
            if self.run.out.events is not None:
                self.run.out.events.error(verified, self.plan.workspace)
            return replace(
                failed(self.outcome.target, verified, workspace=self.plan.workspace,
                       plan=self.plan, text=self.text),
                applied=result.summary(),
                result=done + verified.format() + "\n",
                notes=tuple(self.notes),
                requests=requests,
            )  # fmt: skip
        posted = self._notified(result)
        if isinstance(posted, KxplanError):
            return replace(
                self._failed(posted, result.summary()), result=done + verified + posted.format()
            )
        return replace(
            self.outcome,
            status=OK,
            workspace=self.plan.workspace,  # with its id when this apply created it
            plan=self.plan,
            text=self.text,
            result=done + verified + posted,
            applied=result.summary(),
            notes=tuple(self.notes),
            requests=requests,
            live=None,  # verified: no longer needed
        )

    def _notified(self, result: ApplyResult) -> str | KxplanError:
        """With --notify or the manifest's `notify: true`: the post saying what this
        workspace's apply changed (docs/apply.md, "Telling the team"); the line saying
        where it went ("" when nothing was posted), or the error."""
        from kxplan.notify import notify_one

        manifest = self.outcome.target.manifest
        try:
            line = notify_one(self.run.client, self.plan, result, manifest, self.run.notify)
        except KxplanError as err:
            return err
        return line + "\n" if line else ""


def _verify(
    run: FleetRun, target: Target, plan: Plan, result: ApplyResult, before: LiveState | None
) -> str | KxplanError:
    """Plan the workspace again: nothing may be left to do. The line to show, or the error.

    As for one workspace (kxplan.cli.flow.planned_after_writes): planned against `before`,
    the state the plan was made on, with the writes' answers laid over it and only what
    they did not show read again; the workspace is read again whole when that cannot be
    told from the writes, or `before` is not known (a saved plan)."""
    if target.manifest is None:
        return "Not verified: the manifest the plan was made from is not here, or changed.\n"
    flags = replace(run.flags, out=None)
    after = planned_after_writes(run.client, target.manifest, before, result, flags.options())
    if after is None:
        after = _read_again(replace(run, flags=flags), target.manifest, plan)
    err = verification_error([after])
    return VERIFIED + "\n" if err is None else err


def _read_again(run: FleetRun, manifest: Manifest, plan: Plan) -> Plan:
    """`manifest` planned against the workspace read again (through the run's reads)."""
    from kxplan.changes.base import Action, Kind

    wid = plan.workspace.get("id") or ""
    if any(c.kind is Kind.WORKSPACE and c.action is Action.UPDATE for c in plan.actionable):
        run.reads.forget(str(wid))  # what the run read of it before is stale now
    after, _ = _plan(run, manifest, wid, lambda _: None)
    return after


def _done_line(counts: dict[str, int], requests: int) -> str:
    return (
        f"Applied: {counts.get('create', 0)} added, {counts.get('update', 0)} changed, "
        f"{counts.get('move', 0)} moved, {counts.get('delete', 0)} deleted "
        f"in {requests} request{_s(requests)}.\n"
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"
