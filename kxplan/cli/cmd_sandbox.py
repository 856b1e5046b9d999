"""`kxplan sandbox`: serve a Kantata OX-compatible API on loopback until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click

from kxplan.cli import cli
from kxplan.errors import UsageError
from kxplan.sandbox import SandboxServer, Variants
from kxplan.sandbox.store import StoreOpenError
from kxplan.sandbox.variants import help_text

DEFAULT_DATA = Path(".kxplan") / "sandbox.db"


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8642,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0: any free port).",
)
@click.option(
    "--data",
    default=str(DEFAULT_DATA),
    show_default=True,
    help='SQLite file holding the sandbox data (":memory:" keeps nothing).',
)
@click.option("--token", default=None, help="Accept only this bearer token (default: any).")
@click.option(
    "--seed-workspace",
    "seed_workspaces",
    multiple=True,
    metavar="TITLE",
    help="Create a workspace with this title if none has it (repeatable).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME=VALUE",
    help="Play this answer to a question Kantata's documentation leaves open (repeatable; "
    "the first value of each is the default): " + help_text() + ". See docs/sandbox.md.",
)
def sandbox_command(
    host: str,
    port: int,
    data: str,
    token: str | None,
    seed_workspaces: tuple[str, ...],
    variants: tuple[str, ...],
) -> None:
    """Serve a local Kantata OX-compatible API (same paths under /api/v1) for trying templates.

    \b
    Example:
      kxplan sandbox --seed-workspace "Acme — Onboarding"
      KANTATA_API_URL=http://127.0.0.1:8642/api/v1 KANTATA_TOKEN=anything \\
        kxplan plan examples/first.yaml
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"Warning: serving on {host}, not only on loopback.", err=True)
    try:
        played = Variants.from_pairs(variants)
    except ValueError as err:
        raise UsageError(str(err), hint="`kxplan sandbox --help` lists every variant") from err
    try:
        server = SandboxServer(data, token=token, host=host, port=port, variants=played)
    except StoreOpenError as err:
        raise UsageError(
            f"cannot use {data} as the sandbox's data: {err.reason}",
            hint="pass another file with --data (a new file is created), or move this one aside",
        ) from None
    try:
        server.bind()
    except (OSError, OverflowError) as err:
        raise UsageError(
            f"cannot listen on {host}:{port}: {getattr(err, 'strerror', None) or err}",
            hint="choose another port with --port (0 picks a free one)",
        ) from err
    for title in seed_workspaces:
        _seed(server, title)
    click.echo(f"Kantata OX sandbox serving {server.url}")
    click.echo(f"  data: {data}")
    click.echo(f"  variants: {played}")
    if token is None:
        click.echo("  auth: any non-empty bearer token, e.g. KANTATA_TOKEN=sandbox")
    else:
        click.echo("  auth: only the token given with --token")
    click.echo(f"  export KANTATA_API_URL={server.url}")
    click.echo("Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")


def _seed(server: SandboxServer, title: str) -> None:
    existing = server.model.workspace_titled(title)
    if existing is not None:
        click.echo(f'Workspace "{title}" already exists (id {existing["id"]}).')
        return
    ws = server.model.create_workspace(title)
    click.echo(f'Created workspace "{title}" (id {ws["id"]}).')
