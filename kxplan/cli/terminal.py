"""What kxplan does differently on a terminal, in CI, and when asked: colour, the
progress bar, tips and the apply prompt, decided here and nowhere else.

Colour (docs/cli.md, "Colour and CI"): `--color always|never` wins; else `NO_COLOR`
(any non-empty value, https://no-color.org) turns it off; else `FORCE_COLOR` (any
non-empty value, https://force-color.org) turns it on; else colour when the output is
a terminal. With `CI` set (any non-empty value, as GitHub Actions, GitLab CI and most
CI services set it) there is no progress bar, no tip about what to run next, and no
prompt: `apply` without `--auto-approve` refuses.

    @cli.command("show")
    @color_option
    def show(...): ... click.echo(render(plan, fmt, color=use_colour()))
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

from kxplan.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

COLOR_CHOICES = ("auto", "always", "never")
_META = "kxplan.color"


def _set(name: str) -> bool:
    return bool(os.environ.get(name))


def in_ci() -> bool:
    """True when the `CI` environment variable is set to a non-empty value."""
    return _set("CI")


def forced_colour(choice: str | None = None) -> bool | None:
    """Colour as the flag and environment decide it, or None when the terminal decides.
    `choice`: the `--color` value (default: the current command's)."""
    choice = choice if choice is not None else _current_choice()
    if choice != "auto":
        return choice == "always"
    if _set("NO_COLOR"):
        return False
    if _set("FORCE_COLOR"):
        return True
    return None


def use_colour(stream: IO[str] | None = None, choice: str | None = None) -> bool:
    """Whether to colour what is printed on `stream` (default stdout)."""
    forced = forced_colour(choice)
    if forced is not None:
        return forced
    return _isatty(stream if stream is not None else sys.stdout)


def _current_choice() -> str:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if _META in ctx.meta:
            return str(ctx.meta[_META])
        ctx = ctx.parent
    return "auto"


def _remember(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta[_META] = value
    # click strips colour codes from output that is not a terminal unless told otherwise.
    ctx.color = forced_colour(value)
    return value


#: `--color auto|always|never` for a command that prints plans; read with `use_colour()`.
color_option = click.option(
    "--color",
    type=click.Choice(COLOR_CHOICES),
    default="auto",
    show_default=True,
    expose_value=False,
    is_eager=True,
    callback=_remember,
    help="Colour the text output: auto (on a terminal, unless NO_COLOR is set; FORCE_COLOR "
    "forces it), always, or never.",
)


def show_progress(stream: IO[str] | None = None) -> bool:
    """Whether a progress bar may be drawn on `stream` (default stderr): a terminal, not CI."""
    return not in_ci() and _isatty(stream if stream is not None else sys.stderr)


def tip(message: str) -> None:
    """Tell an interactive user what to run next (on stderr); silent in CI."""
    if not in_ci():
        click.echo(message, err=True)


def approve(auto_approve: bool, question: str, *, err: bool = False) -> None:
    """Ask `question` (on stderr with `err`) unless --auto-approve. In CI or with no
    terminal to ask on: refuse."""
    if auto_approve:
        return
    if in_ci():
        raise UsageError(
            "refusing to apply: CI is set, so there is no one to confirm the plan",
            hint="review the plan (`kxplan plan --out PLANFILE`), then run apply with "
            "--auto-approve",
        )
    if not _isatty(sys.stdin):
        raise UsageError(
            "refusing to apply: there is no terminal to confirm the plan",
            hint="review it with `kxplan plan`, then run apply with --auto-approve",
        )
    click.confirm(question, abort=True, err=err)


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or fake stream
        return False
