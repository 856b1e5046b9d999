"""`kxplan show PLANFILE`: print a saved plan (single or fleet) without any request.

The output is byte for byte what `kxplan plan ... --out PLANFILE` printed on stdout in the
same format (docs/plan.md, "Showing a saved plan"); `--format gitlab` prints the counts
GitLab's Terraform merge-request widget reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kxplan.changes.base import Action, Kind
from kxplan.cli import cli
from kxplan.cli.terminal import color_option
from kxplan.errors import UsageError
from kxplan.inputfile import InputFileError, decode_utf8, read_input
from kxplan.plan import FORMAT_VERSION, Plan
from kxplan.render import DEFAULT_MAX_CHARS, FORMATS, MIN_MAX_CHARS, render
from kxplan.saved_plans import MAKE_ONE, read_saved_plan

#: Values of `show --format`: the plan formats, and GitLab's report.
SHOW_FORMATS: tuple[str, ...] = (*FORMATS, "gitlab")


@cli.command("show")
@click.argument("planfile", metavar="PLANFILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SHOW_FORMATS),
    default="text",
    show_default=True,
    help="text, json or markdown as `plan` prints them; gitlab: "
    '{"create": N, "update": N, "delete": N} for GitLab\'s Terraform MR widget.',
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=MIN_MAX_CHARS),
    default=DEFAULT_MAX_CHARS,
    show_default=True,
    metavar="N",
    help="Longest the Markdown may be (as for plan).",
)
@color_option
def show(planfile: Path, fmt: str, max_chars: int) -> None:
    """Print the saved plan PLANFILE (from `kxplan plan --out`), offline.

    \b
    No request is made and no token is needed: the output is what `plan` printed when
    it saved the plan, in the same format. It does not check that the plan is still
    current (`kxplan apply PLANFILE` does). Works for saved fleet plans too.

    \b
    Examples:
      kxplan show plan.json
      kxplan show plan.json --format markdown > comment.md
      kxplan show plan.json --format gitlab > tfplan.json
    """
    data = read_plan_file(planfile)
    if data.get("fleet_format") is not None:
        click.echo(_show_fleet(planfile, data, fmt, max_chars), nl=False)
        return
    plan = read_saved_plan(planfile, data)
    if fmt == "gitlab":
        click.echo(_gitlab(gitlab_counts(plan)), nl=False)
        return
    from kxplan.cli.terminal import use_colour

    click.echo(render(plan, fmt, color=use_colour(), max_chars=max_chars), nl=False)


# --------------------------------------------------------------------------- reading


def read_plan_file(path: Path) -> dict[str, Any]:
    """The saved plan's JSON object; a UsageError saying what is wrong with the file (not
    there, not JSON, not a plan, made by another version of kxplan)."""
    try:
        text = decode_utf8(read_input(path, "plan file"))
    except InputFileError as err:
        raise UsageError(f"{path}: {err.message}", hint=err.hint or MAKE_ONE) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"{path}:{err.lineno}:{err.colno}: not a saved plan ({err.msg})", hint=MAKE_ONE
        ) from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise UsageError(f"{path}: not a saved plan (no format_version)", hint=MAKE_ONE)
    if data["format_version"] != FORMAT_VERSION:
        raise UsageError(
            f"{path}: plan format_version {data['format_version']!r} is not {FORMAT_VERSION!r}: "
            "it was saved by another version of kxplan",
            hint="make a new plan with this kxplan: `kxplan plan MANIFEST --out PLANFILE`",
        )
    return data


# --------------------------------------------------------------------------- GitLab


def gitlab_counts(plan: Plan) -> dict[str, int]:
    """GitLab's Terraform report counts: `create` (the workspace's own create included),
    `update` (updates, replaced statuses, moves and adoptions: Terraform has no move, a
    moved task is an updated one), `delete`."""
    s = plan.summary()
    created = sum(
        1 for c in plan.actionable if c.kind is Kind.WORKSPACE and c.action is Action.CREATE
    )
    return {
        "create": s["create"] + created,
        "update": s["update"] + s["move"] + s["adopt"],
        "delete": s["delete"],
    }


def _gitlab(counts: dict[str, int]) -> str:
    return json.dumps(counts) + "\n"


# --------------------------------------------------------------------------- fleets


def _show_fleet(path: Path, data: dict[str, Any], fmt: str, max_chars: int) -> str:
    from kxplan.fleet.report import render_fleet, render_fleet_json
    from kxplan.fleet.saved import read_saved_fleet

    fleet = read_saved_fleet(path, data)
    if fmt == "json":
        return render_fleet_json(data)
    if fmt == "gitlab":
        plans = [o.plan for o in fleet.outcomes if o.plan is not None]
        return _gitlab(_sum(gitlab_counts(p) for p in plans))
    title = f"Fleet {fleet.stack!r}: plan"
    return render_fleet(
        fleet.outcomes, fmt, title, applied=False, stack=fleet.stack, max_chars=max_chars
    )


def _sum(counts: Any) -> dict[str, int]:
    total = {"create": 0, "update": 0, "delete": 0}
    for one in counts:
        for key in total:
            total[key] += one[key]
    return total
