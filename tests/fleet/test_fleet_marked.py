"""A fleet by marker: every workspace carrying the stack's workspace marker."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import kxplan
from tests.support.fleets import TEMPLATE, client_of, fleet_site, titles

MARKED = TEMPLATE.format(entries="", extra="").replace(
    "workspaces:\n\n", "workspaces: {marked: true, vars: {client: Partner}}\n"
)


def _mark(server: SandboxServer, workspace_id: str, stack: str) -> None:
    body = {
        "external_reference": {
            "subject_type": "Workspace",
            "subject_id": int(workspace_id),
            "service_name": "kxplan",
            "service_model": stack,
            "service_model_ref": "workspace",
        }
    }
    with client_of(server) as client:
        client.request("POST", "/external_references/create_or_update", json=body)


@pytest.fixture
def marked(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[SandboxServer, dict[str, str], Path]:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    _mark(sandbox, ids["Acme"], "onboarding")
    _mark(sandbox, ids["Initech"], "onboarding")
    _mark(sandbox, ids["Globex"], "another-stack")
    path = tmp_path / "marked.yaml"
    path.write_text(MARKED, encoding="utf-8")
    return sandbox, ids, path


def test_the_marked_workspaces_are_the_fleet_found_without_listing_workspaces(
    marked: tuple,
) -> None:
    server, ids, path = marked
    server.log.reset()
    result = kxplan("apply", path, "--api-url", server.url, "--auto-approve")
    assert result.code == 0, result.text
    assert f'=== Workspace "Acme — Onboarding" (id {ids["Acme"]}) ===' in result.out
    assert f'=== Workspace "Initech — Onboarding" (id {ids["Initech"]}) ===' in result.out
    assert "Globex" not in result.out
    assert "Kickoff with Partner" in titles(server, ids["Acme"])
    assert titles(server, ids["Globex"]) == {}
    assert server.log.count("GET", "/workspaces") == 0  # by id, never the whole account
    assert server.log.count("GET", "/external_references") >= 1


def test_workspace_picks_a_marked_workspace_by_title(marked: tuple) -> None:
    server, ids, path = marked
    result = kxplan("plan", path, "--api-url", server.url, "--workspace", "Initech — Onboarding")
    assert result.code == 0, result.text
    assert result.out.count("=== Workspace") == 1
    assert f"(id {ids['Initech']})" in result.out


def test_a_workspace_that_is_not_marked_is_named_with_the_marked_ones(marked: tuple) -> None:
    server, ids, path = marked
    result = kxplan("plan", path, "--api-url", server.url, "--workspace", "Globex — Onboarding")
    assert result.code == 1
    assert f"its marked workspaces: '{ids['Acme']}', '{ids['Initech']}'" in result.err


def test_nothing_marked_yet_is_an_empty_fleet(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fleet_site(sandbox, monkeypatch, tmp_path)
    path = tmp_path / "marked.yaml"
    path.write_text(MARKED, encoding="utf-8")
    result = kxplan("plan", path, "--api-url", sandbox.url, "--detailed-exitcode")
    assert result.code == 0, result.text
    assert "No workspace carries the workspace marker of stack 'onboarding' yet" in result.err
    assert "Fleet: 0 workspaces" in result.out


def test_a_bad_marked_form_is_an_error_at_its_line_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "marked.yaml"
    path.write_text(MARKED.replace("marked: true", "marked: yes please"), encoding="utf-8")
    result = kxplan("plan", path, "--api-url", "http://127.0.0.1:9/api/v1")
    assert result.code == 1
    assert f"{path}:6:" in result.err and "marked" in result.err
