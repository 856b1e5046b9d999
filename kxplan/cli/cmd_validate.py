"""`kxplan validate MANIFEST...`: check manifests without touching Kantata."""

from __future__ import annotations

from collections.abc import Sequence

import click

from kxplan.cli import cli
from kxplan.errors import UsageError
from kxplan.manifest import load_manifests
from kxplan.model import Manifest


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
def validate(manifests: tuple[str, ...], var_pairs: tuple[str, ...]) -> None:
    """Check manifests: structure, keys, dates, statuses, variables.

    Prints one OK line per valid manifest (per workspace of a fleet). Otherwise prints
    every problem as file:line:col: message and exits 1. Nothing is sent to Kantata.
    """
    loaded = load_manifests(manifests, parse_vars(var_pairs), allow_fleets=True)
    paths = [m.path for m in loaded]
    for manifest in loaded:
        # A fleet yields one manifest per workspace: say which one each line is about.
        where = f" (workspace {manifest.workspace!r})" if paths.count(manifest.path) > 1 else ""
        click.echo(f"OK {manifest.path}{where}: {summary(manifest)}")
