"""The workspace's memory (docs/manifest.md, "The workspace's memory"): the fields kxplan
writes on a workspace are remembered on its marker's `external_message`, so a plan says
whether a difference was made in Kantata since kxplan wrote it or in the manifest, as it
does for tasks; `workspace_origins` tells the same to `kxplan drift`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.live import SharedReads
from kxplan.manifest import load_manifests
from kxplan.planner.workspace import workspace_memory, workspace_origins
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, api, kxplan, write_manifest

TITLE = "Globex — Onboarding"
STACK = "onboarding"


def _doc(**fields: Any) -> dict[str, Any]:
    workspace = {
        "title": TITLE,
        "create": True,
        "description": "Onboarding for Globex",
        "due_date": "2027-04-30",
        **fields,
    }
    return {
        "version": 1,
        "name": STACK,
        "workspace": workspace,
        "tasks": [{"key": "kickoff", "title": "Kickoff"}],
    }


@pytest.fixture
def made(make_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A sandbox in which `apply` created the workspace of `_doc()`."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    server = make_sandbox()
    manifest = write_manifest(tmp_path / "m.yaml", _doc())
    done = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url)
    assert done.code == 0, done.text
    return server, manifest


def _workspace_id(server: SandboxServer) -> int:
    row = server.model.store.one("SELECT id FROM workspaces WHERE title = ?", [TITLE])
    assert row is not None
    return int(row["id"])


def _message(server: SandboxServer) -> str:
    row = server.model.store.one(
        "SELECT external_message FROM external_references WHERE subject_type = 'Workspace' "
        "AND subject_id = ? AND service_model = ?",
        [_workspace_id(server), STACK],
    )
    assert row is not None
    return str(row["external_message"] or "")


def _person_edits(server: SandboxServer, **fields: Any) -> None:
    with api(server) as c:
        r = c.put(f"/workspaces/{_workspace_id(server)}", json={"workspace": fields})
        assert r.status_code == 200, r.text


def _plan_json(server: SandboxServer, manifest: Path) -> dict[str, Any]:
    result = kxplan("plan", manifest, "--api-url", server.url, "--format", "json")
    assert result.code == 0, result.text
    return json.loads(result.out)  # type: ignore[no-any-return]


def _workspace_change(plan: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in plan["changes"] if c["kind"] == "workspace"]
    assert len(found) == 1, plan["changes"]
    return found[0]


def test_the_create_writes_the_memory_and_the_replan_is_empty(made: Any) -> None:
    server, manifest = made
    text = _message(server)
    assert text.startswith("kx1 t=") and " d=" in text and " u=" in text
    again = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text


def test_a_persons_edit_is_told_from_a_manifest_change(made: Any, tmp_path: Path) -> None:
    server, manifest = made
    _person_edits(server, description="Edited by a person")

    change = _workspace_change(_plan_json(server, manifest))
    assert change["origin"] == {"description": "kantata"}
    assert change["after"]["description"] == "Onboarding for Globex"  # the mapping owns it
    text = kxplan("plan", manifest, "--api-url", server.url).out
    assert "changed in Kantata since kxplan wrote it: description" in text

    moved = write_manifest(tmp_path / "m2.yaml", _doc(due_date="2027-05-31"))
    change = _workspace_change(_plan_json(server, moved))
    assert change["origin"] == {"description": "kantata", "due_date": "manifest"}
    assert "changed in the manifest: due_date" in change["reason"]


def test_an_edit_in_both_places_is_both_and_apply_rewrites_the_memory(
    made: Any, tmp_path: Path
) -> None:
    server, _ = made
    _person_edits(server, due_date="2027-06-30")
    moved = write_manifest(tmp_path / "m2.yaml", _doc(due_date="2027-05-31"))
    assert _workspace_change(_plan_json(server, moved))["origin"] == {"due_date": "both"}

    before = _message(server)
    server.log.reset()
    done = kxplan("apply", moved, "--auto-approve", "--api-url", server.url)
    assert done.code == 0, done.text
    assert server.log.count("PUT", "/workspaces/{id}") == 1  # the memory rides in the PUT
    assert _message(server) != before
    again = kxplan("plan", moved, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text
    # A later edit of the new value is the person's again.
    _person_edits(server, due_date="2027-07-31")
    assert _workspace_change(_plan_json(server, moved))["origin"] == {"due_date": "kantata"}


def test_workspace_origins_and_memory_are_there_for_drift(made: Any) -> None:
    server, manifest = made
    _person_edits(server, description="Edited by a person")
    desired = load_manifests([manifest])[0].desired_workspace
    live = SharedReads(KantataClient(server.url, TOKEN)).workspace(TITLE)
    assert live is not None
    memory = workspace_memory(live, STACK)
    assert memory is not None and set(memory.fields) == {"title", "description", "due_date"}
    assert workspace_origins(desired, live, STACK) == {"description": "kantata"}
    assert workspace_memory(live, "another-stack") is None


def test_a_field_without_memory_has_no_origin(made: Any, tmp_path: Path) -> None:
    server, _ = made
    # start_date was never written by kxplan: a difference there has no origin yet.
    started = write_manifest(tmp_path / "m3.yaml", _doc(start_date="2027-02-01"))
    change = _workspace_change(_plan_json(server, started))
    assert change["fields"] == ["start_date"] and "origin" not in change


def test_drift_says_a_workspace_field_was_changed_in_kantata(made: Any) -> None:
    server, manifest = made
    clean = kxplan("drift", manifest, "--api-url", server.url)
    assert clean.code == 0, clean.text
    _person_edits(server, description="Edited by a person")
    writes = server.log.count("PUT") + server.log.count("POST") + server.log.count("DELETE")

    drifted = kxplan("drift", manifest, "--api-url", server.url, "--format", "json")
    assert drifted.code == 2, drifted.text
    doc = json.loads(drifted.out)
    found = json.dumps(doc)
    assert "description" in found and "kantata" in found, doc
    text = kxplan("drift", manifest, "--api-url", server.url).out
    assert "description" in text and "changed in Kantata" in text, text
    assert server.log.count("PUT") + server.log.count("POST") + server.log.count("DELETE") == writes
