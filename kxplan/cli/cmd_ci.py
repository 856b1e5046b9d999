"""`kxplan ci comment PLANFILE` and `kxplan ci summary PLANFILE`: a saved plan on GitHub.

`comment` creates the pull request's plan comment, or updates the one it wrote before (found
by the hidden marker of the stack and workspace); `summary` appends the plan to the job
summary (GITHUB_STEP_SUMMARY). Both read only the saved plan: no Kantata request. The guide
is docs/ci.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from kxplan.ci import (
    GitHubClient,
    PlanMarkdown,
    Posted,
    PullRequest,
    fit_comment,
    fit_summary,
    pull_request_from_env,
    saved_plan_markdown,
    token_from_env,
    upsert_comment,
)
from kxplan.cli import cli
from kxplan.errors import UsageError

_PLANFILES = click.argument(
    "plan_files",
    metavar="PLANFILE...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
)


@cli.group("ci")
def ci() -> None:
    """Post a saved plan where CI shows it (GitHub pull-request comment, job summary)."""


@ci.command("comment")
@_PLANFILES
@click.option(
    "--pr",
    "number",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Pull request number (default: the pull request of GITHUB_EVENT_PATH).",
)
@click.option(
    "--summary/--no-summary",
    default=True,
    show_default=True,
    help="Also append the plan to GITHUB_STEP_SUMMARY when it is set.",
)
def comment(plan_files: tuple[Path, ...], number: int | None, summary: bool) -> None:
    """Create or update the pull request's plan comment of each PLANFILE.

    \b
    Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL (default https://api.github.com)
    and GITHUB_EVENT_PATH, as GitHub Actions sets them. One comment per stack and workspace:
    a re-run updates it in place and touches no other comment. A plan longer than GitHub's
    65,536 characters is cut, saying how many lines were left out.
    """
    bodies = [(path, saved_plan_markdown(path)) for path in plan_files]  # all read first
    env = os.environ
    pr = pull_request_from_env(env, number)
    token = token_from_env(env)
    with GitHubClient(pr.api_url, token) as github:
        for path, body in bodies:
            posted = upsert_comment(github, pr, fit_comment(body, str(path)))
            click.echo(_said(posted, pr))
    if summary and env.get("GITHUB_STEP_SUMMARY"):
        for path, body in bodies:
            _write_summary(body, path, Path(env["GITHUB_STEP_SUMMARY"]))


def _said(posted: Posted, pr: PullRequest) -> str:
    plural = "" if posted.requests == 1 else "s"
    where = f": {posted.url}" if posted.url else ""
    said = {
        "created": f"Created the plan comment on {pr}",
        "updated": f"Updated the plan comment on {pr}",
        "unchanged": f"The plan comment on {pr} already shows this plan",
    }[posted.action]
    return f"{said}{where} ({posted.requests} GitHub request{plural})."


@ci.command("summary")
@_PLANFILES
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to append to (default: GITHUB_STEP_SUMMARY).",
)
def summary_command(plan_files: tuple[Path, ...], output: Path | None) -> None:
    """Append each PLANFILE's Markdown to the job summary (GITHUB_STEP_SUMMARY).

    Works on any event (a push to the default branch too); nothing is sent anywhere.
    """
    bodies = [(path, saved_plan_markdown(path)) for path in plan_files]
    target = output or _summary_file()
    for path, body in bodies:
        _write_summary(body, path, target)


def _summary_file() -> Path:
    path = os.environ.get("GITHUB_STEP_SUMMARY", "")
    if not path:
        raise UsageError(
            "GITHUB_STEP_SUMMARY is not set: there is no job summary to write to",
            hint="GitHub Actions sets it in every step; elsewhere pass --output FILE",
        )
    return Path(path)


def _write_summary(body: PlanMarkdown, plan_file: Path, target: Path) -> None:
    try:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(fit_summary(body, str(plan_file)))
    except OSError as err:
        raise UsageError(
            f"{target}: cannot write the job summary ({err.strerror})",
            hint="check GITHUB_STEP_SUMMARY (or --output)",
        ) from None
    click.echo(f"Wrote the plan to the job summary ({target}).", err=True)
