"""`connection_options` and `open_client`, without a server."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kxplan.connection import DEFAULT_API_URL, connection_options, open_client, read_token
from kxplan.errors import KxplanError, UsageError

TOKEN = "tok-SECRET-77aa-connection"


@click.command()
@connection_options
def show(api_url: str, token_file: Path | None, sandbox: bool, log_level: str) -> None:
    """Echo what the options resolved to, then try to connect."""
    click.echo(f"url={api_url} sandbox={sandbox} level={log_level}")
    try:
        with open_client(api_url, token_file, sandbox, log_level) as client:
            click.echo(f"client={client.base_url}")
    except KxplanError as err:
        click.echo(err.format())


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    result = CliRunner().invoke(show, [])
    assert f"url={DEFAULT_API_URL} sandbox=False level=warning" in result.output
    assert f"client={DEFAULT_API_URL}" in result.output
    result = CliRunner().invoke(show, [], env={"KANTATA_API_URL": "https://eu.example.test/api/v1"})
    assert "client=https://eu.example.test/api/v1" in result.output
    assert TOKEN not in result.output


def test_missing_token_names_the_env_var_and_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    result = CliRunner().invoke(show, [])
    assert "no API token: set KANTATA_TOKEN or pass --token-file PATH" in result.output
    assert "--sandbox" in result.output


def test_token_file_first_line_wins_over_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", "from-env")
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}  \nsecond line\n")
    assert read_token(path) == TOKEN
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        read_token(tmp_path / "empty")


def test_plain_http_to_a_remote_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    result = CliRunner().invoke(show, ["--api-url", "http://kantata.example.com/api/v1"])
    assert "refusing to send the API token over plain http" in result.output
    assert "client=" not in result.output
    result = CliRunner().invoke(show, ["--api-url", "http://127.0.0.1:9/api/v1"])
    assert "client=http://127.0.0.1:9/api/v1" in result.output


def test_log_level_is_validated() -> None:
    result = CliRunner().invoke(show, ["--log-level", "loud"])
    assert result.exit_code == 2
    assert "'loud' is not one of" in result.output
