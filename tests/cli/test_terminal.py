"""Colour (`--color`, NO_COLOR, FORCE_COLOR) and CI conventions (no progress bar, no tips,
no prompt) as a user sees them in plan and apply output."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from kxplan.cli.terminal import use_colour
from tests.support import TOKEN, kxplan, run_on_terminal, tree, write_manifest

ANSI = "\x1b["


class Terminal(io.StringIO):
    """Output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def manifest(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    sandbox.model.create_workspace("Big")
    return write_manifest(tmp_path / "m.yaml", tree((2,)))


@pytest.mark.parametrize(
    ("flag", "env", "coloured"),
    [
        (None, {}, False),  # not a terminal
        ("always", {}, True),
        ("never", {"FORCE_COLOR": "1"}, False),  # the flag wins
        ("always", {"NO_COLOR": "1"}, True),
        (None, {"FORCE_COLOR": "1"}, True),
        (None, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR before FORCE_COLOR
        (None, {"NO_COLOR": "", "FORCE_COLOR": "yes"}, True),  # an empty value is not set
    ],
)
def test_plan_colour_follows_the_flag_then_no_color_then_force_color(
    sandbox: Any,
    manifest: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    env: dict[str, str],
    coloured: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["plan", str(manifest), "--api-url", sandbox.url]
    result = kxplan(*args, *(["--color", flag] if flag else []))
    assert result.code == 0, result.text
    assert "Plan: 2 to add" in result.out
    assert (ANSI in result.out) is coloured


def test_apply_takes_color_too(sandbox: Any, manifest: Path) -> None:
    result = kxplan(
        "apply", manifest, "--api-url", sandbox.url, "--auto-approve", "--color", "always"
    )
    assert result.code == 0, result.text
    assert ANSI in result.out and "Apply complete: 2 added" in result.out


def test_an_unknown_color_value_is_refused_before_any_request(sandbox: Any, manifest: Path) -> None:
    result = kxplan("plan", manifest, "--api-url", sandbox.url, "--color", "sometimes")
    assert result.code == 1
    assert "'sometimes' is not one of 'auto', 'always', 'never'" in result.err
    assert sandbox.log.count() == 0


def test_on_a_terminal_colour_is_on_unless_no_color_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert use_colour(Terminal()) is True
    assert use_colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Terminal()) is False
    assert use_colour(Terminal(), choice="always") is True


def test_a_saved_plan_tells_what_to_run_next_but_not_in_ci(
    sandbox: Any, manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "plan.json"
    args = ("plan", manifest, "--api-url", sandbox.url, "--out", out)
    assert f"Apply exactly this plan with: kxplan apply {out}" in kxplan(*args).err
    monkeypatch.setenv("CI", "true")
    in_ci = kxplan(*args)
    assert in_ci.code == 0
    assert f"Saved the plan to {out}." in in_ci.err
    assert "Apply exactly" not in in_ci.err


def test_in_ci_apply_without_auto_approve_refuses_even_on_a_terminal(
    sandbox: Any, manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "1")
    code, text = run_on_terminal(["apply", str(manifest), "--api-url", sandbox.url], "y")
    assert code == 1
    assert "refusing to apply: CI is set, so there is no one to confirm the plan" in text
    assert "Apply these changes?" not in text
    assert sandbox.log.count("POST") == 0


def test_in_ci_a_long_apply_draws_no_progress_bar(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "m.yaml", tree((10, 30)))
    monkeypatch.setenv("CI", "1")
    args = ["apply", str(manifest), "--api-url", sandbox.url, "--auto-approve"]
    code, text = run_on_terminal(args, "")
    assert code == 0, text
    assert "Apply complete: 40 added" in text
    assert "Applying" not in text and "100%" not in text
