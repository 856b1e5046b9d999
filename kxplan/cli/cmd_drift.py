"""`kxplan drift MANIFEST...`: does Kantata still match the manifests, and who changed what.

Read-only: the same reads as `plan` (no write, no lock), plus one `GET /story_state_changes`
per task whose status drifted. Exit 0 when Kantata matches, 2 when it does not, 1 on error
(docs/drift.md).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from kxplan.cli import cli
from kxplan.cli.cmd_validate import parse_vars
from kxplan.cli.plan_options import PlanFlags, format_option, load_for_plan
from kxplan.connection import connection_options, open_client
from kxplan.drift import DriftReport, WorkspaceDrift, drift_of, render_drift
from kxplan.errors import KxplanError, PlanError
from kxplan.fleet.detect import fleet_input
from kxplan.plan import PlanWorkspace

#: Exit code when Kantata does not match the manifests.
EXIT_DRIFT = 2


@cli.command("drift")
@click.argument("manifests", nargs=-1, required=True, metavar="MANIFEST...")
@click.option(
    "--workspace", metavar="ID|TITLE", help="Workspace to compare (overrides workspace:)."
)
@click.option(
    "--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="Override a variable."
)
@format_option
@connection_options
def drift(
    manifests: tuple[str, ...],
    workspace: str | None,
    var_pairs: tuple[str, ...],
    fmt: str,
    api_url: str,
    token_file: Path | None,
    sandbox: bool,
    log_level: str,
) -> None:
    """Say where Kantata no longer matches the manifests, and where each difference comes
    from: changed in Kantata since kxplan wrote it, or changed in the manifest. Changes
    nothing. For a drifted status, says who changed it and when.

    Exit codes: 0 Kantata matches, 2 it does not, 1 errors.

    \b
    Examples:
      kxplan drift onboarding.yaml --sandbox
      kxplan drift onboarding.yaml --format markdown > drift.md
      kxplan drift fleet.yaml --format json
    """
    flags = PlanFlags(workspace=workspace, vars=parse_vars(var_pairs), fmt=fmt)
    fleet = fleet_input(manifests)
    if fleet is not None:
        report = _fleet(fleet, flags, api_url, token_file, sandbox, log_level)
    else:
        loaded = load_for_plan(manifests, flags)
        with open_client(api_url, token_file, sandbox, log_level) as client:
            report = DriftReport(tuple(drift_of(loaded, client, flags)))
    click.echo(render_drift(report, fmt), nl=False)
    if report.failed:
        names = ", ".join(repr(w.workspace.get("title") or w.entry) for w in report.failed)
        raise PlanError(
            f"{len(report.failed)} of {len(report.workspaces)} workspaces could not be "
            f"compared: {names}",
            hint="each one's error is in its section above; fix it and run again",
        )
    if report.drifted:
        click.get_current_context().exit(EXIT_DRIFT)


def _fleet(
    path: Path,
    flags: PlanFlags,
    api_url: str,
    token_file: Path | None,
    sandbox: bool,
    log_level: str,
) -> DriftReport:
    """Every workspace of a fleet compared, each isolated: one that fails is its section's
    error, the others go on."""
    from kxplan.fleet.command import targets_for
    from kxplan.fleet.reads import FleetReads
    from kxplan.fleet.runner import Target
    from kxplan.manifest import load_fleet

    fleet = load_fleet(path, flags.vars)
    with open_client(api_url, token_file, sandbox, log_level) as client:
        reads = FleetReads(client)
        targets = targets_for(fleet, flags, reads)

        def one(target: Target) -> WorkspaceDrift:
            assert target.manifest is not None
            mine = replace(flags, workspace=str(target.ref))
            try:
                (found,) = drift_of([target.manifest], client, mine, shared=reads.shared)
            except KxplanError as err:
                ws: PlanWorkspace = {"id": None, "title": str(target.ref)}
                return WorkspaceDrift(
                    fleet.name, fleet.path, ws, error=err.message, entry=str(target.ref)
                )
            return replace(found, entry=str(target.ref))

        drifts = tuple(reads.each(one, targets))
    return DriftReport(drifts, fleet=fleet.name)
