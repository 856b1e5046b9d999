"""`open_client` and the connection flags against real sandboxes on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kxplan.connection import connection_options, open_client
from kxplan.errors import KxplanError
from kxplan.live import read_live

TOKEN = "kx-RECOGNISABLE-token-9a8b7c6d"


@click.command()
@click.argument("workspace")
@connection_options
def count(
    workspace: str, api_url: str, token_file: Path | None, sandbox: bool, log_level: str
) -> None:
    """Print how many tasks WORKSPACE has."""
    try:
        with open_client(api_url, token_file, sandbox, log_level) as client:
            live = read_live(client, workspace)
    except KxplanError as err:
        raise click.ClickException(err.format()) from err
    click.echo(f"{len(live.tasks)} tasks in {live.requests} requests")


def test_sandbox_flag_keeps_data_in_dot_kxplan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)  # not needed with --sandbox
    with open_client(sandbox=True) as client:
        created = client.post(
            "/workspaces", json={"workspace": {"title": "Kept", "creator_role": "maven"}}
        )
        ws_id = created["results"][0]["id"]
        assert client.base_url.startswith("http://127.0.0.1:")
    assert (tmp_path / ".kxplan" / "sandbox.db").is_file()

    result = CliRunner().invoke(count, [ws_id, "--sandbox"])
    assert result.exit_code == 0, result.output
    assert "0 tasks in 3 requests" in result.output


def test_debug_log_traces_requests_without_the_token(
    make_sandbox: Callable[..., Any], seed_workspace: Callable[..., tuple[str, list[str]]]
) -> None:
    server = make_sandbox(token=TOKEN)
    ws_id, _ = seed_workspace(server, 201)
    result = CliRunner().invoke(
        count,
        [ws_id, "--api-url", server.url, "--log-level", "debug"],
        env={"KANTATA_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    assert "201 tasks in 4 requests" in result.stdout
    query = "include_archived=true&include=external_references"
    wanted = f"GET {server.url}/workspaces/{ws_id}?{query}"
    assert f"{wanted} -> 200" in result.stderr
    assert result.stderr.count("/stories?") == 2
    assert TOKEN not in result.output


def test_a_wrong_token_is_reported_without_echoing_either_token(
    make_sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    server = make_sandbox(token=TOKEN)
    token_file = tmp_path / "token"
    token_file.write_text("wrong-token-55\n")
    result = CliRunner().invoke(
        count, ["1", "--api-url", server.url, "--token-file", str(token_file)]
    )
    assert result.exit_code == 1
    assert "-> 401: the token was rejected" in result.output
    assert "--token-file" in result.output
    assert TOKEN not in result.output and "wrong-token-55" not in result.output
