"""Renderer behaviour a user notices beyond the golden files: colour, truncation, escaping."""

from __future__ import annotations

import io
import json
import re

import pytest

from kxplan.changes.task import NewTask, TaskCreate
from kxplan.cli import cmd_plan
from kxplan.model import LiveState, LiveTask, LiveWorkspace, Manifest
from kxplan.plan import Change, Plan
from kxplan.planner import build_plan
from kxplan.render import render, render_json, render_markdown, render_text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _unmanaged_plan(n: int) -> Plan:
    tasks = tuple(LiveTask(str(i), f"Task {i}", None) for i in range(1, n + 1))
    live = LiveState(LiveWorkspace("1", "W"), tasks)
    return build_plan(Manifest("m.yaml", "demo", None, ()), live)


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", _Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cmd_plan.use_colour()


def test_no_colour_when_no_color_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", _Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cmd_plan.use_colour()


def test_no_colour_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert not cmd_plan.use_colour()


def test_colour_only_adds_escape_codes() -> None:
    plan = _unmanaged_plan(2)
    coloured = render_text(plan, color=True)
    assert "\x1b[" in coloured
    stripped = coloured
    for code in ("\x1b[1m", "\x1b[33m", "\x1b[0m"):
        stripped = stripped.replace(code, "")
    assert stripped == render_text(plan)


def test_many_unmanaged_tasks_are_counted_not_listed() -> None:
    text = render_text(_unmanaged_plan(25))
    assert text.count("unmanaged: no kxplan marker") == 10
    assert "... and 15 more unmanaged tasks" in text
    assert "... and 15 more unmanaged tasks" in render_markdown(_unmanaged_plan(25))


def _plan_with(change: Change) -> Plan:
    return Plan("demo", "m.yaml", {"id": "1", "title": "W"}, (change,))


def test_long_values_are_cut_in_text_but_whole_in_json() -> None:
    long = "x" * 300
    new: NewTask = {"title": "A", "type": "task", "parent": None, "parent_id": None}
    change = TaskCreate(key="a", after={**new, "description": long})
    plan = _plan_with(change)
    assert long not in render_text(plan) and "…" in render_text(plan)
    assert json.loads(render_json(plan))["changes"][0]["after"]["description"] == long


def test_markdown_escapes_table_syntax() -> None:
    change = TaskCreate(
        key="a", after={"title": "A | B\nC", "type": "task", "parent": None, "parent_id": None}
    )
    row = next(
        line
        for line in render_markdown(_plan_with(change)).splitlines()
        if line.startswith("| `+` | create")
    )
    # the pipe is escaped; the newline stays the JSON escape \n (its backslash escaped)
    assert "A \\| B\\\\nC" in row
    assert len(re.split(r"(?<!\\)\|", row)) == 6  # four cells: the title did not split the row


def test_json_keeps_unicode_and_ends_with_a_newline() -> None:
    plan = Plan("demo", "m.yaml", {"id": "1", "title": "Acme — Onboarding"}, ())
    text = render_json(plan)
    assert "Acme — Onboarding" in text and text.endswith("}\n")


def test_render_dispatches_on_format() -> None:
    plan = _unmanaged_plan(1)
    assert render(plan, "json") == render_json(plan)
    assert render(plan, "markdown") == render_markdown(plan)
    assert render(plan, "text") == render_text(plan)


def test_a_plan_with_only_notes_says_no_changes() -> None:
    assert render_text(_unmanaged_plan(1)).endswith(
        "No changes. The workspace matches the manifest.\n"
    )


def test_markdown_starts_with_a_hidden_marker_no_name_can_close() -> None:
    plan = Plan(
        stack="evil --> <b>x</b>",
        manifest="m.yaml",
        workspace={"id": None, "title": "Acme -->"},
        changes=(),
    )
    first = render_markdown(plan).splitlines()[0]
    assert first == (
        "<!-- kxplan:plan stack=evil%20--%3E%20%3Cb%3Ex%3C%2Fb%3E workspace=Acme%20--%3E -->"
    )
    assert first.count("-->") == 1
