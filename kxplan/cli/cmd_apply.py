"""`kxplan apply (MANIFEST... | PLANFILE)`: show the plan, ask, apply it, verify the result."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kxplan._deferred import warm_up
from kxplan.cli import cli
from kxplan.cli.cmd_plan import PLANNING, save_plan, show_plans, use_colour
from kxplan.cli.flow import (
    REPLANNED,
    VERIFIED,
    Gates,
    LiveReads,
    Output,
    apply_changes,
    confirm,
    counts_of,
    created_note,
    fresh_note,
    gate,
    not_applied,
    reporting,
    verification_error,
)
from kxplan.cli.locking import (
    guard_for,
    hold_workspaces,
    lock_timeout_option,
    peek_locks,
    report_guards,
)
from kxplan.cli.plan_options import (
    PlanFlags,
    duplicates_left,
    load_for_plan,
    make_plans,
    plan_options,
    refuse_plan_flags,
    workspace_of,
)
from kxplan.cli.rename_gate import AcceptNew, accept_new_options
from kxplan.client import KantataClient
from kxplan.connection import Connection, connection_options
from kxplan.errors import KxplanError, ManifestError, UsageError
from kxplan.fleet.detect import fleet_input
from kxplan.inputfile import InputFileError, decode_utf8, read_input
from kxplan.live import SharedReads
from kxplan.lock import WorkspaceLock
from kxplan.model import LiveWorkspace, Manifest

if TYPE_CHECKING:
    from kxplan.apply import ApplyResult
    from kxplan.plan import Plan

#: What `apply` imports besides planning (`PLANNING`) and its first request does not need:
#: imported while that request is answered (kxplan._deferred), else where first used.
#: (`--json` and a saved plan import the event stream and the saved-plan checks before it.)
APPLYING = ("kxplan.apply", "kxplan.notify")


@cli.command("apply")
@click.argument(
    "inputs",
    nargs=-1,
    required=True,
    metavar="(MANIFEST... | PLANFILE)",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--auto-approve",
    is_flag=True,
    default=False,
    help="Apply without asking. Needed when there is no terminal (CI).",
)
@click.option(
    "--allow-shared-set-change",
    "allow_shared",
    is_flag=True,
    default=False,
    help="Allow changing a status set that other workspaces use (their tasks may change status).",
)
@click.option(
    "--notify",
    is_flag=True,
    default=False,
    help="After applying, post what changed to the workspace's activity feed "
    "(also `notify: true` in the manifest).",
)
@lock_timeout_option
@accept_new_options
@plan_options
@connection_options
def apply_command(
    inputs: tuple[Path, ...],
    auto_approve: bool,
    allow_shared: bool,
    notify: bool,
    lock_timeout: float,
    accept: AcceptNew,
    flags: PlanFlags,
    api_url: str,
    token_file: Path | None,
    sandbox: bool,
    log_level: str,
) -> None:
    """Plan MANIFEST(s) (or take a saved PLANFILE), show the plan, ask, then apply it.

    \b
    A saved plan (`kxplan plan --out PLANFILE`) is applied only if it is still true:
    the objects it touches are re-read and compared with the plan's fingerprints.
    After applying, the result is verified against the manifest (from the writes' answers).
    Exit codes: 0 applied (or nothing to do), 1 errors.

    \b
    Examples:
      kxplan apply --sandbox --auto-approve examples/first.yaml
      kxplan apply onboarding.yaml --var kickoff=2027-01-04
      kxplan plan onboarding.yaml --out plan.json && kxplan apply plan.json
    """
    warm_up(*PLANNING, *APPLYING)
    _refuse_apply_flags(flags)
    conn = Connection(api_url, token_file, sandbox, log_level)
    gates = Gates(allow_shared, accept, lock_timeout)
    fleet = fleet_input(inputs)
    with conn.connecting_early():  # while the manifest loads (kxplan.client._early)
        if fleet is not None:  # a workspaces: manifest or a saved fleet plan: docs/fleet.md
            from kxplan.fleet.command import apply_command as fleet_apply

            warm_up("kxplan.fleet.report")  # what shows the plans: after the first request

            out = Output.of(flags, "apply")  # a fleet prints its own one document
            reporting(
                out, lambda: fleet_apply(fleet, flags, conn, gates, auto_approve, out, notify)
            )
            return
        out = Output.of(flags, "apply", document=flags.fmt == "json")
        reporting(
            out, lambda: _apply_manifests(inputs, flags, conn, gates, auto_approve, out, notify)
        )


def _refuse_apply_flags(flags: PlanFlags) -> None:
    if flags.detailed_exitcode:
        raise UsageError(
            "--detailed-exitcode is a plan option: apply exits 0 when it applied the changes "
            "(or had none to apply) and 1 on any error",
            hint="to learn whether changes are pending, run `kxplan plan --detailed-exitcode`",
        )


def _apply_manifests(
    inputs: Sequence[Path],
    flags: PlanFlags,
    conn: Connection,
    gates: Gates,
    auto_approve: bool,
    out: Output,
    notify: bool = False,
) -> int:
    """`kxplan apply MANIFEST... | PLANFILE`: the steps of `_Single`, in one client."""
    saved = _saved_plan(inputs)
    if saved is not None:
        refuse_plan_flags(inputs[0], flags)
    manifests = () if saved is not None else load_for_plan(inputs, flags)
    with conn.open() as client:
        run = _Single(client, flags, gates, auto_approve, conn, out, manifests, notify=notify)
        try:
            run.start(saved)
        finally:
            if out.events is not None:
                out.events.requests = client.requests
    return 0


@dataclass(slots=True)
class _Single:
    """One apply of manifests (or a saved plan), step by step: find the workspaces and peek
    at their locks, plan and review (show, gate, ask), hold the locks (planning again when
    another apply wrote meanwhile), apply, report, verify."""

    client: KantataClient
    flags: PlanFlags
    gates: Gates
    auto_approve: bool
    conn: Connection
    out: Output
    manifests: tuple[Manifest, ...]
    saved: tuple[Plan, int] | None = None  # a saved plan, and the requests its binding took
    notify: bool = False  # --notify: post what changed to the workspace (kxplan.notify)
    reads: LiveReads = field(default_factory=LiveReads)  # what each manifest was planned on

    def start(self, saved: dict[str, Any] | None) -> None:
        # The lookups for the locks and the first plans share one run's reads.
        shared = SharedReads(self.client, expect=[self._ref(m) for m in self.manifests])
        found, missing, workspaces = self._targets(shared, saved)
        timeout = self.gates.lock_timeout
        locks = peek_locks(self.client, workspaces, timeout)
        # The workspaces just looked up for the lock (found or not): not looked up again.
        plans = self._reviewed(found, missing, shared)
        if plans is None:
            return
        with hold_workspaces(locks, timeout, plans=plans) as changed:
            if changed:  # another apply ran since the plan was made: plan again
                self.out.say(REPLANNED)
                plans = self._reviewed({})  # another apply may have changed them: read afresh
                if plans is None:
                    return
            results = self._apply(plans, locks)
            self._verify(plans, results)

    def _ref(self, manifest: Manifest) -> str | int:
        return workspace_of(manifest, self.flags)

    @property
    def api(self) -> str:
        return self.conn.api

    def _targets(
        self, shared: SharedReads, saved: dict[str, Any] | None
    ) -> tuple[dict[str, LiveWorkspace], frozenset[str], list[LiveWorkspace]]:
        """The workspaces found (by reference), the references none has, and what to lock."""
        if saved is not None:
            self.saved = _bound_saved_plan(saved, self.api, self.client)
            plan = self.saved[0]
            # A plan that creates its workspace has none to lock yet.
            return {}, frozenset(), [_workspace_of_plan(plan)] if plan.workspace.get("id") else []
        found, missing = _existing_workspaces(shared, self.manifests, self.flags)
        return found, missing, list(found.values())

    def _planned(
        self, known: Mapping[str, LiveWorkspace], absent: frozenset[str], reads: SharedReads | None
    ) -> list[Plan]:
        if self.saved is not None:
            from kxplan.saved_plans import check_fresh

            plan, checks = self.saved
            self.out.say(fresh_note(checks + check_fresh(plan, self.client)))
            return [plan]
        return make_plans(
            self.manifests,
            self.client,
            self.flags,
            api=self.api,
            found=known,
            missing=absent,
            create_missing=self.conn.sandbox,
            shared=reads,
            planner=self.reads.planner,
        )

    def _reviewed(
        self,
        known: Mapping[str, LiveWorkspace],
        absent: frozenset[str] = frozenset(),
        reads: SharedReads | None = None,
    ) -> list[Plan] | None:
        """The plans, shown, gated and approved; None when there is nothing to do."""
        plans = self._planned(known, absent, reads)
        self._show(plans)
        if not any(p.has_changes for p in plans):
            return None
        try:
            gate(plans, self.gates)
            confirm(self.auto_approve, "Apply these changes?", self.out)
        except KxplanError as err:
            _skipped(plans, self.out, err, "refused")
            raise
        except click.exceptions.Abort:
            _skipped(plans, self.out, KxplanError("the plan was not approved"), "not_approved")
            raise
        return plans

    def _show(self, plans: Sequence[Plan]) -> None:
        """Print the plans as `plan` would (and save the first with --out)."""
        if self.out.events is not None:
            for one in plans:
                self.out.events.planned(one)
        show_plans(plans, self.out.shown, self.flags.max_chars, err=self.out.machine)
        if self.flags.out is not None:
            save_plan(plans[0], self.flags.out)

    def _apply(
        self, plans: Sequence[Plan], locks: Mapping[str, WorkspaceLock]
    ) -> list[ApplyResult]:
        guards = [guard_for(locks, p.workspace.get("id"), p.stack) for p in plans]
        results: list[ApplyResult] = []
        for index, (one, guard) in enumerate(zip(plans, guards, strict=True)):
            try:
                results.append(apply_changes(one, self.client, guard, self.out))
            except KxplanError as err:
                _skipped(plans[index + 1 :], self.out, err, "stopped")
                raise
        for r in results:
            note = created_note(r, self.conn.sandbox)
            if note:
                self.out.say(note)
        _summarise(results, self.out.say)
        manifests = self.manifests if self.saved is None else _saved_manifests(plans[0], self.flags)
        from kxplan.notify import notify_after

        notify_after(plans, results, self.client, self.notify, manifests, say=self.out.say)
        report_guards(guards, self.out.say)
        return results

    def _verify(self, plans: Sequence[Plan], results: Sequence[ApplyResult]) -> None:
        """The same plan must now have nothing left to do: planned against what the writes'
        answers showed, and what they did not show read again (`LiveReads.after_writes`);
        when that cannot be told from the writes, against the workspace read again.

        After `apply PLANFILE` that is checked against the manifest the plan was made from,
        and only when it still says what it said then (its digest is in the plan's binding)."""
        after = self._after_writes(results) if self.saved is None else None
        if after is None:
            after = self._read_again(plans)
            if after is None:
                return
        self._report_verification(after)

    def _after_writes(self, results: Sequence[ApplyResult]) -> list[Plan] | None:
        options = replace(self.flags, out=None).options()
        after = [
            self.reads.after_writes(self.client, m, r, options)
            for m, r in zip(self.manifests, results, strict=True)
        ]
        return None if any(p is None for p in after) else [p for p in after if p is not None]

    def _read_again(self, plans: Sequence[Plan]) -> list[Plan] | None:
        flags, manifests = self.flags, self.manifests
        if self.saved is not None:
            flags = _saved_flags(plans[0], flags)
            found = _manifests_of_saved(plans[0], flags)
            unverified = _unverified(plans[0], found)
            if unverified or found is None:
                self.out.say(unverified)
                return None
            manifests = found
        return make_plans(
            manifests, self.client, replace(flags, out=None), create_missing=self.conn.sandbox
        )

    def _report_verification(self, after: Sequence[Plan]) -> None:
        err = verification_error(after)
        if err is None:
            self.out.say(VERIFIED)
            return
        if duplicates_left(after) is None:  # changes pending: show them
            from kxplan.render import render_text

            for plan in (p for p in after if p.has_changes):
                click.echo(render_text(plan, use_colour()), err=True)
        raise err


def _skipped(plans: Sequence[Plan], out: Output, err: KxplanError, why: str) -> None:
    for one in plans:
        not_applied(one, out, err, why)


# --------------------------------------------------------------------------- inputs


def _saved_plan(inputs: Sequence[Path]) -> dict[str, Any] | None:
    """The parsed plan if the one input is a saved plan (JSON), else None.

    Only a regular file of at most 32 MiB is read (`kxplan.inputfile`). A plan saved by an
    older kxplan, without the binding to where it was made, is refused.
    """
    if len(inputs) != 1 or inputs[0].suffix.lower() in (".yaml", ".yml"):
        return None
    try:
        raw = read_input(inputs[0], "plan file")
    except InputFileError as err:
        raise UsageError(f"{inputs[0]}: {err.message}", hint=err.hint) from None
    try:
        text = decode_utf8(raw)
    except InputFileError:
        return None  # not a plan; the manifest loader reports where the bad byte is
    if not text.lstrip().startswith("{"):
        return None
    from kxplan.plan import FORMAT_VERSION

    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"{inputs[0]}:{err.lineno}:{err.colno}: not a valid plan file ({err.msg})",
            hint="make one with `kxplan plan MANIFEST --out PLANFILE`",
        ) from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        found = data.get("format_version") if isinstance(data, dict) else None
        raise UsageError(
            f"{inputs[0]}: plan format_version {found!r} is not {FORMAT_VERSION!r}",
            hint="make a new plan with this kxplan: `kxplan plan MANIFEST --out PLANFILE`",
        )
    if not isinstance(data.get("binding"), dict):
        raise UsageError(
            f"{inputs[0]}: this plan was saved by an older kxplan and does not record the API "
            "and workspace it was made against, so it cannot be checked",
            hint="re-run plan: `kxplan plan MANIFEST --out PLANFILE`, then apply that file",
        )
    return data


def _bound_saved_plan(data: dict[str, Any], api: str, client: KantataClient) -> tuple[Plan, int]:
    """The saved plan, if it was made here (StalePlanError otherwise): checked before the
    workspace is locked, so no lock is ever written to a workspace the plan is not for."""
    from kxplan.plan import Plan
    from kxplan.saved_plans import check_binding

    plan = Plan.from_json(data)
    return plan, check_binding(plan, api, client)


def _workspace_of_plan(plan: Plan) -> LiveWorkspace:
    return LiveWorkspace(str(plan.workspace.get("id")), str(plan.workspace.get("title") or ""))


def _existing_workspaces(
    shared: SharedReads, manifests: Sequence[Manifest], flags: PlanFlags
) -> tuple[dict[str, LiveWorkspace], frozenset[str]]:
    """The workspaces the manifests plan against, by the reference each gives, to lock and
    then plan them (found through the run's shared reads: several titles cost one index of
    workspaces), and the references no workspace has: those are left to planning, which
    creates them (`create: true`, `--sandbox`) or says how to."""
    refs = dict.fromkeys(str(workspace_of(m, flags)) for m in manifests)
    found = {ref: shared.workspace(ref) for ref in refs}
    existing = {ref: w for ref, w in found.items() if w is not None}
    return existing, frozenset(ref for ref, w in found.items() if w is None)


# --------------------------------------------------------------------------- output


def _summarise(results: Sequence[ApplyResult], say: Callable[[str], None]) -> None:
    counts = counts_of(results)
    requests = sum(r.requests for r in results)
    seconds = sum(r.seconds for r in results)
    adopted = f", {counts['adopt']} adopted" if counts["adopt"] else ""
    say(
        f"Apply complete: {counts['create']} added, {counts['update']} changed, "
        f"{counts['move']} moved, {counts['delete']} deleted{adopted} "
        f"in {requests} request{'s' if requests != 1 else ''} ({seconds:.1f} s)."
    )
    recovered = sum(r.recovered for r in results)
    if recovered:
        say(
            f"{recovered} create{'s' if recovered != 1 else ''} whose answer was lost "
            "were found already done (not repeated)."
        )


def _unverified(plan: Plan, found: tuple[Manifest, ...] | None) -> str:
    """Why a saved plan's apply cannot be verified ("" when it can): the manifest it was made
    from is gone, or no longer says what it said then (its digest is in the binding)."""
    if found is None:
        return "Not verified: the manifest the plan was made from is not here."
    from kxplan.saved_plans import manifest_digest

    if not found or manifest_digest(found[0]) != plan.binding.get("manifest_digest"):
        return (
            f"Not verified: {plan.manifest} changed since the plan was made, so it no "
            "longer describes what was applied. Run `kxplan plan "
            f"{plan.manifest}` to see what it would change now."
        )
    return ""


def _saved_manifests(plan: Plan, flags: PlanFlags) -> tuple[Manifest, ...]:
    """The manifest a saved plan was made from while it still says what it said then (its
    `notify: true` is honoured, docs/apply.md "Telling the team"); () otherwise."""
    found = _manifests_of_saved(plan, _saved_flags(plan, flags))
    return () if found is None or _unverified(plan, found) else found


def _manifests_of_saved(plan: Plan, flags: PlanFlags) -> tuple[Manifest, ...] | None:
    """The manifest the saved plan was made from, resolved with the plan's --var values:
    None when it is gone, () when it no longer loads (so it is not the same manifest)."""
    path = Path(plan.manifest) if plan.manifest else None
    if path is None or not path.is_file():
        return None
    try:
        return load_for_plan([path], flags)
    except ManifestError:
        return ()


def _saved_flags(plan: Plan, flags: PlanFlags) -> PlanFlags:
    """Plan flags as they were when the saved plan was made."""
    options = plan.options
    return replace(
        flags,
        workspace=str(plan.workspace.get("id") or flags.workspace or "") or None,
        vars=dict(options.get("vars") or {}),
        prune=bool(options.get("prune", flags.prune)),
        allow_mass_delete=bool(options.get("allow_mass_delete", flags.allow_mass_delete)),
        targets=tuple(options.get("targets", flags.targets)),
        adopt=bool(options.get("adopt", flags.adopt)),
        out=None,
    )
