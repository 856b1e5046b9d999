"""The `kxplan` command line. The only place that prints errors and chooses exit codes.

Each command lives in its own module (`cmd_<name>.py`) and registers itself on `cli`.
A command raises `KxplanError`s; `main` prints them (never the token) and exits with
their `exit_code`.
"""

from __future__ import annotations

import sys

import click

from kxplan import __version__
from kxplan._runtime import tune_gc
from kxplan.errors import KxplanError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kxplan")
def cli() -> None:
    """kxplan: plan and apply Kantata OX project task plans from YAML manifests.

    \b
    Typical use:
      kxplan validate examples/first.yaml
      kxplan plan  examples/first.yaml --sandbox
      kxplan apply examples/first.yaml --sandbox --auto-approve
    """


def _register() -> None:
    # Imported for their side effect: each module adds its command to `cli`.
    from kxplan.cli import (  # noqa: F401
        cmd_apply,
        cmd_ci,
        cmd_completion,
        cmd_drift,
        cmd_export,
        cmd_fmt,
        cmd_plan,
        cmd_sandbox,
        cmd_show,
        cmd_validate,
    )


_register()


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
