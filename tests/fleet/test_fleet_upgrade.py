"""Template upgrades: a changed template reaches every workspace of the fleet, each diff
honouring what people did there."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import kxplan
from tests.support.fleets import CLIENTS, client_of, fleet_site, title, titles, write_fleet


def _upgrade(fleet: Path) -> None:
    """Add a task, rename one (renamed_from), change a date."""
    text = fleet.read_text(encoding="utf-8")
    text = text.replace(
        "  - key: kickoff\n    title: Kickoff with ${client}\n",
        "  - key: kickoff-call\n    renamed_from: [kickoff]\n"
        "    title: Kickoff call with ${client}\n",
    )
    text = text.replace("due_date: ${kickoff + 2w}", "due_date: ${kickoff + 3w}")
    fleet.write_text(text + "  - key: wrap-up\n    title: Wrap-up\n", encoding="utf-8")


def test_a_template_change_rolls_out_to_the_whole_fleet(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml")
    assert kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve").code == 0
    # A person writes notes on a task in Globex and starts it.
    before = titles(sandbox, ids["Globex"])
    interviews = before["Stakeholder interviews"]
    with client_of(sandbox) as client:
        body = {"story": {"description": "Notes from the client", "state": "started"}}
        client.request("PUT", f"/stories/{interviews['id']}", json=body)
    _upgrade(fleet)

    planned = kxplan("plan", fleet, "--api-url", sandbox.url, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    for i, client in enumerate(CLIENTS):
        section = planned.out.split(f'=== Workspace "{title(client)}" (id {ids[client]}) ===')[1]
        section = section.split("=== Workspace")[0].split("Fleet '")[0]
        assert "+ task wrap-up" in section
        assert f'title  "Kickoff with {client}" -> "Kickoff call with {client}"' in section
        assert f'due_date  "2027-0{i + 1}-18" -> "2027-0{i + 1}-25"' in section
        assert "description" not in section and "state" not in section
        assert "Plan: 1 to add, 2 to change, 0 to move, 0 to delete." in section
    assert "Fleet: 3 workspaces, 3 ok, 0 no changes, 0 failed; 3 to add, 6 to change" in planned.out

    applied = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve")
    assert applied.code == 0, applied.text
    assert applied.out.count("Verified: the workspace matches the manifest.") == 3
    globex = titles(sandbox, ids["Globex"])
    assert globex["Stakeholder interviews"]["description"] == "Notes from the client"
    assert globex["Stakeholder interviews"]["state"] == "started"
    # renamed_from: the same story, renamed (not deleted and created again)
    assert globex["Kickoff call with Globex"]["id"] == before["Kickoff with Globex"]["id"]
    assert len(globex) == 4
    again = kxplan("plan", fleet, "--api-url", sandbox.url, "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "Fleet: 3 workspaces, 0 ok, 3 no changes, 0 failed;" in again.out
