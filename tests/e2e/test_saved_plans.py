"""`apply PLANFILE` applies a saved plan only where it was made, and only as it was made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kxplan.resources import load_schema
from kxplan.sandbox import SandboxServer
from tests.support import Result, kxplan, read, write_manifest

from .scenario import STACK, WORKSPACE, base

WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path / "onboarding.yaml", base())


def save(url: str, manifest: Path, *extra: str) -> Path:
    saved = manifest.parent / "plan.json"
    made = kxplan("plan", manifest, "--api-url", url, "--out", saved, *extra)
    assert made.code == 0, made.text
    return saved


def apply_saved(url: str, saved: Path, *extra: str) -> Result:
    return kxplan("apply", saved, "--auto-approve", "--api-url", url, *extra)


def writes(server: SandboxServer) -> int:
    return sum(server.log.count(m) for m in WRITES)


def test_a_saved_plan_records_where_it_was_made(url: str, manifest: Path) -> None:
    data = json.loads(save(url, manifest).read_text("utf-8"))
    binding = data["binding"]
    workspace_id = read(url, WORKSPACE).workspace.id
    assert binding["api"] == url.rstrip("/")
    assert binding["workspace"] == {"id": workspace_id, "title": WORKSPACE}
    assert binding["stack"] == STACK
    assert binding["manifest_digest"].startswith("sha256:")
    jsonschema.validate(data, load_schema("plan.schema.json"))
    tampered = {**data, "binding": {**binding, "manifest_digest": "md5:x"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(tampered, load_schema("plan.schema.json"))


def test_a_plan_from_another_server_is_refused_before_any_write(
    url: str, manifest: Path, make_sandbox: Any, sandbox: SandboxServer
) -> None:
    saved = save(url, manifest)
    other = make_sandbox()
    twin = other.model.create_workspace(WORKSPACE)  # same id, same title, another server
    assert twin["id"] == read(url, WORKSPACE).workspace.id
    result = apply_saved(str(other.url), saved)
    assert result.code == 1
    assert "does not belong here" in result.err
    assert f"made against the API {url.rstrip('/')!r}" in result.err
    assert other.log.count() == 0 and writes(sandbox) == 0


def test_a_plan_for_a_workspace_since_retitled_is_refused(
    url: str, manifest: Path, sandbox: SandboxServer
) -> None:
    saved = save(url, manifest)
    workspace_id = read(url, WORKSPACE).workspace.id
    sandbox.model.update_workspace(int(workspace_id), {"title": "Someone else's project"})
    result = apply_saved(url, saved)
    assert result.code == 1
    assert f'workspace id {workspace_id} is titled "Someone else\'s project" here' in result.err
    assert writes(sandbox) == 0


@pytest.mark.parametrize(
    "flag",
    [
        ("--var", "kickoff=2027-01-04"),
        ("--target", "discovery"),
        ("--workspace", "Other"),
        ("--prune",),
        ("--allow-mass-delete",),
        ("--adopt",),
        ("--out", "again.json"),
    ],
)
def test_plan_shaping_flags_with_a_planfile_are_a_usage_error(
    url: str, manifest: Path, sandbox: SandboxServer, flag: tuple[str, ...]
) -> None:
    saved = save(url, manifest)
    sandbox.log.reset()
    result = apply_saved(url, saved, *flag)
    assert result.code == 1
    assert f"{flag[0]} cannot be used with a saved plan" in result.err
    assert "applied exactly as it was made" in result.err
    assert sandbox.log.count() == 0


def test_a_plan_saved_by_an_older_kxplan_is_refused_with_re_run_plan(
    url: str, manifest: Path, sandbox: SandboxServer
) -> None:
    saved = save(url, manifest)
    data = json.loads(saved.read_text("utf-8"))
    del data["binding"]
    saved.write_text(json.dumps(data), encoding="utf-8")
    sandbox.log.reset()
    result = apply_saved(url, saved)
    assert result.code == 1
    assert "saved by an older kxplan" in result.err and "re-run plan" in result.err
    assert sandbox.log.count() == 0


def test_a_create_only_plan_is_refused_when_its_keys_exist_now(
    url: str, tmp_path: Path, sandbox: SandboxServer
) -> None:
    tasks = [{"key": "discovery", "title": "Discovery", "children": [{"title": "Kickoff"}]}]
    doc = {"version": 1, "name": STACK, "workspace": WORKSPACE, "tasks": tasks}
    manifest = write_manifest(tmp_path / "onboarding.yaml", doc)
    saved = save(url, manifest)
    assert json.loads(saved.read_text("utf-8"))["fingerprints"] == {}  # creates only
    assert kxplan("apply", manifest, "--auto-approve", "--api-url", url).code == 0
    before = writes(sandbox)
    result = apply_saved(url, saved)
    assert result.code == 1
    assert "task 'discovery': already exists" in result.err
    assert writes(sandbox) == before


def test_vars_the_plan_was_made_with_are_used_to_verify_it(url: str, tmp_path: Path) -> None:
    doc = base()
    doc["vars"] = {"kickoff": "2027-01-04"}
    doc["tasks"][0]["start_date"] = "${kickoff}"
    manifest = write_manifest(tmp_path / "onboarding.yaml", doc)
    saved = save(url, manifest, "--var", "kickoff=2027-02-01")
    result = apply_saved(url, saved)
    assert result.code == 0, result.text
    assert "Verified: the workspace matches the manifest." in result.out
    discovery = next(t for t in read(url, WORKSPACE).tasks if t.key_for(STACK) == "discovery")
    assert discovery.start_date == "2027-02-01"


def test_verification_says_so_when_the_manifest_changed_since_the_plan(
    url: str, manifest: Path
) -> None:
    saved = save(url, manifest)
    doc = base()
    doc["tasks"][0]["title"] = "Discovery phase"
    write_manifest(manifest, doc)
    result = apply_saved(url, saved)
    assert result.code == 0, result.text
    assert "Apply complete: " in result.out
    assert f"Not verified: {manifest} changed since the plan was made" in result.out
    assert "someone may be editing" not in result.text
