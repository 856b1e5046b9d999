"""`kxplan plan MANIFEST...`: show what apply would change, without changing anything."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kxplan._deferred import warm_up
from kxplan.cli import cli, terminal
from kxplan.cli.flow import Output, reporting
from kxplan.cli.plan_options import (
    PlanFlags,
    duplicates_left,
    load_for_plan,
    make_plans,
    plan_options,
)
from kxplan.client import KantataClient
from kxplan.connection import Connection, connection_options
from kxplan.errors import PlanError, UsageError
from kxplan.fleet.detect import fleet_input
from kxplan.formats import DEFAULT_MAX_CHARS
from kxplan.model import Manifest

if TYPE_CHECKING:
    from kxplan.plan import Plan

#: What planning and showing a plan import and its first request does not need: imported
#: while that request is answered (kxplan._deferred), else where first used.
PLANNING = (
    "kxplan.plan",
    "kxplan.planner",
    "kxplan.live.posts",
    "kxplan.shared_sets",
    "kxplan.drift.notes",
    "kxplan.render",
)

#: Exit code of `plan --detailed-exitcode` when there are changes.
EXIT_CHANGES = 2


def use_colour() -> bool:
    """Colour as --color, NO_COLOR, FORCE_COLOR and the terminal decide (kxplan.cli.terminal)."""
    return terminal.use_colour()


@cli.command("plan")
@click.argument("manifests", nargs=-1, required=True, metavar="MANIFEST...")
@plan_options
@connection_options
def plan(
    manifests: tuple[str, ...],
    flags: PlanFlags,
    api_url: str,
    token_file: Path | None,
    sandbox: bool,
    log_level: str,
) -> None:
    """Show the changes that would make the workspace match the manifests.

    One plan per manifest, in order. Nothing is changed in Kantata. Exit codes: 0 no
    changes (or changes without --detailed-exitcode), 2 changes with --detailed-exitcode,
    1 errors. Invalid manifests fail before any network call.

    \b
    Examples:
      kxplan plan onboarding.yaml --sandbox
      kxplan plan onboarding.yaml --format markdown > plan.md
      kxplan plan onboarding.yaml --out plan.json && kxplan apply plan.json
    """
    warm_up(*PLANNING)
    out = Output.of(flags, "plan")
    conn = Connection(api_url, token_file, sandbox, log_level)
    fleet = fleet_input(manifests)
    with conn.connecting_early():  # while the manifest loads (kxplan.client._early)
        if fleet is not None:  # a workspaces: manifest or a saved fleet plan: docs/fleet.md
            from kxplan.fleet.command import plan_command

            warm_up("kxplan.fleet.report")  # what shows the plans: after the first request

            code = reporting(out, lambda: plan_command(fleet, flags, conn, out))
        else:
            code = reporting(out, lambda: _plan(manifests, flags, conn, out))
    if code:
        click.get_current_context().exit(code)


def _plan(manifests: Sequence[str], flags: PlanFlags, conn: Connection, out: Output) -> int:
    """Load, plan, show (and save); the exit code (0, or 2 with --detailed-exitcode)."""
    loaded = load_for_plan(manifests, flags)
    api = conn.api
    with conn.open() as client:
        plans = (
            _sandbox_plans(loaded, client, flags, api)
            if conn.sandbox
            else make_plans(loaded, client, flags, api=api)
        )
        if out.events is not None:
            out.events.requests = client.requests
    _show(plans, flags, out)
    left = duplicates_left(plans)
    if left is not None:
        summary, hint = left
        raise PlanError(f"duplicates in the workspace: {summary}", hint=hint)
    if flags.detailed_exitcode and any(p.has_changes for p in plans):
        return EXIT_CHANGES
    return 0


def _show(plans: Sequence[Plan], flags: PlanFlags, out: Output) -> None:
    """The plans on stdout (with --json: as events, and shown on stderr); saved with --out."""
    if out.events is not None:
        for one in plans:
            out.events.planned(one)
    show_plans(plans, flags.fmt, flags.max_chars, err=out.events is not None)
    if flags.out is not None:
        save_plan(plans[0], flags.out)
        click.echo(f"\nSaved the plan to {flags.out}.", err=True)
        terminal.tip(f"Apply exactly this plan with: kxplan apply {flags.out}")


def _sandbox_plans(
    manifests: Sequence[Manifest], client: KantataClient, flags: PlanFlags, api: str
) -> list[Plan]:
    """Like make_plans, but a workspace the sandbox does not have yet may be created (as
    with `create: true`): planned as an empty one, so a first `plan --sandbox` shows the
    workspace's create and the whole tree."""
    plans = make_plans(manifests, client, flags, api=api, create_missing=True)
    for one in plans:
        if one.workspace.get("id") is None:
            click.echo(
                f'Workspace "{one.workspace.get("title")}" is not in the sandbox yet: planned as '
                "an empty workspace (kxplan apply --sandbox creates it).",
                err=True,
            )
    return plans


def show_plans(
    plans: Sequence[Plan], fmt: str, max_chars: int = DEFAULT_MAX_CHARS, *, err: bool = False
) -> None:
    """Print the plans in `fmt` (on stderr with `err`), one after the other with a blank
    line between; in JSON several plans are ONE document, `{"format_version", "plans"}`
    (one plan is its own document); in Markdown `max_chars` is for all of them, shared
    evenly."""
    from kxplan.render import render

    if fmt == "json" and len(plans) > 1:
        click.echo(render_plans_json(plans), nl=False, err=err)
        return
    colour = use_colour() and not err
    share = (max_chars - len(plans) + 1) // max(len(plans), 1)
    for index, one in enumerate(plans):
        if index:
            click.echo("", err=err)
        click.echo(render(one, fmt, color=colour, max_chars=share), nl=False, err=err)


def render_plans_json(plans: Sequence[Plan]) -> str:
    """Several plans as one JSON document (docs/plan.md, "Machine output")."""
    from kxplan.plan import FORMAT_VERSION

    doc = {"format_version": FORMAT_VERSION, "plans": [p.to_json() for p in plans]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def save_plan(one: Plan, path: Path) -> None:
    """Write `one` as a saved plan (JSON) for `kxplan apply PLANFILE`."""
    from kxplan.render import render_json

    write_plan_file(render_json(one), path)


def write_plan_file(text: str, path: Path) -> None:
    """Write a saved plan's JSON `text` to `path`; a UsageError that says why it cannot."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(
            f"cannot write the plan to {str(path)!r}: {err.strerror}",
            hint="check that the directory exists and is writable",
        ) from None
