"""`kxplan completion bash|zsh|fish`: print a shell completion script.

The script is click's own (https://click.palletsprojects.com/en/stable/shell-completion/):
it calls `kxplan` back with `_KXPLAN_COMPLETE=<shell>_complete` set, and `kxplan.cli.main`
answers with the commands, options and choices that fit what was typed so far.
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from kxplan.cli import cli

SHELLS = ("bash", "zsh", "fish")
#: The environment variable click's completion protocol uses for `kxplan`.
COMPLETE_VAR = "_KXPLAN_COMPLETE"


@cli.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL; load it in your shell's start-up file.

    \b
    bash (~/.bashrc):                  eval "$(kxplan completion bash)"
    zsh (~/.zshrc):                    eval "$(kxplan completion zsh)"
    fish (~/.config/fish/completions/kxplan.fish):
                                       kxplan completion fish | source
    """
    click.echo(completion_script(shell), nl=False)


def completion_script(shell: str) -> str:
    """Click's completion script for `kxplan` in `shell` (one of SHELLS)."""
    cls = get_completion_class(shell)
    if cls is None:  # click knows every shell in SHELLS
        raise click.BadParameter(f"no completion for {shell!r}", param_hint="SHELL")
    script = cls(cli, {}, "kxplan", COMPLETE_VAR).source()
    return script if script.endswith("\n") else script + "\n"
