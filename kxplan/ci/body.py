"""A saved plan as the Markdown of a pull-request comment or a job summary, offline.

The Markdown is the renderer's (`kxplan.render.render(plan, "markdown")`, and for a saved
fleet plan `kxplan.fleet.report.render_fleet`): what `kxplan plan --format markdown`
printed for that plan. Its first line is a hidden marker naming the stack and workspace
(`comment_marker`), which is how `kxplan ci comment` finds the comment it wrote before.

GitHub holds at most 65,536 characters in a comment and 1 MiB in a step's job summary
(docs/ci.md, "What kxplan relies on about GitHub"); `fit` cuts a longer text at a line,
closes what the cut left open (a code fence, `<details>`), and says what was left out and
where the full plan is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kxplan.errors import UsageError
from kxplan.inputfile import InputFileError, decode_utf8, read_input
from kxplan.plan import FORMAT_VERSION, Plan
from kxplan.render import render
from kxplan.render.markdown import comment_marker

#: The most characters GitHub keeps in an issue or pull-request comment.
COMMENT_LIMIT = 65_536
#: The most bytes of one step's job summary (GITHUB_STEP_SUMMARY).
SUMMARY_LIMIT = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PlanMarkdown:
    """The Markdown of one saved plan. `marker` is its first line."""

    marker: str
    text: str


def saved_plan_markdown(path: Path) -> PlanMarkdown:
    """The Markdown of the saved plan (or saved fleet plan) at `path`; no request is made.

    A file that is not a saved plan is a UsageError saying how to make one.
    """
    data = _read_saved(path)
    if data.get("fleet_format") is not None:
        return _fleet_markdown(path, data)
    try:
        plan = Plan.from_json(data)
    except (KeyError, TypeError, ValueError) as err:
        raise _not_a_plan(path, f"unreadable plan: {err}") from None
    return _with_marker(comment_marker(plan), render(plan, "markdown"))


def fleet_marker(stack: str) -> str:
    """The hidden first line of a fleet's comment (one comment for the whole fleet): the
    plan marker with `*` as the workspace, which no percent-encoded workspace can be."""
    return f"<!-- kxplan:plan stack={quote(stack, safe='')} workspace=* -->"


def _with_marker(marker: str, text: str) -> PlanMarkdown:
    """`text` with `marker` as its first line: the renderer's own marker line replaced (it
    is the same for a plan; a fleet's names its stack from the saved plan), else added."""
    first, _, rest = text.partition("\n")
    if first.startswith("<!-- kxplan:") and first.endswith("-->"):
        text = rest
    return PlanMarkdown(marker, f"{marker}\n{text}")


def _read_saved(path: Path) -> dict[str, Any]:
    try:
        text = decode_utf8(read_input(path, "plan file"))
    except InputFileError as err:
        raise UsageError(f"{path}: {err.message}", hint=err.hint) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _not_a_plan(path, f"line {err.lineno}, column {err.colno}: {err.msg}") from None
    if not isinstance(data, dict):
        raise _not_a_plan(path, "not a JSON object")
    if data.get("format_version") != FORMAT_VERSION:
        found = data.get("format_version")
        raise _not_a_plan(path, f"plan format_version {found!r} is not {FORMAT_VERSION!r}")
    return data


def _not_a_plan(path: Path, why: str) -> UsageError:
    return UsageError(
        f"{path}: not a saved plan ({why})",
        hint="make one with `kxplan plan MANIFEST --out PLANFILE` and pass that file",
    )


def _fleet_markdown(path: Path, data: Mapping[str, Any]) -> PlanMarkdown:
    # Imported here: the fleet package is only needed for a fleet.
    from kxplan.fleet.report import render_fleet
    from kxplan.fleet.saved import read_saved_fleet

    fleet = read_saved_fleet(path, data)  # as `kxplan show` reads it
    text = render_fleet(fleet.outcomes, "markdown", f"Fleet {fleet.stack!r}: plan", applied=False)
    return _with_marker(fleet_marker(fleet.stack), text)


# --------------------------------------------------------------------------- size


def utf16_units(text: str) -> int:
    """Characters as GitHub's limit may count them: UTF-16 code units, never fewer than
    code points, so a text within this count is within the limit either way."""
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def fit_comment(body: PlanMarkdown, plan_file: str = "PLANFILE") -> str:
    """The comment: the whole Markdown, or cut to COMMENT_LIMIT characters."""
    where = (
        f"The full plan is in the job summary and in the saved plan "
        f"(`kxplan show {plan_file} --format markdown`)."
    )
    return fit(body.text, COMMENT_LIMIT, utf16_units, where, "GitHub comments hold")


def fit_summary(body: PlanMarkdown, plan_file: str = "PLANFILE") -> str:
    """The job summary: the whole Markdown, or cut to SUMMARY_LIMIT bytes."""
    where = f"The full plan is in the saved plan (`kxplan show {plan_file}`)."
    return fit(body.text, SUMMARY_LIMIT, utf8_bytes, where, "A job summary holds")


def fit(
    text: str,
    limit: int,
    measure: Callable[[str], int],
    where: str,
    holds: str = "This text holds",
) -> str:
    """`text` if `measure(text) <= limit`; else its first lines, whatever the cut left open
    closed again, and a last line saying how many lines were left out and `where` the rest is.
    The first line (the hidden marker) is always kept."""
    if measure(text) <= limit:
        return text
    lines = text.splitlines(keepends=True)
    open_ = _Open()
    used, n = 0, 0
    for line in lines:
        after = open_.after(line)
        tail = after.closing(line) + _notice(len(lines) - n - 1, limit, where, holds)
        if n and used + measure(line) + measure(tail) > limit:
            break
        open_, used, n = after, used + measure(line), n + 1
    last = lines[n - 1]
    return "".join(lines[:n]) + open_.closing(last) + _notice(len(lines) - n, limit, where, holds)


@dataclass(frozen=True, slots=True)
class _Open:
    """What the lines so far leave open: a code fence, and how many `<details>`."""

    fenced: bool = False
    details: int = 0

    def after(self, line: str) -> _Open:
        stripped = line.strip()
        if stripped.startswith("```"):
            return _Open(not self.fenced, self.details)
        if self.fenced:
            return self
        opened = stripped.count("<details") - stripped.count("</details>")
        return _Open(False, max(self.details + opened, 0))

    def closing(self, last: str) -> str:
        """What closes them, after the kept line `last`."""
        out = "" if last.endswith("\n") else "\n"
        if self.fenced:
            out += "```\n"
        return out + "</details>\n" * self.details


def _notice(left: int, limit: int, where: str, holds: str) -> str:
    lines = "line" if left == 1 else "lines"
    return f"\n> **Truncated:** {left} more {lines} left out ({holds} at most {limit:,}). {where}\n"
