"""The workspace itself (docs/manifest.md, "The workspace mapping form"): `create: true`
plans `+ workspace` and apply creates exactly one, marked, under every creator_role answer;
the mapping's fields are managed with `~ workspace`; a missing workspace without
`create: true` is an error before any write."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from kxplan.sandbox.faults import Decision
from kxplan.sandbox.variants import Variants
from tests.support import TOKEN, kxplan, write_manifest

from .scenario import base

TITLE = "Globex — Onboarding"
STACK_WS = {"title": TITLE, "create": True, "description": "Onboarding for Globex"}


def _doc(**workspace: Any) -> dict[str, Any]:
    doc = base()
    doc["workspace"] = {
        **STACK_WS,
        "start_date": "2027-02-01",
        "due_date": "2027-04-30",
        **workspace,
    }
    return doc


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _workspaces(server: SandboxServer, title: str = TITLE) -> list[dict[str, Any]]:
    return server.model.store.all("SELECT * FROM workspaces WHERE title = ?", [title])


def _markers(server: SandboxServer, workspace_id: int) -> list[tuple[str, str, str]]:
    rows = server.model.store.all(
        "SELECT * FROM external_references WHERE subject_type = 'Workspace' AND subject_id = ? "
        "AND service_name = 'kxplan'",
        [workspace_id],
    )
    return [(r["service_name"], r["service_model"], r["service_model_ref"]) for r in rows]


def _count(tasks: list[dict[str, Any]]) -> int:
    return sum(1 + _count(t.get("children", [])) for t in tasks)


def _apply(server: SandboxServer, manifest: Path, *extra: str) -> Any:
    return kxplan("apply", manifest, "--auto-approve", "--api-url", server.url, *extra)


def test_plan_shows_the_workspace_create_first_then_the_tree(make_sandbox: Any, env: Path) -> None:
    server = make_sandbox()
    manifest = write_manifest(env / "m.yaml", _doc())
    result = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert result.code == 2, result.text
    lines = [line.strip() for line in result.out.splitlines() if line.strip()]
    first_change = next(line for line in lines if line[:1] in "+~-")
    assert first_change == f'+ workspace "{TITLE}"'
    assert '"Onboarding for Globex"' in result.out and '"2027-04-30"' in result.out
    assert "+ task discovery" in result.out
    assert server.log.count("POST") + server.log.count("PUT") == 0


def test_json_and_markdown_and_saved_plans_carry_the_create(make_sandbox: Any, env: Path) -> None:
    server = make_sandbox()
    manifest = write_manifest(env / "m.yaml", _doc())
    shown = kxplan("plan", manifest, "--api-url", server.url, "--format", "json")
    plan = json.loads(shown.out)
    first = plan["changes"][0]
    assert (first["kind"], first["action"], first["key"]) == ("workspace", "create", TITLE)
    assert first["after"]["due_date"] == "2027-04-30"
    assert plan["workspace"]["id"] is None
    md = kxplan("plan", manifest, "--api-url", server.url, "--format", "markdown")
    assert f'workspace "{TITLE}"' in md.out
    saved = env / "plan.json"
    assert kxplan("plan", manifest, "--api-url", server.url, "--out", saved).code == 0
    applied = kxplan("apply", saved, "--auto-approve", "--api-url", server.url)
    assert applied.code == 0, applied.text
    assert len(_workspaces(server)) == 1


@pytest.mark.parametrize("role", ["any", "enum", "legacy"])
def test_apply_creates_exactly_one_marked_workspace_under_each_creator_role(
    make_sandbox: Any, env: Path, role: str
) -> None:
    server = make_sandbox(variants=Variants(creator_role=role))
    manifest = write_manifest(env / "m.yaml", _doc())
    result = _apply(server, manifest)
    assert result.code == 0, result.text
    assert f'Created workspace "{TITLE}": id' in result.out
    assert "Verified: the workspace matches the manifest." in result.out
    (row,) = _workspaces(server)
    assert (row["description"], row["start_date"], row["due_date"]) == (
        "Onboarding for Globex",
        "2027-02-01",
        "2027-04-30",
    )
    assert _markers(server, row["id"]) == [("kxplan", base()["name"], "workspace")]
    tasks = server.model.store.all("SELECT * FROM stories WHERE workspace_id = ?", [row["id"]])
    assert len(tasks) == _count(base()["tasks"])
    again = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "No changes." in again.out
    # One create: a second only under the legacy answer, which refuses `consultant`.
    assert server.log.count("POST", "/workspaces") == (2 if role == "legacy" else 1)


class _DropFirstCreate(SandboxServer):
    """Commits the first POST /workspaces, then closes the connection without an answer."""

    dropped = False

    def decide(self, method: str, route: str = "") -> Decision:
        decision = super().decide(method, route)
        if method == "POST" and route == "/workspaces" and not self.dropped:
            self.dropped = True
            return replace(decision, drop_after=True)
        return decision


def test_a_dropped_create_is_looked_up_not_repeated(env: Path) -> None:
    server = _DropFirstCreate()
    server.start()
    try:
        manifest = write_manifest(env / "m.yaml", _doc())
        result = _apply(server, manifest)
        assert result.code == 0, result.text
        assert len(_workspaces(server)) == 1
        assert server.log.count("POST", "/workspaces") == 1
        assert _markers(server, _workspaces(server)[0]["id"])
        assert kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode").code == 0
    finally:
        server.stop()


def test_changed_fields_plan_an_update_and_apply_one_put(make_sandbox: Any, env: Path) -> None:
    server = make_sandbox()
    manifest = write_manifest(env / "m.yaml", _doc())
    assert _apply(server, manifest).code == 0
    changed = write_manifest(
        env / "m.yaml", _doc(description="Globex, phase 2", due_date="2027-05-31")
    )
    plan = kxplan("plan", changed, "--api-url", server.url)
    assert f'~ workspace "{TITLE}"' in plan.out
    assert '"Onboarding for Globex" -> "Globex, phase 2"' in plan.out
    assert '"2027-04-30" -> "2027-05-31"' in plan.out
    assert "start_date" not in plan.out
    assert "Plan: 0 to add, 1 to change" in plan.out
    server.log.reset()
    result = _apply(server, changed)
    assert result.code == 0, result.text
    assert server.log.count("PUT", "/workspaces/{id}") == 1
    assert server.log.count("POST", "/workspaces") + server.log.count("POST", "/stories") == 0
    (row,) = _workspaces(server)
    assert (row["description"], row["due_date"]) == ("Globex, phase 2", "2027-05-31")


def test_fields_the_manifest_leaves_out_are_not_managed(make_sandbox: Any, env: Path) -> None:
    server = make_sandbox()
    ws = server.model.create_workspace(TITLE, description="Written by people")
    doc = base()
    doc["workspace"] = {"title": TITLE, "due_date": "2027-04-30"}
    manifest = write_manifest(env / "m.yaml", doc)
    plan = kxplan("plan", manifest, "--api-url", server.url)
    assert f'~ workspace "{TITLE}"  (#{ws["id"]})' in plan.out
    assert "description" not in plan.out.split("+ status set")[0]


def test_a_missing_workspace_without_create_is_an_error_before_any_write(
    make_sandbox: Any, env: Path
) -> None:
    server = make_sandbox()
    manifest = write_manifest(env / "m.yaml", _doc(create=False))
    result = _apply(server, manifest)
    assert result.code == 1
    assert f"{TITLE!r} was not found" in result.err
    assert "create: true" in result.err
    assert server.log.count("POST") + server.log.count("PUT") == 0


def test_two_workspaces_with_the_title_is_an_error_naming_both(
    make_sandbox: Any, env: Path
) -> None:
    server = make_sandbox()
    one = server.model.create_workspace(TITLE)
    two = server.model.create_workspace(TITLE, archived=True)
    manifest = write_manifest(env / "m.yaml", _doc())
    result = _apply(server, manifest)
    assert result.code == 1
    assert str(one["id"]) in result.err and str(two["id"]) in result.err
    assert server.log.count("POST") + server.log.count("PUT") == 0


def test_an_archived_workspace_with_the_title_is_found_not_created(
    make_sandbox: Any, env: Path
) -> None:
    server = make_sandbox()
    server.model.create_workspace(TITLE, archived=True)
    manifest = write_manifest(env / "m.yaml", _doc())
    plan = kxplan("plan", manifest, "--api-url", server.url)
    assert "+ workspace" not in plan.out
    assert f'~ workspace "{TITLE}"' in plan.out


def test_the_sandbox_flag_creates_through_the_same_path(env: Path) -> None:
    manifest = write_manifest(env / "m.yaml", _doc())
    plan = kxplan("plan", "--sandbox", manifest)
    assert f'Workspace "{TITLE}" is not in the sandbox yet' in plan.err
    assert f'+ workspace "{TITLE}"' in plan.out
    result = kxplan("apply", "--sandbox", "--auto-approve", manifest)
    assert result.code == 0, result.text
    assert f'Created workspace "{TITLE}" in the sandbox' in result.out
    again = kxplan("plan", "--sandbox", "--detailed-exitcode", manifest)
    assert again.code == 0, again.text


def test_an_existing_workspace_managed_by_the_mapping_gets_the_marker_once(
    make_sandbox: Any, env: Path
) -> None:
    server = make_sandbox()
    ws = server.model.create_workspace(TITLE, description="Onboarding for Globex")
    doc = base()
    doc["workspace"] = {"title": TITLE, "description": "Onboarding for Globex"}
    manifest = write_manifest(env / "m.yaml", doc)
    plan = kxplan("plan", manifest, "--api-url", server.url)
    assert f'~ workspace "{TITLE}"  (#{ws["id"]})' in plan.out
    assert f'marker  null -> "{doc["name"]}"' in plan.out
    assert _apply(server, manifest).code == 0
    assert _markers(server, int(ws["id"])) == [("kxplan", doc["name"], "workspace")]
    again = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text
