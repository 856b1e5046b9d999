"""`kxplan completion bash|zsh|fish`, and completing a command name through click's
completion protocol (driven in-process, as the shell script calls kxplan back)."""

from __future__ import annotations

import contextlib
import io

import pytest

from kxplan.cli import main
from tests.support import kxplan
from tests.support.cli import Result


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _kxplan_completion kxplan"),
        ("zsh", "compdef _kxplan_completion kxplan"),
        ("fish", "complete --no-files --command kxplan"),
    ],
)
def test_each_shell_gets_a_script_that_calls_kxplan_back(shell: str, marker: str) -> None:
    result = kxplan("completion", shell)
    assert result.code == 0, result.text
    assert marker in result.out
    assert f"_KXPLAN_COMPLETE={shell}_complete" in result.out


def test_an_unknown_shell_is_refused() -> None:
    result = kxplan("completion", "tcsh")
    assert result.code == 1
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.err


def _complete() -> Result:
    """`kxplan` run as a shell's completion calls it: on a stdout that, like a real one, has
    a binary buffer underneath (click 8.5 writes the completions as bytes)."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            main([])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out.flush()
    return Result(code, raw.getvalue().decode("utf-8"), "")


def test_completing_pl_offers_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_KXPLAN_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "kxplan pl")
    monkeypatch.setenv("COMP_CWORD", "1")
    result = _complete()
    assert result.code == 0
    assert result.out.splitlines() == ["plain,plan"]


def test_completing_an_option_value_offers_its_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_KXPLAN_COMPLETE", "zsh_complete")
    monkeypatch.setenv("COMP_WORDS", "kxplan plan m.yaml --color ")
    monkeypatch.setenv("COMP_CWORD", "4")
    result = _complete()
    assert result.code == 0
    offered = result.out.splitlines()[1::3]  # zsh: type, value, help for each
    assert offered == ["auto", "always", "never"]
