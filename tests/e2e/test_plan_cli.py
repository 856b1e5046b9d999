"""`kxplan plan` end to end: the CLI in-process against a sandbox on a loopback socket."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kxplan.apply import apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from kxplan.resources import load_schema
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "first.yaml"
WORKSPACE = "Northwind — Website Audit"


@pytest.fixture
def site(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A sandbox with the example's workspace, the token in the environment, a manifest copy."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.delenv("NO_COLOR", raising=False)
    sandbox.model.create_workspace(WORKSPACE)
    manifest = tmp_path / "first.yaml"
    shutil.copy(EXAMPLE, manifest)
    return sandbox, manifest


def _apply(url: str, manifest: Path, **options: Any) -> None:
    with KantataClient(url, TOKEN) as client:
        desired = load_manifest(manifest)
        plan = build_plan(desired, read_live(client, WORKSPACE), PlanOptions(**options))
        apply_plan(plan, client)


def test_fresh_workspace_plans_every_task_and_exits_2(site: Any) -> None:
    server, manifest = site
    result = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert result.code == 2, result.text
    assert "+ task kickoff" in result.out
    assert "+ task audit/content-inventory" in result.out
    assert "Plan: 8 to add, 0 to change, 0 to move, 0 to delete." in result.out
    assert "\x1b[" not in result.out  # not a terminal: no colour


def test_without_detailed_exitcode_changes_exit_0(site: Any) -> None:
    server, manifest = site
    assert kxplan("plan", manifest, "--api-url", server.url).code == 0


def test_after_apply_the_plan_is_empty(site: Any) -> None:
    server, manifest = site
    _apply(server.url, manifest)
    result = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert result.code == 0, result.text
    assert "No changes. The workspace matches the manifest." in result.out


def test_a_manifest_edit_shows_only_the_changed_field(site: Any) -> None:
    server, manifest = site
    _apply(server.url, manifest)
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("- title: Report", "- title: Final report"),
        encoding="utf-8",
    )
    # The key of "Report" is derived from its title, so pin it to keep the task's identity.
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    doc["tasks"][2]["key"] = "report"
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = kxplan("plan", manifest, "--api-url", server.url)
    assert "~ task report" in result.out, result.text
    assert 'title  "Report" -> "Final report"' in result.out
    assert "Plan: 0 to add, 1 to change, 0 to move, 0 to delete." in result.out


def test_removed_tasks_are_kept_unless_pruned(site: Any) -> None:
    server, manifest = site
    _apply(server.url, manifest)
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    del doc["tasks"][2]["children"][1]  # Readout meeting
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    kept = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert kept.code == 0 and "kept (delete with --prune)" in kept.out, kept.text
    pruned = kxplan("plan", manifest, "--api-url", server.url, "--prune")
    assert "- task report/readout-meeting" in pruned.out, pruned.text
    assert "Plan: 0 to add, 0 to change, 0 to move, 1 to delete." in pruned.out


def test_json_plan_validates_and_counts_requests(site: Any) -> None:
    server, manifest = site
    result = kxplan("plan", manifest, "--api-url", server.url, "--format", "json")
    data = json.loads(result.out)
    jsonschema.validate(data, load_schema("plan.schema.json"))
    assert data["summary"]["create"] == 8
    assert data["requests"]["read"] >= 1
    assert data["requests"]["write"] == 2  # two levels of bulk creates, no completed items


def test_markdown_plan_is_a_table(site: Any) -> None:
    server, manifest = site
    result = kxplan("plan", manifest, "--api-url", server.url, "--format", "markdown")
    assert "**Plan: 8 to add, 0 to change, 0 to move, 0 to delete.**" in result.out
    assert "| `+` | create | task kickoff |" in result.out


def test_out_saves_a_plan_with_fingerprints_of_what_it_touches(site: Any, tmp_path: Path) -> None:
    server, manifest = site
    _apply(server.url, manifest)
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    doc["tasks"][0]["tags"] = ["client", "kickoff"]
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "plan.json"
    result = kxplan("plan", manifest, "--api-url", server.url, "--out", out)
    assert result.code == 0, result.text
    saved = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(saved, load_schema("plan.schema.json"))
    (change,) = [c for c in saved["changes"] if c["action"] == "update"]
    assert list(saved["fingerprints"]) == [f"task:{change['id']}"]
    assert "kxplan apply" in result.err


def test_target_limits_the_plan_to_a_subtree(site: Any) -> None:
    server, manifest = site
    result = kxplan("plan", manifest, "--api-url", server.url, "--target", "report")
    assert "Plan: 3 to add, 0 to change, 0 to move, 0 to delete." in result.out, result.text
    assert "kickoff" not in result.out


def test_unknown_target_says_what_to_do(site: Any) -> None:
    server, manifest = site
    result = kxplan("plan", manifest, "--api-url", server.url, "--target", "reprot")
    assert result.code == 1
    assert "no task with key 'reprot'" in result.err and "did you mean report?" in result.err


def test_invalid_manifest_fails_before_any_request(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\ntasks:\n  - titel: Oops\n", encoding="utf-8")
    # Port 9 on loopback: any connection attempt would fail with a different error.
    result = kxplan("plan", bad, "--api-url", "http://127.0.0.1:9/api/v1")
    assert result.code == 1
    assert "bad.yaml:4" in result.err


def test_out_with_two_manifests_is_refused(site: Any, tmp_path: Path) -> None:
    server, manifest = site
    other = tmp_path / "second.yaml"
    other.write_text(manifest.read_text(encoding="utf-8").replace("website-audit", "second"))
    result = kxplan("plan", manifest, other, "--api-url", server.url, "--out", tmp_path / "p")
    assert result.code == 1
    assert "--out saves one plan" in result.err


def test_several_manifests_print_one_plan_each_in_order(site: Any, tmp_path: Path) -> None:
    server, manifest = site
    other = tmp_path / "second.yaml"
    other.write_text(manifest.read_text(encoding="utf-8").replace("website-audit", "second"))
    result = kxplan("plan", manifest, other, "--api-url", server.url)
    first, second = result.out.index('stack "website-audit"'), result.out.index('stack "second"')
    assert first < second
    assert result.out.count("Plan: 8 to add") == 2


def test_missing_workspace_is_an_error_naming_it(site: Any) -> None:
    server, manifest = site
    result = kxplan("plan", manifest, "--api-url", server.url, "--workspace", "Nope")
    assert result.code == 1
    assert "'Nope' was not found" in result.err


def test_the_token_never_appears_in_output(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server, manifest = site
    secret = "tok-5f1e9c-very-secret"
    monkeypatch.setenv("KANTATA_TOKEN", secret)
    for fmt in ("text", "json", "markdown"):
        result = kxplan("plan", manifest, "--api-url", server.url, "--format", fmt)
        assert secret not in result.text


def test_adopt_takes_over_hand_made_tasks_and_then_plans_nothing(site: Any) -> None:
    server, manifest = site
    with KantataClient(server.url, TOKEN) as client:
        workspace_id = read_live(client, WORKSPACE).workspace.id
        made = client.post(
            "/stories", json={"story": {"workspace_id": int(workspace_id), "title": "Audit"}}
        )
        audit_id = made["results"][0]["id"]
        client.post(
            "/stories",
            json={
                "story": {
                    "workspace_id": int(workspace_id),
                    "title": "Content inventory",
                    "parent_id": int(audit_id),
                }
            },
        )
    result = kxplan("plan", manifest, "--api-url", server.url, "--adopt")
    assert f"= task audit  (#{audit_id})  adopt" in result.out, result.text
    assert "= task audit/content-inventory" in result.out
    assert "Plan: 6 to add, 0 to change, 0 to move, 0 to delete. 2 to adopt." in result.out
    _apply(server.url, manifest, adopt=True)
    again = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text


def test_first_plan_on_the_embedded_sandbox_shows_the_whole_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    result = kxplan("plan", EXAMPLE, "--sandbox", "--detailed-exitcode")
    assert result.code == 2, result.text
    assert "Plan: 8 to add, 0 to change, 0 to move, 0 to delete." in result.out
    assert f'Workspace "{WORKSPACE}" is not in the sandbox yet' in result.err
    assert (tmp_path / ".kxplan" / "sandbox.db").exists()


def test_a_manifest_without_workspace_needs_the_flag(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nname: x\ntasks:\n  - title: A\n", encoding="utf-8")
    result = kxplan("plan", manifest, "--api-url", "http://127.0.0.1:9/api/v1")
    assert result.code == 1
    assert "no workspace to plan against" in result.err and "--workspace" in result.err
