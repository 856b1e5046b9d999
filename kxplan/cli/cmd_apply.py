"""`kxplan apply (MANIFEST... | PLANFILE)`: show the plan, ask, apply it, verify the result."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from kxplan.apply import ApplyResult, CreateGuard, apply_plan
from kxplan.cli import cli, terminal
from kxplan.cli.cmd_plan import save_plan, show_plans, use_colour
from kxplan.cli.locking import (
    guard_for,
    hold_workspaces,
    lock_timeout_option,
    peek_locks,
    report_guards,
)
from kxplan.cli.plan_options import (
    PlanFlags,
    api_of,
    duplicates_left,
    load_for_plan,
    make_plans,
    plan_options,
    refuse_plan_flags,
    workspace_of,
)
from kxplan.cli.rename_gate import AcceptNew, accept_new_options, gate_suspected_renames
from kxplan.client import KantataClient
from kxplan.connection import SANDBOX_DATA, connection_options, open_client
from kxplan.errors import ApplyError, ManifestError, UnsafePlanError, UsageError
from kxplan.fleet.detect import fleet_input
from kxplan.inputfile import InputFileError, decode_utf8, read_input
from kxplan.live import SharedReads
from kxplan.model import LiveWorkspace, Manifest
from kxplan.plan import FORMAT_VERSION, Plan
from kxplan.render import render_text
from kxplan.saved_plans import check_binding, check_fresh, manifest_digest

#: Applies with at least this many changes get a progress bar (on a terminal).
PROGRESS_THRESHOLD = 20


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
@lock_timeout_option
@accept_new_options
@plan_options
@connection_options
def apply_command(
    inputs: tuple[Path, ...],
    auto_approve: bool,
    allow_shared: bool,
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
    After applying, the workspace is read again to verify it matches the manifest.
    Exit codes: 0 applied (or nothing to do), 1 errors.

    \b
    Examples:
      kxplan apply --sandbox --auto-approve examples/first.yaml
      kxplan apply onboarding.yaml --var kickoff=2027-01-04
      kxplan plan onboarding.yaml --out plan.json && kxplan apply plan.json
    """
    if flags.detailed_exitcode:
        raise UsageError(
            "--detailed-exitcode is a plan option: apply exits 0 when it applied the changes "
            "(or had none to apply) and 1 on any error",
            hint="to learn whether changes are pending, run `kxplan plan --detailed-exitcode`",
        )
    fleet = fleet_input(inputs)
    if fleet is not None:  # a workspaces: manifest or a saved fleet plan: docs/fleet.md
        from kxplan.fleet.command import Connection
        from kxplan.fleet.command import apply_command as fleet_apply
        from kxplan.fleet.runner import Gates

        conn = Connection(api_url, token_file, sandbox, log_level)
        gates = Gates(allow_shared, accept, lock_timeout)
        fleet_apply(fleet, flags, conn, gates, auto_approve)
        return
    saved = _saved_plan(inputs)
    if saved is not None:
        refuse_plan_flags(inputs[0], flags)
    manifests = () if saved is not None else load_for_plan(inputs, flags)
    api = api_of(api_url, sandbox)
    with open_client(api_url, token_file, sandbox, log_level) as client:
        # The lookups for the locks and the first plans share one run's reads.
        shared = SharedReads(client, expect=[workspace_of(m, flags) for m in manifests])
        if saved is not None:
            bound, checks = _bound_saved_plan(saved, api, client)
            found: dict[str, LiveWorkspace] = {}
            missing: frozenset[str] = frozenset()
            # A plan that creates its workspace has none to lock yet.
            workspaces = [_workspace_of_plan(bound)] if bound.workspace.get("id") else []
        else:
            found, missing = _existing_workspaces(shared, manifests, flags)
            workspaces = list(found.values())
        locks = peek_locks(client, workspaces, lock_timeout)

        def planned(
            known: Mapping[str, LiveWorkspace], absent: frozenset[str], reads: SharedReads | None
        ) -> list[Plan]:
            if saved is not None:
                return [_fresh_saved_plan(bound, checks, client)]
            return make_plans(
                manifests,
                client,
                flags,
                api=api,
                found=known,
                missing=absent,
                create_missing=sandbox,
                shared=reads,
            )

        def reviewed(
            known: Mapping[str, LiveWorkspace],
            absent: frozenset[str] = frozenset(),
            reads: SharedReads | None = None,
        ) -> list[Plan] | None:
            """The plans, shown, gated and approved; None when there is nothing to do."""
            plans = planned(known, absent, reads)
            _show(plans, flags)
            if not any(p.has_changes for p in plans):
                return None
            _gate_shared_sets(plans, allow_shared)
            gate_suspected_renames(plans, accept)
            confirm(auto_approve)
            return plans

        # The workspaces just looked up for the lock (found or not): not looked up again.
        plans = reviewed(found, missing, shared)
        if plans is None:
            return
        with hold_workspaces(locks, lock_timeout) as changed:
            if changed:  # another apply ran since the plan was made: plan again
                click.echo(
                    "Another apply wrote to the workspace since it was planned; planning again."
                )
                plans = reviewed({})  # another apply may have changed them: read afresh
                if plans is None:
                    return
            guards = [guard_for(locks, p.workspace.get("id")) for p in plans]
            results = [_apply_one(p, client, g) for p, g in zip(plans, guards, strict=True)]
            _say_created(results, sandbox)
            _summarise(results)
            report_guards(guards)
            _verify(plans, saved is not None, manifests, client, flags, create_missing=sandbox)


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
    plan = Plan.from_json(data)
    return plan, check_binding(plan, api, client)


def _fresh_saved_plan(plan: Plan, checks: int, client: KantataClient) -> Plan:
    """The saved plan, if it still describes the workspace (StalePlanError otherwise);
    checked under the lock, before any write of the plan."""
    requests = checks + check_fresh(plan, client)
    plural = "s" if requests != 1 else ""
    click.echo(f"The saved plan is still current (checked in {requests} request{plural}).")
    return plan


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


def _show(plans: Sequence[Plan], flags: PlanFlags) -> None:
    """Print the plans as `plan` would (and save the first with --out)."""
    show_plans(plans, flags.fmt)
    if flags.out is not None:
        save_plan(plans[0], flags.out)


def _gate_shared_sets(plans: Sequence[Plan], allowed: bool) -> None:
    """UnsafePlanError, before any write, when a plan changes a status set other
    workspaces use and --allow-shared-set-change was not given (docs/apply.md)."""
    shared = [s for p in plans for s in p.shared_sets]
    if shared and not allowed:
        raise UnsafePlanError(
            "; ".join(s.warning() for s in shared),
            hint="status sets are account-wide: agree the change with the other workspaces "
            "and re-run with --allow-shared-set-change, or give this manifest a status set "
            "of its own (another status_set name)",
        )


def confirm(auto_approve: bool, question: str = "Apply these changes?") -> None:
    """Ask `question` unless --auto-approve; in CI or with no terminal to ask on, refuse."""
    terminal.approve(auto_approve, question)


def _apply_one(plan: Plan, client: KantataClient, guard: CreateGuard) -> ApplyResult:
    total = len(plan.actionable)
    with _progress(total) as advance:
        return apply_plan(plan, client, progress=advance, guard=guard)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal (not CI) and the apply is long enough."""
    if total < PROGRESS_THRESHOLD or not terminal.show_progress(sys.stderr):
        yield None
        return
    with click.progressbar(length=total, label="Applying", file=sys.stderr) as bar:
        yield bar.update


def _say_created(results: Sequence[ApplyResult], sandbox: bool) -> None:
    """`Created workspace "Acme — Onboarding" (id 41001).` for each workspace an apply
    created (with --sandbox: where the sandbox keeps it)."""
    for r in results:
        if r.created_workspace is None:
            continue
        wid, title = r.created_workspace
        where = f" in the sandbox ({SANDBOX_DATA})" if sandbox else ""
        click.echo(f'Created workspace "{title}"{where}: id {wid}.')


def _summarise(results: Sequence[ApplyResult]) -> None:
    counts = {"create": 0, "update": 0, "move": 0, "delete": 0, "adopt": 0}
    for r in results:
        for name, n in r.summary().items():
            counts[name] = counts.get(name, 0) + n
    requests = sum(r.requests for r in results)
    seconds = sum(r.seconds for r in results)
    adopted = f", {counts['adopt']} adopted" if counts["adopt"] else ""
    click.echo(
        f"Apply complete: {counts['create']} added, {counts['update']} changed, "
        f"{counts['move']} moved, {counts['delete']} deleted{adopted} "
        f"in {requests} request{'s' if requests != 1 else ''} ({seconds:.1f} s)."
    )
    recovered = sum(r.recovered for r in results)
    if recovered:
        click.echo(
            f"{recovered} create{'s' if recovered != 1 else ''} whose answer was lost "
            "were found already done (not repeated)."
        )


def _verify(
    plans: Sequence[Plan],
    saved: bool,
    manifests: Sequence[Manifest],
    client: KantataClient,
    flags: PlanFlags,
    *,
    create_missing: bool = False,
) -> None:
    """Read the workspace again: the same plan must now have nothing left to do.

    After `apply PLANFILE` that is checked against the manifest the plan was made from,
    and only when it still says what it said then (its digest is in the plan's binding)."""
    if saved:
        flags = _saved_flags(plans[0], flags)
        found = _manifests_of_saved(plans[0], flags)
        if found is None:
            click.echo("Not verified: the manifest the plan was made from is not here.")
            return
        if not found or manifest_digest(found[0]) != plans[0].binding.get("manifest_digest"):
            click.echo(
                f"Not verified: {plans[0].manifest} changed since the plan was made, so it no "
                "longer describes what was applied. Run `kxplan plan "
                f"{plans[0].manifest}` to see what it would change now."
            )
            return
        manifests = found
    after = make_plans(manifests, client, replace(flags, out=None), create_missing=create_missing)
    left = duplicates_left(after)
    if left is not None:
        summary, hint = left
        raise ApplyError(
            f"verification found duplicates after apply: {summary}",
            hint="made by something else than this apply (an older kxplan, a task copied in "
            f"Kantata) or a create committed after its answer was lost: {hint}",
        )
    pending = [p for p in after if p.has_changes]
    if not pending:
        click.echo("Verified: the workspace matches the manifest.")
        return
    for plan in pending:
        click.echo(render_text(plan, use_colour()), err=True)
    n = sum(len(p.actionable) for p in pending)
    raise ApplyError(
        f"verification found {n} change{'s' if n != 1 else ''} still pending after apply",
        hint="someone may be editing the workspace; run `kxplan plan` to review, then apply",
    )


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
