"""The kxplan command lines a CI file runs, checked against the real click CLI.

`invocations(script)` finds every line of a shell script that runs `kxplan ...` and splits
it as the shell would, with each shell expansion replaced by a value of the right shape
(EXPANSIONS). `check(argv)` resolves the command (`kxplan ci comment` -> the `comment`
command of the `ci` group), runs its `--help`, and parses the whole line with click's own
parser: an unknown command or option, a missing value or a value outside a Choice fails.

PENDING names what other slices of issue 14 add (docs/ci.md, "What the kit runs"): until
they are merged, a line using one is reported as pending instead of failing; once they
are, the same line is checked like any other.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import click
from click.testing import CliRunner

from kxplan.cli import cli

#: What a shell expansion stands for on a kxplan line: a value of the right shape.
EXPANSIONS = {
    "${where[@]}": ["--workspace", "Acme — Onboarding"],
    "$KXPLAN_PLAN_ARGS": ["--prune", "--var", "kickoff=2027-01-04"],
    "$KXPLAN_MANIFESTS": ["a.yaml", "b.yaml"],
    "${KXPLAN_MANIFESTS}": ["a.yaml", "b.yaml"],
}

#: (command, option) pairs other slices add today; "" stands for the command itself.
PENDING = frozenset(
    {
        ("show", ""),
        ("fmt", ""),
        ("validate", "--format"),
    }
)

_LINE = re.compile(r"^\s*(?:-\s+)?(?:[A-Z_]+=\S+\s+)*(kxplan\s.*)$")


@dataclass(frozen=True)
class Checked:
    argv: tuple[str, ...]
    pending: str = ""


def invocations(script: str) -> list[list[str]]:
    """The argv of every `kxplan ...` line of `script` (continuation lines joined; a pipe,
    redirection, `;`, `&&` or `||` ends the command)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    found = []
    for line in joined.splitlines():
        match = _LINE.match(line)
        if match:
            found.append(_argv(match.group(1)))
    return found


def _argv(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    words: list[str] = []
    for word in lexer:
        if word and set(word) <= set(";&|<>"):
            break
        raw = word
        if raw in EXPANSIONS:
            words += EXPANSIONS[raw]
        elif "$" in raw:
            words.append(re.sub(r"\$\{?[A-Za-z_][A-Za-z_0-9]*\}?", "x", raw))
        else:
            words.append(raw)
    return words[1:]  # without "kxplan"


def check(argv: list[str]) -> Checked:
    """`argv` (after `kxplan`) parsed by the real CLI; AssertionError saying what is wrong."""
    command: click.Command = cli
    path: list[str] = []
    rest = list(argv)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        sub = command.commands.get(name)
        if sub is None:
            if (name, "") in PENDING:
                return Checked(tuple(argv), f"`kxplan {name}` comes with another slice")
            raise AssertionError(f"kxplan {' '.join(argv)}: no command {name!r}")
        command, path = sub, [*path, name]
    helped = CliRunner().invoke(cli, [*path, "--help"])
    assert helped.exit_code == 0, f"kxplan {' '.join(path)} --help: {helped.output}"
    for word in rest:
        option = word.split("=", 1)[0]
        known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        pending = bool(path) and (path[0], option) in PENDING
        if option.startswith("--") and option not in known and pending:
            return Checked(tuple(argv), f"`kxplan {path[0]} {option}` comes with another slice")
    ctx = command.make_context(path[-1] if path else "kxplan", [], resilient_parsing=True)
    try:
        values, _, order = command.make_parser(ctx).parse_args(list(rest))
    except click.UsageError as err:
        raise AssertionError(f"kxplan {' '.join(argv)}: {err.format_message()}") from None
    for param in order:
        value = values.get(param.name or "")
        if isinstance(param.type, click.Choice) and value is not None:
            assert value in param.type.choices, f"kxplan {' '.join(argv)}: {param.name}={value}"
    return Checked(tuple(argv))
