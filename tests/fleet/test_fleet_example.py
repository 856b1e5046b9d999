"""examples/fleet/: three client workspaces bootstrapped from scratch with one command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from kxplan.manifest.yaml_loader import read_document
from kxplan.resources import load_schema
from tests.support import kxplan

FLEET = Path(__file__).resolve().parents[2] / "examples" / "fleet"


def test_the_example_fleet_bootstraps_three_workspaces_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FLEET, tmp_path / "fleet")
    monkeypatch.chdir(tmp_path)
    applied = kxplan("apply", "fleet/template.yaml", "--sandbox", "--auto-approve")
    assert applied.code == 0, applied.text
    for client in ("Acme", "Globex", "Initech"):
        assert f'Created workspace "{client} — Onboarding" in the sandbox' in applied.out
    assert "Fleet: 3 workspaces, 3 ok, 0 no changes, 0 failed; 21 added" in applied.out
    table = applied.out.split("applied:", 1)[1]
    for client in ("Acme", "Globex", "Initech"):  # the table names the ids just created
        row = next(line for line in table.splitlines() if f"{client} — Onboarding" in line)
        assert row.split()[3].isdigit(), row
    again = kxplan("plan", "fleet/template.yaml", "--sandbox", "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "Fleet: 3 workspaces, 0 ok, 3 no changes, 0 failed;" in again.out


def test_the_marked_example_satisfies_the_schema_and_validates() -> None:
    doc, problems = read_document(FLEET / "marked.yaml")
    assert problems == [] and doc is not None
    errors = Draft202012Validator(load_schema("manifest.schema.json")).iter_errors(doc.data)
    assert [e.message for e in errors] == []
    result = kxplan("validate", FLEET / "marked.yaml")
    assert result.code == 0, result.text
