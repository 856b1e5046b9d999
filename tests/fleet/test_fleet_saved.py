"""Saved plans of a whole fleet: one file, each workspace checked and applied on its own."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from kxplan.resources import load_schema
from kxplan.sandbox import SandboxServer
from tests.support import kxplan
from tests.support.fleets import CLIENTS, client_of, fleet_site, titles, write_fleet


def _bootstrap(server: SandboxServer, fleet: Path) -> None:
    result = kxplan("apply", fleet, "--api-url", server.url, "--auto-approve")
    assert result.code == 0, result.text


def test_a_saved_fleet_plan_validates_against_its_schema(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml")
    result = kxplan("plan", fleet, "--api-url", sandbox.url, "--out", "fleet.plan.json")
    assert result.code == 0, result.text
    assert "Saved the fleet's plans to fleet.plan.json" in result.err
    saved = json.loads((tmp_path / "fleet.plan.json").read_text(encoding="utf-8"))
    plan_schema = load_schema("plan.schema.json")
    registry = Registry().with_resource(plan_schema["$id"], Resource.from_contents(plan_schema))
    validator = jsonschema.Draft202012Validator(
        load_schema("fleet-plan.schema.json"), registry=registry
    )
    validator.validate(saved)
    assert [w["plan"]["binding"]["workspace"]["title"] for w in saved["workspaces"]] == [
        f"{c} — Onboarding" for c in CLIENTS
    ]


def test_a_stale_workspace_is_refused_and_the_others_apply(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml")
    _bootstrap(sandbox, fleet)
    text = fleet.read_text(encoding="utf-8").replace(
        "title: Discovery\n", "title: Discovery phase\n"
    )
    fleet.write_text(text + "  - key: wrap-up\n    title: Wrap-up\n", encoding="utf-8")
    planned = kxplan("plan", fleet, "--api-url", sandbox.url, "--out", "fleet.plan.json")
    assert planned.code == 0, planned.text
    # Someone edits Discovery, which the plan changes, in Globex after the plan was saved.
    discovery = titles(sandbox, ids["Globex"])["Discovery"]
    with client_of(sandbox) as client:
        body = {"story": {"title": "Discovery (client's)"}}
        client.request("PUT", f"/stories/{discovery['id']}", json=body)
    result = kxplan("apply", "fleet.plan.json", "--api-url", sandbox.url, "--auto-approve")
    assert result.code == 1, result.text
    heading = f'=== Workspace "Globex — Onboarding" (id {ids["Globex"]}) ===\n'
    globex = result.out.split(heading)[-1].split("===")[0]
    assert "Error: the saved plan is stale" in globex, globex
    assert "Wrap-up" not in titles(sandbox, ids["Globex"])
    for client in ("Acme", "Initech"):
        assert "Wrap-up" in titles(sandbox, ids[client])
    assert result.out.count("Verified: the workspace matches the manifest.") == 2
    assert "1 of 3 workspaces of the fleet failed: 'Globex — Onboarding'" in result.err


def test_a_saved_fleet_plan_refuses_flags_that_shape_a_plan(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml")
    assert kxplan("plan", fleet, "--api-url", sandbox.url, "--out", "p.json").code == 0
    result = kxplan("apply", "p.json", "--api-url", sandbox.url, "--auto-approve", "--prune")
    assert result.code == 1
    assert "--prune cannot be used with a saved plan" in result.err
    assert all(titles(sandbox, i) == {} for i in ids_of(sandbox))


def ids_of(server: SandboxServer) -> list[str]:
    with client_of(server) as client:
        return [str(w["id"]) for w in client.get_all("/workspaces", {})]
