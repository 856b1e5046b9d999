"""`kxplan validate MANIFEST...`: check manifests without touching Kantata."""

from __future__ import annotations

from collections.abc import Sequence

import click

from kxplan.cli import cli
from kxplan.errors import KxplanError, ManifestError, Problem, UsageError
from kxplan.manifest import load_manifests
from kxplan.model import Manifest

#: `validate --format`: text lines, or GitHub Actions workflow commands.
VALIDATE_FORMATS = ("text", "github")


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """`--var name=value` pairs as a dict (a later pair wins)."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(
                f"--var {pair!r} is not name=value", hint="e.g. --var kickoff=2027-01-04"
            )
        values[name.strip()] = value
    return values


def summary(manifest: Manifest) -> str:
    """`N tasks, N checklist items, N statuses` for one manifest."""
    items = sum(len(t.checklist) for t in manifest.tasks)
    statuses = len(manifest.status_set.statuses) if manifest.status_set else 0
    return ", ".join(
        (
            _count(len(manifest.tasks), "task"),
            _count(items, "checklist item"),
            _count(statuses, "status"),
        )
    )


def _count(n: int, word: str) -> str:
    plural = word + ("es" if word.endswith("s") else "s")
    return f"{n} {word if n == 1 else plural}"


@cli.command("validate")
@click.argument("manifests", nargs=-1, required=True, metavar="MANIFEST...")
@click.option(
    "--var",
    "var_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a variable from vars: (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(VALIDATE_FORMATS),
    default="text",
    show_default=True,
    help="github: print each problem as a GitHub Actions ::error annotation on stdout.",
)
def validate(manifests: tuple[str, ...], var_pairs: tuple[str, ...], fmt: str) -> None:
    """Check manifests: structure, keys, dates, statuses, variables.

    Prints one OK line per valid manifest (per workspace of a fleet). Otherwise prints
    every problem as file:line:col: message and exits 1. Nothing is sent to Kantata.
    With --format github each problem is a `::error file=F,line=L,col=C::message`
    workflow command on stdout instead, so GitHub shows it on the line it is about.
    """
    try:
        loaded = load_manifests(manifests, parse_vars(var_pairs), allow_fleets=True)
    except KxplanError as err:
        if fmt != "github":
            raise
        for line in github_annotations(err):
            click.echo(line)
        click.get_current_context().exit(1)
    paths = [m.path for m in loaded]
    for manifest in loaded:
        # A fleet yields one manifest per workspace: say which one each line is about.
        where = f" (workspace {manifest.workspace!r})" if paths.count(manifest.path) > 1 else ""
        click.echo(f"OK {manifest.path}{where}: {summary(manifest)}")


# --------------------------------------------------------------------------- github


def github_annotations(err: KxplanError) -> list[str]:
    """One `::error ...::message` workflow command per problem of `err` (see
    https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions):
    a problem in an included file points at that file; how it was included follows the
    message, one step a line."""
    if not isinstance(err, ManifestError):
        text = err.message + (f" ({err.hint})" if err.hint else "")
        return [f"::error title=kxplan::{escape_data(text)}"]
    return [_annotation(p) for p in err.problems]


def _annotation(problem: Problem) -> str:
    text = problem.message + (f" ({problem.hint})" if problem.hint else "")
    text = "\n".join((text, *problem.chain))
    where = ",".join(
        f"{name}={escape_property(str(value))}"
        for name, value in (("file", problem.file), ("line", problem.line), ("col", problem.col))
    )
    return f"::error {where}::{escape_data(text)}"


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF escaped, as GitHub's runner unescapes."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and `:` and `,` escaped too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
