"""The suspected-rename gate of `kxplan apply`: `--accept-new KEY` and `--accept-all-new`.

    @cli.command("apply")
    @accept_new_options
    def apply_command(..., accept: AcceptNew, ...):
        ...
        gate_suspected_renames(plans, accept)   # before the first write

A plan pairs each task create that looks like a task it keeps or deletes (see
kxplan.planner.renames); apply creates none of them until the user either adds the
suggested `renamed_from` line (then the plan no longer has the create) or accepts the
create as a new task with one of these flags.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # imported where used, after the first request (kxplan._deferred)
    from kxplan.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class AcceptNew:
    """Which suspected renames the user accepts as new tasks."""

    keys: tuple[str, ...] = ()
    all: bool = False


def accept_new_options(fn: F) -> F:
    """Add `--accept-new KEY` (repeatable) and `--accept-all-new`; the command receives
    them as one `accept: AcceptNew` argument."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["accept"] = AcceptNew(
            tuple(kwargs.pop("accept_new_keys")), bool(kwargs.pop("accept_all_new"))
        )
        return fn(*args, **kwargs)

    wrapper = click.option(
        "--accept-all-new",
        is_flag=True,
        help="Create every suspected rename as a new task (see --accept-new).",
    )(wrapper)
    wrapper = click.option(
        "--accept-new",
        "accept_new_keys",
        multiple=True,
        metavar="KEY",
        help="Create task KEY although it looks like a task the plan keeps or deletes "
        "(a suspected rename); without it apply refuses (repeatable).",
    )(wrapper)
    return wrapper  # type: ignore[return-value]


def gate_suspected_renames(plans: Sequence[Plan], accept: AcceptNew) -> None:
    """Raise (exit 1, nothing written) while a suspected rename is unresolved; warn about
    `--accept-new` keys that name none."""
    from kxplan.planner.renames import check_renames_resolved

    for key in check_renames_resolved(plans, accept.keys, accept.all):
        click.echo(
            f"Warning: --accept-new {key}: the plan has no suspected rename with this key "
            "(nothing to accept)",
            err=True,
        )
