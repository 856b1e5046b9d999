"""`kxplan export --workspace ID|TITLE [--name STACK] [--output FILE]`."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import click

from kxplan.cli import cli
from kxplan.connection import connection_options, open_client
from kxplan.errors import UsageError
from kxplan.export import build_export
from kxplan.live import read_live
from kxplan.live.posts import read_posts
from kxplan.manifest.keys import slugify
from kxplan.resources import schema_path

#: A stack name, as the manifest schema's `name` allows.
STACK_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


@cli.command("export")
@click.option(
    "--workspace",
    "-w",
    required=True,
    metavar="ID|TITLE",
    help="The workspace to export: its id or exact title.",
)
@click.option(
    "--name",
    "stack",
    default=None,
    metavar="STACK",
    help="Stack name written as the manifest's `name` (default: slug of the workspace title).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the manifest to FILE instead of standard output.",
)
@connection_options
def export_command(
    workspace: str,
    stack: str | None,
    output: Path | None,
    api_url: str,
    token_file: Path | None,
    sandbox: bool,
    log_level: str,
) -> int:
    """Write a manifest for an existing workspace, ready to adopt with `--adopt`.

    Every task is exported with its place in the tree, the fields kxplan manages, its
    checklist and tags, plus the workspace's status set. Tasks managed by another
    kxplan stack are left out.

    \b
    Examples:
      kxplan export --workspace "Acme — Onboarding" --output acme.yaml
      kxplan plan acme.yaml --adopt            # shows `=` adopt for every task
      kxplan apply acme.yaml --adopt           # writes the markers, recreates nothing
    """
    if stack is not None:
        _check_stack(stack)
    with open_client(api_url, token_file, sandbox, log_level) as client:
        live = read_live(client, workspace)
        if stack is not None:  # re-exporting a stack: its posts too (one more request)
            live = replace(live, posts=read_posts(client, live.workspace.id, stack))
    name = stack if stack is not None else _default_stack(live.workspace.title)
    result = build_export(live, name, schema_ref=_schema_ref(output))
    if output is None:
        click.echo(result.text, nl=False)
    else:
        _write(output, result.text)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    where = str(output) if output is not None else "standard output"
    click.echo(
        f"Exported {result.tasks} tasks and {result.checklist_items} checklist items of "
        f"workspace {live.workspace.id} ({live.workspace.title}) as stack {name!r} to {where}.",
        err=True,
    )
    if output is not None:
        click.echo(f"Next: kxplan plan {output} --adopt", err=True)
    return 0


def _check_stack(stack: str) -> None:
    if not re.match(STACK_PATTERN, stack):
        raise UsageError(
            f"--name {stack!r} is not a valid stack name",
            hint="use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
        )


def _default_stack(title: str) -> str:
    return slugify(title)[:64].rstrip("-") or "workspace"


def _schema_ref(output: Path | None) -> str:
    """Path of the manifest schema relative to where the manifest will live (editors
    resolve `$schema` relative to the file); absolute when no relative path exists."""
    schema = schema_path("manifest.schema.json").resolve()
    base = (output.resolve().parent if output is not None else Path.cwd()).resolve()
    try:
        return Path(os.path.relpath(schema, base)).as_posix()
    except ValueError:  # e.g. another drive on Windows
        return schema.as_posix()


def _write(output: Path, text: str) -> None:
    """Write via a temporary file and rename, so a failed export never leaves half a file."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(f".{output.name}.tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(output)
    except OSError as err:
        raise UsageError(
            f"cannot write {str(output)!r}: {err.strerror}",
            hint="check the --output path and that its directory is writable",
        ) from None
