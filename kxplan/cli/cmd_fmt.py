"""`kxplan fmt [--check] MANIFEST...`: canonical key order and indentation, comments kept."""

from __future__ import annotations

from pathlib import Path

import click

from kxplan.cli import cli
from kxplan.errors import ManifestError, Problem
from kxplan.manifest.fmt import FmtError, Formatted, format_file


@cli.command("fmt")
@click.argument("manifests", nargs=-1, required=True, metavar="MANIFEST...")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; list the files that are not formatted and exit 1 if there are any.",
)
def fmt_command(manifests: tuple[str, ...], check: bool) -> None:
    """Rewrite manifests in canonical key order and indentation, keeping comments.

    Works on manifests, fleet manifests and included files alike; what a file means is
    never changed, and formatting a formatted file changes nothing. Prints the name of
    each file it rewrote (with --check: that it would rewrite). Nothing is written while
    any file is not valid YAML: each problem is shown as file:line:col: message, exit 1.

    \b
    Examples:
      kxplan fmt onboarding.yaml phases/*.yaml
      kxplan fmt --check onboarding.yaml     # in CI or a pre-commit hook
    """
    results = _format_all(manifests)
    changed = [r for r in results if r.changed]
    for result in changed:
        if not check:
            _write(result)
        click.echo(result.path)
    if check and changed:
        n = len(changed)
        click.echo(
            f"{n} file{'s are' if n != 1 else ' is'} not formatted: "
            f"run `kxplan fmt {' '.join(r.path for r in changed)}`",
            err=True,
        )
        click.get_current_context().exit(1)


def _format_all(paths: tuple[str, ...]) -> list[Formatted]:
    """Every file formatted, or ManifestError with the problems of all of them."""
    results: list[Formatted] = []
    problems: list[Problem] = []
    for path in dict.fromkeys(paths):
        try:
            results.append(format_file(path))
        except FmtError as err:
            problems += err.problems
    if problems:
        raise ManifestError(problems)
    return results


def _write(result: Formatted) -> None:
    try:
        Path(result.path).write_text(result.after, encoding="utf-8", newline="")
    except OSError as err:
        raise ManifestError(
            [Problem(result.path, 1, 1, f"cannot write the file: {err.strerror}")]
        ) from None
