"""The steps of `kxplan apply`, written once for one workspace and for a fleet.

    plans = ...                                # load and plan (cmd_apply, fleet.runner)
    gate(plans, gates)                         # shared status sets, suspected renames
    confirm(auto_approve, question, out)       # ask (or --auto-approve)
    with hold_workspaces(peek_locks(...)) ...  # lock (kxplan.cli.locking)
    result = apply_changes(plan, client, guard, out)   # apply, with its events
    err = verification_error(after_writes(...))  # verify: nothing may be left to do
    out.say(done_line(...))                    # report

`Output` is where a run speaks: human text to stdout, or to stderr whenever stdout carries
JSON (`--format json`, `--json`); `--json` events through `Output.events`. `reporting` runs
a command so that its event stream always ends with a summary, also on an error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from kxplan.cli import terminal
from kxplan.cli.plan_options import PlanFlags, duplicates_left
from kxplan.cli.rename_gate import AcceptNew, gate_suspected_renames
from kxplan.client import KantataClient
from kxplan.connection import SANDBOX_DATA
from kxplan.errors import ApplyError, KxplanError, UnsafePlanError, UsageError
from kxplan.model import LiveState, Manifest, PlanOptions

if TYPE_CHECKING:  # imported where used, after the first request (kxplan._deferred)
    from kxplan.apply import ApplyResult, CreateGuard
    from kxplan.events import Events
    from kxplan.plan import Plan

#: Applies with at least this many changes get a progress bar (on a terminal).
PROGRESS_THRESHOLD = 20

#: Said when another apply wrote a lock since the workspace was planned.
REPLANNED = "Another apply wrote to the workspace since it was planned; planning again."

VERIFIED = "Verified: the workspace matches the manifest."


@dataclass(frozen=True, slots=True)
class Gates:
    """What `apply` checks before asking and writing, in every workspace."""

    allow_shared: bool = False
    accept: AcceptNew = field(default_factory=AcceptNew)
    lock_timeout: float = 0.0


@dataclass(frozen=True, slots=True)
class Output:
    """Where one run speaks: `fmt` the plan format, `events` the `--json` stream (None
    without --json). Human text goes to stderr whenever stdout carries JSON."""

    fmt: str = "text"
    events: Events | None = None

    @classmethod
    def of(cls, flags: PlanFlags, command: str, *, document: bool = False) -> Output:
        """With --json an event stream; with `document` the events are kept instead, for the
        one document `reporting` prints at the end (`apply --format json`)."""
        if not flags.json and not document:
            return cls(flags.fmt)
        from kxplan.events import Events

        if flags.json:
            return cls(flags.fmt, Events(command))
        return cls(flags.fmt, Events.collecting(command) if document else None)

    @property
    def machine(self) -> bool:
        """Whether stdout carries JSON (a document or the event stream)."""
        return self.fmt == "json" or self.events is not None

    @property
    def shown(self) -> str:
        """The format a plan is shown in for people: with `--format json` the document is
        printed at the end, so the plan to review is text (on stderr)."""
        return "text" if self.fmt == "json" else self.fmt

    def say(self, text: str) -> None:
        click.echo(text, err=self.machine)


def refuse_two_jsons(out: Output) -> None:
    """--json and --format json would both print JSON on stdout: one of them, please."""
    if out.fmt == "json" and out.events is not None and out.events.kept is None:
        raise UsageError(
            "--json and --format json both print JSON on stdout",
            hint="use --json for the event stream (the plan is then shown on stderr, "
            "in --format text or markdown), or --format json for one document",
        )


def reporting(out: Output, body: Callable[[], int]) -> int:
    """Run `body` (the command; it returns the exit code); with events, end them with a
    diagnostic for the error that stopped it and the summary, whatever happens, and print
    the one document when the events were kept for it."""
    events = out.events
    if events is None:
        return body()
    try:
        refuse_two_jsons(out)
        code = body()
    except KxplanError as err:
        events.error(err)
        events.summary(err.exit_code)
        raise
    except (click.exceptions.Abort, KeyboardInterrupt):
        events.diagnostic("error", "aborted: nothing more was applied")
        events.summary(1)
        raise
    else:
        events.summary(code)
    finally:
        if events.kept is not None:
            click.echo(json.dumps(events.document(), indent=2, ensure_ascii=False))
    return code


def gate(plans: Sequence[Plan], gates: Gates) -> None:
    """UnsafePlanError, before any write, when a plan changes a status set other workspaces
    use without --allow-shared-set-change; an error while a suspected rename is unresolved
    (kxplan.cli.rename_gate)."""
    shared = [s for p in plans for s in p.shared_sets]
    if shared and not gates.allow_shared:
        raise UnsafePlanError(
            "; ".join(s.warning() for s in shared),
            hint="status sets are account-wide: agree the change with the other workspaces "
            "and re-run with --allow-shared-set-change, or give this manifest a status set "
            "of its own (another status_set name)",
        )
    gate_suspected_renames(plans, gates.accept)


def confirm(auto_approve: bool, question: str, out: Output) -> None:
    """Ask `question` unless --auto-approve; in CI or with no terminal to ask on, refuse
    (kxplan.cli.terminal.approve)."""
    terminal.approve(auto_approve, question, err=out.machine)


def apply_changes(
    plan: Plan, client: KantataClient, guard: CreateGuard | None, out: Output, *, bar: bool = True
) -> ApplyResult:
    """Apply `plan` (a progress bar on a terminal with `bar`); with --json an `apply` event
    for each change as its batch finishes, and for the changes not applied when it stops."""
    from kxplan.apply import ApplyFailed, apply_plan

    events = out.events
    on_done = None if events is None else (lambda batch: events.applied(plan.workspace, batch))
    try:
        with _progress(len(plan.actionable) if bar else 0) as advance:
            result = apply_plan(plan, client, progress=advance, guard=guard, on_done=on_done)
    except ApplyFailed as err:
        if events is not None:
            events.not_applied(
                plan.workspace, err.pending, why="stopped", err=err.cause, failed=err.failed
            )
            events.no_calls(plan)
        raise
    if events is not None:
        events.no_calls(plan)
    return result


def not_applied(plan: Plan, out: Output, err: KxplanError, why: str) -> None:
    """With --json: every change of `plan` skipped, because of `err` (a gate, a lock, a
    stale saved plan) before any of them was sent."""
    if out.events is not None and plan.has_changes:
        out.events.not_applied(plan.workspace, plan.actionable, why=why, err=err)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal (not CI) and the apply is long enough."""
    if total < PROGRESS_THRESHOLD or not terminal.show_progress(sys.stderr):
        yield None
        return
    with click.progressbar(length=total, label="Applying", file=sys.stderr) as bar:
        yield bar.update


@dataclass(slots=True)
class LiveReads:
    """The live state each manifest was planned against (by manifest identity): pass
    `planner` to `make_plans`, then `after_writes` plans the manifest against that state
    with the apply's writes laid over it, instead of reading the workspace again."""

    lives: dict[int, LiveState] = field(default_factory=dict)

    def planner(self, manifest: Manifest, live: LiveState, options: PlanOptions) -> Plan:
        from kxplan.planner import build_plan

        self.lives[id(manifest)] = live
        return build_plan(manifest, live, options)

    def after_writes(
        self, client: KantataClient, manifest: Manifest, result: ApplyResult, options: PlanOptions
    ) -> Plan | None:
        """`manifest` planned again against the state the apply left, read from its writes'
        answers and only what they did not show (kxplan.apply.live_after; docs/apply.md,
        "Verification"); None when that cannot be told from the writes (read all again)."""
        return planned_after_writes(client, manifest, self.lives.get(id(manifest)), result, options)


def planned_after_writes(
    client: KantataClient,
    manifest: Manifest,
    before: LiveState | None,
    result: ApplyResult,
    options: PlanOptions,
) -> Plan | None:
    """`manifest` planned again against `before` (the live state it was planned on) with
    `result`'s writes laid over it, reading only what their answers did not show
    (kxplan.apply.live_after; docs/apply.md, "Verification"); None when that cannot be
    told from the writes (no `before`, or a write it cannot account for: `Observed
    .accounts_for`): read all again.
    One workspace's apply and each workspace of a fleet verify through here."""
    from kxplan.apply import live_after
    from kxplan.planner import build_plan

    if before is None or not result.workspace_id or not result.observed.accounts_for(before):
        return None
    live = live_after(client, before, result.observed, result.workspace_id)
    return build_plan(manifest, live, options)


def verification_error(after: Sequence[Plan]) -> ApplyError | None:
    """What is wrong with the workspace(s) planned again after apply: duplicates left, or
    changes still pending; None when they match the manifest."""
    left = duplicates_left(after)
    if left is not None:
        summary, hint = left
        return ApplyError(
            f"verification found duplicates after apply: {summary}",
            hint="made by something else than this apply (an older kxplan, a task copied in "
            f"Kantata) or a create committed after its answer was lost: {hint}",
        )
    n = sum(len(p.actionable) for p in after if p.has_changes)
    if not n:
        return None
    return ApplyError(
        f"verification found {n} change{_s(n)} still pending after apply",
        hint="someone may be editing the workspace; run `kxplan plan` to review, then apply",
    )


def fresh_note(requests: int) -> str:
    return f"The saved plan is still current (checked in {requests} request{_s(requests)})."


def created_note(result: ApplyResult, sandbox: bool) -> str | None:
    """`Created workspace "Acme — Onboarding": id 41001.` when the apply created it (with
    --sandbox: where the sandbox keeps it)."""
    if result.created_workspace is None:
        return None
    wid, title = result.created_workspace
    where = f" in the sandbox ({SANDBOX_DATA})" if sandbox else ""
    return f'Created workspace "{title}"{where}: id {wid}.'


def counts_of(results: Sequence[ApplyResult]) -> dict[str, int]:
    """What the applies did, added up: create, update, move, delete, adopt."""
    counts = {"create": 0, "update": 0, "move": 0, "delete": 0, "adopt": 0}
    for r in results:
        for name, n in r.summary().items():
            counts[name] = counts.get(name, 0) + n
    return counts


def _s(n: int) -> str:
    return "" if n == 1 else "s"
