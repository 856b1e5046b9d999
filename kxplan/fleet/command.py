"""`kxplan plan|apply` of a fleet: a `workspaces:` manifest, or a saved fleet plan.

`cmd_plan` and `cmd_apply` hand over to `plan_command` / `apply_command` when
`fleet_input` says the input is a fleet; everything else (loading, picking the entry of
`--workspace`, the marker look-up, showing, saving, asking once, exit codes) is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from kxplan.cli.flow import Gates, Output, confirm
from kxplan.cli.plan_options import PlanFlags, refuse_plan_flags
from kxplan.cli.terminal import tip
from kxplan.connection import Connection
from kxplan.errors import ApplyError, KxplanError, ManifestError, PlanError, UsageError
from kxplan.fleet.detect import FLEET_FORMAT, peek
from kxplan.fleet.reads import FleetReads
from kxplan.fleet.runner import (
    FAILED,
    NO_CHANGES,
    FleetRun,
    Outcome,
    Target,
    apply_fleet,
    failed,
    gate_one,
    plan_fleet,
)
from kxplan.manifest import load_fleet
from kxplan.model import Fleet, Manifest

#: Exit code of `plan --detailed-exitcode` when there are changes.
EXIT_CHANGES = 2


# --------------------------------------------------------------------------- inputs


def _load(path: Path, flags: PlanFlags) -> Fleet:
    """The fleet, checked before any request (the picked entry too, when it can be)."""
    fleet = load_fleet(path, flags.vars)
    if flags.workspace is not None and not fleet.marked:
        _pick(fleet, flags.workspace, None)
    return fleet


def _pick(fleet: Fleet, pick: str, reads: FleetReads | None) -> list[Any]:
    """The entry `--workspace pick` names (by the id or title it gives; for a fleet by
    marker, by id or by the title the workspace has). UsageError naming the entries."""
    for member in fleet.members:
        desired = member.manifest.desired_workspace
        names = {str(member.workspace)}
        if desired is not None:
            names |= {str(desired.title or ""), str(desired.id or "")}
        if pick.strip() in names:
            return [member]
    if fleet.marked and reads is not None:
        found = reads.find_workspace(pick)
        for member in fleet.members:
            if found is not None and str(member.workspace) == found.id:
                return [member]
    listed = ", ".join(repr(str(m.workspace)) for m in fleet.members) or "none"
    kind = "marked workspaces" if fleet.marked else "entries"
    raise UsageError(
        f"--workspace {pick!r} is not a workspace of the fleet {fleet.path}; its {kind}: {listed}",
        hint="give --workspace one of those (the id or title as the fleet lists it), or "
        "leave it out to run every workspace",
    )


# --------------------------------------------------------------------------- plan


def plan_command(path: Path, flags: PlanFlags, conn: Connection, out: Output) -> int:
    """`kxplan plan FLEET`: every workspace planned; the exit code (0, 1 or 2)."""
    fleet = _load(path, flags)
    api = conn.api
    with conn.open() as client:
        reads = FleetReads(client)
        run = FleetRun(client, reads, replace(flags, workspace=None), api, conn.sandbox, out=out)
        targets = _targets_for(fleet, flags, reads)
        outcomes = plan_fleet(run, targets)
        _planned_events(out, outcomes)
        if out.events is not None:
            out.events.requests = client.requests
    document = _document(fleet, outcomes, api if flags.out is not None else None, flags)
    _show(outcomes, flags, fleet, document, applied=False, err=out.events is not None)
    if flags.out is not None:
        _save(document, flags.out)
        click.echo(f"\nSaved the fleet's plans to {flags.out}.", err=True)
        tip(f"Apply exactly these plans with: kxplan apply {flags.out}")
    _raise_if_failed(outcomes, PlanError, "planned")
    if flags.detailed_exitcode and any(o.status != NO_CHANGES for o in outcomes):
        return EXIT_CHANGES
    return 0


def targets_for(fleet: Fleet, flags: PlanFlags, reads: FleetReads) -> list[Target]:
    """The workspaces of `fleet` to run (its marked ones looked up; `--workspace` picks one)."""
    return _targets_for(fleet, flags, reads)


def _targets_for(fleet: Fleet, flags: PlanFlags, reads: FleetReads) -> list[Target]:
    if fleet.marked:
        ids = reads.marked_workspaces(fleet.name)
        for ws in reads.archived_marked:
            click.echo(f"Skipping workspace {ws.title!r} ({ws.id}): archived in Kantata.", err=True)
        fleet = load_fleet(fleet.path, flags.vars, marked_ids=ids)
        if not fleet.members:
            click.echo(
                f"No workspace carries the workspace marker of stack {fleet.name!r} yet "
                "(service_name kxplan, service_model the stack, service_model_ref workspace).",
                err=True,
            )
    members = _pick(fleet, flags.workspace, reads) if flags.workspace else list(fleet.members)
    reads.expect(m.workspace for m in members)  # several titles: one listing for all
    return [Target(m.workspace, m.manifest) for m in members]


# --------------------------------------------------------------------------- apply


def apply_command(
    path: Path,
    flags: PlanFlags,
    conn: Connection,
    gates: Gates,
    auto_approve: bool,
    out: Output,
    notify: bool = False,
) -> int:
    """`kxplan apply FLEET | FLEETPLAN`: plan (or take the saved plans), show them, ask
    once, apply every workspace with changes, verify each; the exit code (0 or 1)."""
    saved = _saved(path)
    if saved is not None:
        refuse_plan_flags(path, flags)
    fleet = None if saved is not None else _load(path, flags)
    api = conn.api
    with conn.open() as client:
        reads = FleetReads(client)
        run_flags = replace(flags, workspace=None, out=None)
        run = FleetRun(
            client, reads, run_flags, api, conn.sandbox, create_missing=conn.sandbox, out=out,
            notify=notify,
        )  # fmt: skip
        if saved is not None:
            outcomes = _saved_outcomes(saved, run)
        else:
            assert fleet is not None
            outcomes = plan_fleet(run, _targets_for(fleet, flags, reads))
        from kxplan.fleet.report import fleet_document, render_fleet, render_fleet_json

        _planned_events(out, outcomes)
        outcomes = [gate_one(run, o, gates) for o in outcomes]
        stack, manifest = _names(fleet, saved, path)
        todo = sum(1 for o in outcomes if o.status not in (NO_CHANGES, FAILED))
        # The one aggregate table comes after the apply; with nothing to apply, here.
        title = _title(stack, False)
        review = render_fleet(
            outcomes, out.shown, title, applied=False, table=not todo, **_md(stack, flags)
        )
        click.echo(review, err=out.machine)
        if flags.out is not None:
            _save(_document(fleet, outcomes, api, flags), flags.out)
        if todo:
            _confirm(auto_approve, todo, out)
            outcomes = apply_fleet(run, outcomes, gates, saved=saved is not None)
            if flags.fmt != "json":
                done = render_fleet(
                    outcomes, flags.fmt, _title(stack, True), applied=True, **_md(stack, flags)
                )
                click.echo(done, err=out.machine)
        if out.events is not None:
            out.events.requests = client.requests
    if flags.fmt == "json":
        doc = fleet_document(outcomes, manifest=manifest, stack=stack, marked=_marked(fleet, saved))
        click.echo(render_fleet_json(doc), nl=False)
    _raise_if_failed(outcomes, ApplyError, "applied")
    return 0


def _names(fleet: Fleet | None, saved: dict[str, Any] | None, path: Path) -> tuple[str, str]:
    if fleet is not None:
        return fleet.name, fleet.path
    about = (saved or {}).get("fleet") or {}
    return str(about.get("stack") or ""), str(about.get("manifest") or path)


def _marked(fleet: Fleet | None, saved: dict[str, Any] | None) -> bool:
    if fleet is not None:
        return fleet.marked
    return bool(((saved or {}).get("fleet") or {}).get("marked"))


def _confirm(auto_approve: bool, n: int, out: Output) -> None:
    confirm(auto_approve, f"Apply these changes to {n} workspace{'' if n == 1 else 's'}?", out)


def _planned_events(out: Output, outcomes: Sequence[Outcome]) -> None:
    """With --json: each workspace's plan as events, in fleet order (a workspace that could
    not be planned: its error, naming it)."""
    if out.events is None:
        return
    for o in outcomes:
        if o.plan is not None:
            out.events.planned(o.plan)
        elif o.failed:
            out.events.diagnostic(
                "error", o.reason, workspace=o.workspace, err=KxplanError(o.reason)
            )


# --------------------------------------------------------------------------- saved plans


def _saved(path: Path) -> dict[str, Any] | None:
    data = peek(path)
    if isinstance(data, dict) and data.get("fleet_format") == FLEET_FORMAT:
        if not isinstance(data.get("workspaces"), list) or not isinstance(data.get("fleet"), dict):
            raise UsageError(
                f"{path}: not a valid saved fleet plan (no fleet or workspaces)",
                hint="make one with `kxplan plan FLEET.yaml --out PLANFILE`",
            )
        return data
    return None


def _saved_outcomes(data: dict[str, Any], run: FleetRun) -> list[Outcome]:
    """One outcome per saved workspace: its plan if it was made here (each checked on its
    own: a plan bound elsewhere fails alone), the failure it was saved with otherwise.
    Each plan's manifest is the fleet entry whose resolved manifest has the digest the
    plan was bound with (None: applied unverified)."""
    from kxplan.plan import Plan
    from kxplan.render import render_text
    from kxplan.saved_plans import check_binding

    about = data["fleet"]
    manifests = _saved_manifests(str(about.get("manifest") or ""), dict(about.get("vars") or {}))
    outcomes = []
    for entry in data["workspaces"]:
        ref = entry.get("entry") or (entry.get("workspace") or {}).get("title") or ""
        raw = entry.get("plan")
        if raw is None:
            err = KxplanError(f"not planned: {entry.get('reason') or 'no plan was saved'}")
            outcomes.append(failed(Target(ref, None), err, workspace=entry.get("workspace")))
            continue
        try:
            plan = Plan.from_json(raw)
            target = Target(ref, manifests.get(str(plan.binding.get("manifest_digest"))))
            check_binding(plan, run.api, run.client)
        except KxplanError as err:
            outcomes.append(failed(Target(ref, None), err, workspace=raw.get("workspace")))
            continue
        except (KeyError, TypeError, ValueError) as err:
            bad = KxplanError(f"the saved plan of this workspace is not readable ({err})")
            outcomes.append(failed(Target(ref, None), bad, workspace=raw.get("workspace")))
            continue
        status = "ok" if plan.has_changes else NO_CHANGES
        outcomes.append(Outcome(target, status, plan.workspace, plan=plan, text=render_text(plan)))
    return outcomes


def _saved_manifests(path: str, overrides: dict[str, str]) -> dict[str, Manifest]:
    """Digest -> manifest of every entry of the fleet the plans were made from, resolved
    with the --var values they were made with; {} when it is gone or no longer loads."""
    from kxplan.saved_plans import manifest_digest

    if not path or not Path(path).is_file():
        return {}
    try:
        fleet = load_fleet(path, overrides)
    except ManifestError:
        return {}
    return {manifest_digest(m.manifest): m.manifest for m in fleet.members}


# --------------------------------------------------------------------------- output


def _title(stack: str, applied: bool) -> str:
    return f"Fleet {stack!r}: " + ("applied" if applied else "plan")


def _document(
    fleet: Fleet | None, outcomes: Sequence[Outcome], api: str | None, flags: PlanFlags
) -> dict[str, Any]:
    from kxplan.fleet.report import fleet_document

    assert fleet is not None
    return fleet_document(
        outcomes,
        manifest=fleet.path,
        stack=fleet.name,
        marked=fleet.marked,
        api=api,
        vars=dict(flags.vars),
    )


def _show(
    outcomes: Sequence[Outcome],
    flags: PlanFlags,
    fleet: Fleet,
    document: dict[str, Any],
    *,
    applied: bool,
    err: bool = False,
) -> None:
    from kxplan.fleet.report import render_fleet, render_fleet_json

    fmt = flags.fmt
    if fmt == "json":
        click.echo(render_fleet_json(document), nl=False, err=err)
        return
    text = render_fleet(
        outcomes, fmt, _title(fleet.name, applied), applied=applied, **_md(fleet.name, flags)
    )
    click.echo(text, nl=False, err=err)


def _md(stack: str, flags: PlanFlags) -> dict[str, Any]:
    """What a fleet's Markdown needs: the stack (for its marker) and --max-chars."""
    return {"stack": stack, "max_chars": flags.max_chars}


def _save(document: dict[str, Any], path: Path) -> None:
    from kxplan.cli.cmd_plan import write_plan_file
    from kxplan.fleet.report import render_fleet_json

    write_plan_file(render_fleet_json(document), path)


def _raise_if_failed(outcomes: Sequence[Outcome], error: type[KxplanError], verb: str) -> None:
    bad = [o for o in outcomes if o.status == FAILED]
    if not bad:
        return
    names = ", ".join(repr(o.workspace.get("title") or str(o.target.ref)) for o in bad)
    raise error(
        f"{len(bad)} of {len(outcomes)} workspaces of the fleet failed: {names}; the others "
        f"were {verb}",
        hint="each failure is reported in its workspace's section above; fix it and run "
        "again (workspaces with nothing left to do show no changes)",
    )
