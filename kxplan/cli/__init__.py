"""The `kxplan` command line. The only place that prints errors and chooses exit codes.

Each command lives in its own module (`cmd_<name>.py`) and registers itself on `cli`.
A command raises `KxplanError`s; `main` prints them (never the token) and exits with
their `exit_code`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

import click

from kxplan import __version__
from kxplan._runtime import tune_gc
from kxplan.errors import KxplanError


class _LazyGroup(click.Group):
    """A group whose commands are imported when used, so `kxplan validate` does not pay for
    the HTTP client, the sandbox or the renderers (see docs/client.md, "Start-up and CPU").

    `LAZY` maps each command name to its module and the first paragraph of its help, which
    `kxplan --help` lists without importing anything (tests/cli check that the two agree).
    `commands` (click's own registry) imports every module, for code that reads it directly.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loaded: dict[str, click.Command] = {}
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> dict[str, click.Command]:
        for name in LAZY:
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: Mapping[str, click.Command]) -> None:
        self._loaded = dict(value)

    def _load(self, name: str) -> click.Command | None:
        if name not in self._loaded and name in LAZY:
            importlib.import_module(LAZY[name][0])  # the module adds its command to `cli`
        return self._loaded.get(name)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name is None:
            raise TypeError("Command has no name.")
        self._loaded[name] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self._loaded, *LAZY})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own listing, with a stand-in carrying the help of each command not loaded.
        names = self.list_commands(ctx)
        cmds = [self._loaded.get(n) or click.Command(n, help=LAZY[n][1]) for n in names]
        rows = [(n, c) for n, c in zip(names, cmds, strict=True) if not c.hidden]
        if rows:
            limit = formatter.width - 6 - max(len(n) for n, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in rows])


#: Command name -> (module that registers it, first paragraph of its help).
LAZY: dict[str, tuple[str, str]] = {
    "apply": (
        "kxplan.cli.cmd_apply",
        "Plan MANIFEST(s) (or take a saved PLANFILE), show the plan, ask, then apply it.",
    ),
    "ci": (
        "kxplan.cli.cmd_ci",
        "Post a saved plan where CI shows it (GitHub pull-request comment, job summary).",
    ),
    "completion": (
        "kxplan.cli.cmd_completion",
        "Print the completion script for SHELL; load it in your shell's start-up file.",
    ),
    "drift": (
        "kxplan.cli.cmd_drift",
        "Say where Kantata no longer matches the manifests, and where each difference comes "
        "from: changed in Kantata since kxplan wrote it, or changed in the manifest. Changes "
        "nothing. For a drifted status, says who changed it and when.",
    ),
    "export": (
        "kxplan.cli.cmd_export",
        "Write a manifest for an existing workspace, ready to adopt with `--adopt`.",
    ),
    "fmt": (
        "kxplan.cli.cmd_fmt",
        "Rewrite manifests in canonical key order and indentation, keeping comments.",
    ),
    "plan": (
        "kxplan.cli.cmd_plan",
        "Show the changes that would make the workspace match the manifests.",
    ),
    "sandbox": (
        "kxplan.cli.cmd_sandbox",
        "Serve a local Kantata OX-compatible API (same paths under /api/v1) for trying templates.",
    ),
    "show": (
        "kxplan.cli.cmd_show",
        "Print the saved plan PLANFILE (from `kxplan plan --out`), offline.",
    ),
    "validate": (
        "kxplan.cli.cmd_validate",
        "Check manifests: structure, keys, dates, statuses, variables.",
    ),
}


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="kxplan")
def cli() -> None:
    """kxplan: plan and apply Kantata OX project task plans from YAML manifests.

    \b
    Typical use:
      kxplan validate examples/first.yaml
      kxplan plan  examples/first.yaml --sandbox
      kxplan apply examples/first.yaml --sandbox --auto-approve
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    tune_gc()
    try:
        # With standalone_mode=False, click returns ctx.exit(code)'s code instead of exiting.
        rv = cli.main(args=argv, prog_name="kxplan", standalone_mode=False)
    except KxplanError as err:
        click.echo(err.format(), err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(1 if err.exit_code == 2 else err.exit_code)
    sys.exit(rv if isinstance(rv, int) else 0)
