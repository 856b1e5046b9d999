"""`--json`: the event stream of `plan` and `apply`, newline-delimited JSON on stdout.

    events = Events("apply")          # writes `{"type": "version", ...}` first
    events.planned(plan)              # a `plan` event, then one `change` event per change
    events.outcomes(plan, applied=..) # one `apply` event per change: applied / failed / skipped
    events.diagnostic("warning", "...")
    events.summary(exit_code)         # always the last line

One JSON object a line, written whole under a lock (fleet workspaces run concurrently), so a
reader may parse line by line while the command runs. Every event names its workspace. The
shapes are `schemas/events.schema.json`; docs/plan.md, "Machine output", says what each means.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from kxplan import __version__
from kxplan.errors import KxplanError, ManifestError
from kxplan.formats import FORMAT_VERSION

if TYPE_CHECKING:  # imported where used, after the first request (kxplan._deferred)
    from kxplan.changes.base import Change
    from kxplan.plan import Plan, PlanWorkspace

#: The version of the event shapes (schemas/events.schema.json); bumped on a breaking change.
EVENTS_VERSION = "1"

#: What came of one change in an apply.
APPLIED, FAILED, SKIPPED = "applied", "failed", "skipped"


def change_ref(change: Change) -> dict[str, Any]:
    """Which change an `apply` event is about (the plan's `change` event has all of it)."""
    return {
        "kind": change.kind.value,
        "action": change.action.value,
        "key": change.key,
        "parent": change.parent,
        "path": change.path or change.key,
    }


def error_fields(err: KxplanError) -> dict[str, Any]:
    """An error as events and the apply document carry it: message, hint, exit code (and
    each problem of an invalid manifest, at its file position)."""
    fields: dict[str, Any] = {"message": err.message, "hint": err.hint, "exit_code": err.exit_code}
    if isinstance(err, ManifestError):
        fields["problems"] = [
            {"file": p.file, "line": p.line, "col": p.col, "message": p.message, "hint": p.hint}
            for p in err.problems
        ]
    return fields


Sink = Callable[[dict[str, Any]], None]


def _print_line(event: dict[str, Any]) -> None:
    click.echo(json.dumps(event, ensure_ascii=False, separators=(",", ":")))


class Events:
    """The event stream of one command run; counts what it reported for the summary.

    `sink` receives each event (default: printed as one line on stdout). `collecting`
    keeps them instead, for `apply --format json`'s one document (`document`)."""

    def __init__(self, command: str, sink: Sink = _print_line) -> None:
        self.command = command
        self._sink = sink
        self.requests: int | None = None  # set by the command once its client is done
        self.plans: dict[tuple[str, str], Plan] = {}  # the last plan of each workspace
        self.kept: list[dict[str, Any]] | None = None  # what `collecting` keeps
        self._lock = threading.Lock()
        self._planned: Counter[str] = Counter()
        self._outcomes: Counter[str] = Counter()
        self._workspaces: dict[tuple[str, str], str] = {}  # (id, title) -> failed/ok
        self.emit(
            "version",
            kxplan=__version__,
            events_version=EVENTS_VERSION,
            format_version=FORMAT_VERSION,
            command=command,
        )

    @classmethod
    def collecting(cls, command: str) -> Events:
        kept: list[dict[str, Any]] = []
        events = cls(command, kept.append)
        events.kept = kept
        return events

    def emit(self, kind: str, **fields: Any) -> None:
        with self._lock:
            self._sink({"type": kind, **fields})

    def document(self) -> dict[str, Any]:
        """`apply --format json`: the plans, what came of each change, the diagnostics and
        the summary, as ONE document (docs/apply.md, "Machine output")."""
        kept = self.kept or []

        def of(kind: str) -> list[dict[str, Any]]:
            return [e for e in kept if e["type"] == kind]

        summary = of("summary")
        return {
            "format_version": FORMAT_VERSION,
            "events_version": EVENTS_VERSION,
            "kxplan": __version__,
            "command": self.command,
            "plans": [p.to_json() for p in self.plans.values()],
            "outcomes": of("apply"),
            "diagnostics": of("diagnostic"),
            "summary": summary[-1] if summary else None,
        }

    def planned(self, plan: Plan) -> None:
        """A `plan` event (the workspace, its summary), then a `change` event per change
        (the same object as in the plan's JSON)."""
        ws = _ws(plan.workspace)
        self._seen(ws, "ok")
        self.plans[(str(ws["id"] or ""), str(ws["title"]))] = plan
        self.emit(
            "plan",
            workspace=ws,
            stack=plan.stack,
            manifest=plan.manifest,
            summary=plan.summary(),
            changes=len(plan.changes),
            has_changes=plan.has_changes,
        )
        for change in plan.changes:
            if change.action.makes_calls:
                self._planned[change.action.value] += 1
            self.emit("change", workspace=ws, change=change.to_json())
        warnings = [s.warning() for s in plan.shared_sets]
        targeting = plan.targeting_warning()
        for text in [*warnings, *([targeting] if targeting else [])]:
            self.diagnostic("warning", text, workspace=plan.workspace)

    def applied(self, workspace: PlanWorkspace, changes: Iterable[Change]) -> None:
        """`apply` events for changes just applied (called as each batch finishes)."""
        for change in changes:
            self.outcome(workspace, change, APPLIED)

    def outcome(self, workspace: PlanWorkspace, change: Change, outcome: str, **why: Any) -> None:
        """One `apply` event: `outcome` applied / failed (with `error`) / skipped (with
        `why`, a word, and `reason`, for people)."""
        self._outcomes[outcome] += 1
        ref = change_ref(change)
        self.emit("apply", workspace=_ws(workspace), change=ref, outcome=outcome, **why)

    def not_applied(
        self,
        workspace: PlanWorkspace,
        changes: Sequence[Change],
        *,
        why: str,
        err: KxplanError | None = None,
        failed: Sequence[Change] = (),
    ) -> None:
        """`apply` events for changes that were not applied: `failed` ones (their batch
        raised `err`) and the others skipped because of `why`."""
        tried = {id(c) for c in failed}
        error = error_fields(err) if err is not None else None
        for change in changes:
            if id(change) in tried:
                self.outcome(workspace, change, FAILED, error=error)
            else:
                reason = err.message if err is not None else why
                self.outcome(workspace, change, SKIPPED, why=why, reason=reason)

    def no_calls(self, plan: Plan) -> None:
        """`apply` events for the plan's changes that make no call (kept, blocked, notes):
        skipped, saying why."""
        for change in plan.changes:
            if not change.action.makes_calls:
                self.outcome(
                    plan.workspace,
                    change,
                    SKIPPED,
                    why=change.code.value or change.action.value,
                    reason=change.reason or f"{change.action.value}: nothing to send",
                )

    def diagnostic(
        self,
        level: str,
        message: str,
        *,
        workspace: PlanWorkspace | None = None,
        err: KxplanError | None = None,
    ) -> None:
        """A `diagnostic` event: `info`, `warning` or `error` (an error with its exit code)."""
        fields: dict[str, Any] = {"level": level, "message": message}
        if err is not None:
            fields.update(error_fields(err), message=message)
        if workspace is not None:
            fields["workspace"] = _ws(workspace)
            if level == "error":
                self._seen(fields["workspace"], FAILED)
        self.emit("diagnostic", **fields)

    def error(self, err: KxplanError, workspace: PlanWorkspace | None = None) -> None:
        self.diagnostic("error", err.message, workspace=workspace, err=err)

    def summary(self, exit_code: int) -> None:
        """The last event: the exit code and what the stream reported, counted."""
        states = list(self._workspaces.values())
        self.emit(
            "summary",
            command=self.command,
            exit_code=exit_code,
            workspaces={"total": len(states), "failed": states.count(FAILED)},
            planned={k: self._planned[k] for k in _ACTIONS},
            outcomes={k: self._outcomes[k] for k in (APPLIED, FAILED, SKIPPED)},
            requests=self.requests,
        )

    def _seen(self, ws: dict[str, Any], state: str) -> None:
        key = (str(ws["id"] or ""), str(ws["title"]))
        if self._workspaces.get(key) != FAILED:
            self._workspaces[key] = state


_ACTIONS = ("create", "update", "move", "delete", "adopt", "replace")


def _ws(workspace: PlanWorkspace | dict[str, Any]) -> dict[str, Any]:
    return {"id": workspace.get("id"), "title": workspace.get("title") or ""}
