"""`kxplan plan|apply` of a fleet: sections, the one aggregate, --workspace, isolation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kxplan.lock import WorkspaceLock
from kxplan.sandbox import SandboxServer
from tests.support import kxplan
from tests.support.fleets import CLIENTS, client_of, fleet_site, title, titles, write_fleet


@pytest.fixture
def site(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[SandboxServer, dict[str, str], Path]:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    return sandbox, ids, write_fleet(tmp_path / "fleet.yaml")


def test_plan_shows_a_section_per_workspace_then_one_table(site: tuple) -> None:
    server, ids, fleet = site
    result = kxplan("plan", fleet, "--api-url", server.url, "--detailed-exitcode")
    assert result.code == 2, result.text
    for client in CLIENTS:
        assert f'=== Workspace "{title(client)}" (id {ids[client]}) ===' in result.out
        assert f'+ task kickoff\n      title       "Kickoff with {client}"' in result.out
    table = result.out.split("Fleet 'onboarding': plan:\n")[1].splitlines()
    assert table[0].split() == ["WORKSPACE", "ID", "ADD", "CHANGE", "MOVE", "DELETE", "STATUS"]
    assert table[1].split() == ["Acme", "—", "Onboarding", ids["Acme"], "3", "0", "0", "0", "ok"]
    assert table[4] == (
        "Fleet: 3 workspaces, 3 ok, 0 no changes, 0 failed; "
        "9 to add, 0 to change, 0 to move, 0 to delete."
    )
    assert result.out.count("Fleet 'onboarding'") == 1


def test_markdown_has_a_heading_per_workspace_and_a_table(site: tuple) -> None:
    server, ids, fleet = site
    result = kxplan("plan", fleet, "--api-url", server.url, "--format", "markdown")
    assert result.code == 0, result.text
    assert f'## Workspace "Globex — Onboarding" (id {ids["Globex"]})' in result.out
    assert "| Workspace | ID | Add | Change | Move | Delete | Status |" in result.out
    assert f"| Initech — Onboarding | {ids['Initech']} | 3 | 0 | 0 | 0 | ok |" in result.out


def test_json_is_one_document_with_every_plan_and_the_aggregate(site: tuple) -> None:
    server, ids, fleet = site
    result = kxplan("plan", fleet, "--api-url", server.url, "--format", "json")
    assert result.code == 0, result.text
    doc = json.loads(result.out)
    assert doc["fleet"] == {"manifest": str(fleet), "stack": "onboarding", "marked": False}
    assert [w["workspace"]["id"] for w in doc["workspaces"]] == [ids[c] for c in CLIENTS]
    assert [w["plan"]["summary"]["create"] for w in doc["workspaces"]] == [3, 3, 3]
    assert doc["summary"] == {
        "workspaces": 3, "ok": 3, "no_changes": 0, "failed": 0,
        "create": 9, "update": 0, "move": 0, "delete": 0,
    }  # fmt: skip


def test_apply_then_plan_is_empty_everywhere(site: tuple) -> None:
    server, ids, fleet = site
    applied = kxplan("apply", fleet, "--api-url", server.url, "--auto-approve")
    assert applied.code == 0, applied.text
    assert applied.out.count("Verified: the workspace matches the manifest.") == 3
    assert "Fleet: 3 workspaces, 3 ok, 0 no changes, 0 failed; 9 added" in applied.out
    assert set(titles(server, ids["Globex"])) == {
        "Kickoff with Globex",
        "Discovery",
        "Stakeholder interviews",
    }
    again = kxplan("plan", fleet, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "Fleet: 3 workspaces, 0 ok, 3 no changes, 0 failed;" in again.out


def test_apply_without_a_terminal_asks_once_and_refuses_before_any_write(site: tuple) -> None:
    server, ids, fleet = site
    result = kxplan("apply", fleet, "--api-url", server.url)
    assert result.code == 1
    assert "refusing to apply: there is no terminal" in result.err
    assert result.out.count("=== Workspace") == 3  # the whole fleet's plan was shown
    assert all(titles(server, i) == {} for i in ids.values())


def test_workspace_picks_one_entry(site: tuple) -> None:
    server, ids, fleet = site
    result = kxplan("apply", fleet, "--api-url", server.url, "--auto-approve",
                    "--workspace", "Globex — Onboarding")  # fmt: skip
    assert result.code == 0, result.text
    assert result.out.count("=== Workspace") == 2  # the plan, then the apply: one workspace
    assert "Kickoff with Globex" in titles(server, ids["Globex"])
    assert titles(server, ids["Acme"]) == {}


def test_workspace_that_is_no_entry_names_the_entries_before_any_request(site: tuple) -> None:
    _, _, fleet = site
    # No request: the API URL given is a closed port.
    result = kxplan("plan", fleet, "--api-url", "http://127.0.0.1:9/api/v1", "--workspace", "Hooli")
    assert result.code == 1
    assert "--workspace 'Hooli' is not a workspace of the fleet" in result.err
    assert "'Acme — Onboarding', 'Globex — Onboarding', 'Initech — Onboarding'" in result.err


def test_a_missing_workspace_fails_alone_and_the_run_exits_1(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml", (*CLIENTS[:1], "Hooli", *CLIENTS[1:]))
    result = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve")
    assert result.code == 1, result.text
    assert "workspace 'Hooli — Onboarding' was not found" in result.out
    assert "failed: workspace 'Hooli — Onboarding' was not found" in result.out
    assert "1 of 4 workspaces of the fleet failed: 'Hooli — Onboarding'" in result.err
    for client in CLIENTS:
        assert f"Kickoff with {client}" in titles(sandbox, ids[client])


def test_a_workspace_another_apply_holds_fails_alone(site: tuple) -> None:
    server, ids, fleet = site
    with client_of(server) as client:
        other = WorkspaceLock(client, ids["Globex"], title("Globex"), ttl=600)
        other.acquire(0)
        try:
            result = kxplan("apply", fleet, "--api-url", server.url, "--auto-approve")
        finally:
            other.release()
    assert result.code == 1, result.text
    row = next(line for line in result.out.splitlines() if line.startswith("  Globex"))
    assert row.endswith('failed: workspace "Globex — Onboarding" (41002) is locked by …')
    assert 'Error: workspace "Globex — Onboarding" (41002) is locked by another' in result.out
    assert titles(server, ids["Globex"]) == {}
    assert "Kickoff with Acme" in titles(server, ids["Acme"])
    assert "Kickoff with Initech" in titles(server, ids["Initech"])
    assert "1 of 3 workspaces of the fleet failed: 'Globex — Onboarding'" in result.err


def test_a_fleet_with_other_manifests_is_refused(site: tuple, tmp_path: Path) -> None:
    server, _, fleet = site
    other = tmp_path / "one.yaml"
    other.write_text("version: 1\nname: x\nworkspace: A\ntasks: []\n", encoding="utf-8")
    result = kxplan("plan", other, fleet, "--api-url", server.url)
    assert result.code == 1
    assert "is a fleet (workspaces:): it is planned and applied on its own" in result.err


def test_apply_format_json_prints_one_document_and_talks_on_stderr(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml", (*CLIENTS[:2], "Hooli"))
    result = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve", "--format", "json")
    assert result.code == 1, result.text
    doc = json.loads(result.out)
    assert [w["status"] for w in doc["workspaces"]] == ["ok", "ok", "failed"]
    assert [w["applied"] for w in doc["workspaces"][:2]] == [
        {"create": 3, "update": 0, "move": 0, "delete": 0, "adopt": 0, "keep": 0}
    ] * 2
    assert doc["workspaces"][2]["reason"] == "workspace 'Hooli — Onboarding' was not found"
    assert doc["summary"]["failed"] == 1 and doc["summary"]["create"] == 6
    assert '=== Workspace "Acme — Onboarding"' in result.err


def test_apply_with_nothing_to_do_shows_the_table_once_and_asks_nothing(site: tuple) -> None:
    server, _, fleet = site
    assert kxplan("apply", fleet, "--api-url", server.url, "--auto-approve").code == 0
    result = kxplan("apply", fleet, "--api-url", server.url)  # no terminal: nothing to ask
    assert result.code == 0, result.text
    assert result.out.count("Fleet 'onboarding': plan:\n  WORKSPACE") == 1
    assert "Fleet: 3 workspaces, 0 ok, 3 no changes, 0 failed;" in result.out


def test_the_table_stays_in_line_with_wide_characters_in_a_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # --sandbox keeps its data under .kxplan/
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "version: 1\nname: f\nworkspaces:\n"
        '  - workspace: {title: "東京 — 計画", create: true}\n'
        '  - workspace: {title: "Acme", create: true}\n'
        "tasks:\n  - title: A\n",
        encoding="utf-8",
    )
    result = kxplan("plan", "--sandbox", str(path))
    assert result.code == 0, result.text
    head, tokyo, acme = (
        line
        for line in result.text.splitlines()
        if line.lstrip().startswith(("WORKSPACE", "東京", "Acme"))
    )

    def columns_before(line: str, text: str) -> int:  # terminal columns, wide characters 2
        before = line[: line.index(text)]
        return len(before) + sum(1 for c in before if "\u3000" <= c <= "\u9fff")

    assert columns_before(tokyo, "-") == columns_before(acme, "-") == columns_before(head, "ID")
    assert tokyo.endswith("ok") and acme.endswith("ok")
