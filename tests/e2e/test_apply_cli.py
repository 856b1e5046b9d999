"""`kxplan apply` end to end against a sandbox on a loopback port: bootstrap, edit, converge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from tests.support import TOKEN, Result, duplicates, kxplan, read, snapshot, write_manifest

from .scenario import STACK, WORKSPACE, base, edited


def apply(url: str, manifest: Path, *extra: str) -> Result:
    return kxplan("apply", manifest, "--auto-approve", "--api-url", url, *extra)


def plan(url: str, manifest: Path, *extra: str) -> Result:
    return kxplan("plan", manifest, "--detailed-exitcode", "--api-url", url, *extra)


def test_bootstrap_creates_the_tree_and_a_second_plan_has_nothing_to_do(
    url: str, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    result = apply(url, manifest)
    assert result.code == 0, result.text
    assert "Apply complete: " in result.out
    assert "Verified: the workspace matches the manifest." in result.out
    assert plan(url, manifest).code == 0

    tasks = snapshot(read(url, WORKSPACE), STACK)["tasks"]
    assert tasks["interview-ceo"][:2] == ("Interview the CEO", "interviews")
    assert tasks["discovery"][3] == (("Kickoff call held", False), ("Scope signed", True))
    assert tasks["setup"][2] == ("infra",)
    assert tasks["kickoff"][4] == "Backlog"


def test_edits_of_every_kind_apply_and_converge(url: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    assert apply(url, manifest).code == 0
    first = read(url, WORKSPACE)
    kickoff_id = next(t.id for t in first.tasks if t.key_for(STACK) == "kickoff")

    write_manifest(manifest, edited())
    result = apply(url, manifest, "--prune")
    assert result.code == 0, result.text
    assert "Verified: the workspace matches the manifest." in result.out
    assert plan(url, manifest, "--prune").code == 0

    live = read(url, WORKSPACE)
    snap = snapshot(live, STACK)
    tasks = snap["tasks"]
    assert "cleanup" not in tasks and "kickoff" not in tasks
    # Renamed by renamed_from: the same story, now under its new key and title.
    renamed = next(t for t in live.tasks if t.key_for(STACK) == "kick-off")
    assert renamed.id == kickoff_id and renamed.title == "Kick-off meeting"
    assert tasks["kick-off"][3] == (
        ("Notes shared", False),
        ("Agenda emailed", False),
        ("Room booked", False),
    )
    assert tasks["interview-ceo"][1] == "build"
    assert tasks["discovery"][2] == ("client", "phase-1")
    assert tasks["discovery"][3] == (("Scope signed", True),)
    assert tasks["setup"][2] == ()
    assert snap["statuses"] == (
        ("Backlog", "not started"),
        ("Review", "started"),
        ("In progress", "started"),
        ("Done", "completed"),
    )
    assert duplicates(live, STACK) == []


def test_what_people_do_in_kantata_survives_every_apply(url: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    assert apply(url, manifest).code == 0
    live = read(url, WORKSPACE)
    ids = {t.key_for(STACK): t for t in live.tasks}
    with KantataClient(url, TOKEN) as client:
        ws = int(live.workspace.id)
        client.put(f"/stories/{ids['kickoff'].id}", json={"story": {"status": "Doing"}})
        hand = {"title": "Ad-hoc call", "workspace_id": ws, "parent_id": int(ids["discovery"].id)}
        client.post("/stories", json={"story": hand})
        extra = {"story_id": int(ids["setup"].id), "name": "Ask IT for a VPN"}
        client.post("/story_tasks", json={"story_task": extra})
        notes = next(i for i in ids["kickoff"].checklist if i.name == "Notes shared")
        client.put(f"/story_tasks/{notes.id}", json={"story_task": {"completed": True}})

    for doc, flags in ((base(), ()), (edited(), ("--prune",))):
        write_manifest(manifest, doc)
        result = apply(url, manifest, *flags)
        assert result.code == 0, result.text
        tasks = snapshot(read(url, WORKSPACE), STACK)["tasks"]
        kickoff = tasks["kick-off" if flags else "kickoff"]
        assert kickoff[4] in ("Doing", "In progress")  # progress kept (follows the rename)
        assert ("Notes shared", True) in kickoff[3]  # a completed item stays completed
        assert tasks["unmanaged:Ad-hoc call"][1] == "discovery"  # a hand-made task is kept
        assert ("Ask IT for a VPN", False) in tasks["setup"][3]  # an extra item is kept
    assert tasks["kick-off"][4] == "In progress"
    assert plan(url, manifest, "--prune").code == 0


def test_apply_with_no_terminal_refuses_and_writes_nothing(
    url: str, sandbox: Any, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    result = kxplan("apply", manifest, "--api-url", url)
    assert result.code == 1
    assert "no terminal" in result.err and "--auto-approve" in result.err
    assert sandbox.log.count("POST") == sandbox.log.count("PUT") == 0


def test_a_saved_plan_is_applied_and_a_stale_one_is_refused(url: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    saved = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--api-url", url, "--out", saved).code == 0
    result = kxplan("apply", saved, "--auto-approve", "--api-url", url)
    assert result.code == 0, result.text
    assert "still current" in result.out and "Verified" in result.out
    # Applying the same saved plan again would create everything twice: refused.
    again = kxplan("apply", saved, "--auto-approve", "--api-url", url)
    assert again.code == 1 and "stale" in again.err and "already exists" in again.err

    write_manifest(manifest, edited())
    assert kxplan("plan", manifest, "--prune", "--api-url", url, "--out", saved).code == 0
    live = read(url, WORKSPACE)
    setup = next(t for t in live.tasks if t.key_for(STACK) == "setup")
    with KantataClient(url, TOKEN) as client:
        client.put(f"/stories/{setup.id}", json={"story": {"title": "Renamed by someone"}})
    stale = kxplan("apply", saved, "--auto-approve", "--api-url", url)
    assert stale.code == 1, stale.text
    assert "stale" in stale.err and "'setup'" in stale.err
    assert "Renamed by someone" in stale.err
    assert snapshot(read(url, WORKSPACE), STACK)["tasks"].get("cleanup") is not None


def test_an_invalid_manifest_exits_1_before_any_request(
    url: str, sandbox: Any, tmp_path: Path
) -> None:
    doc = base()
    doc["tasks"][0]["titel"] = "typo"
    manifest = write_manifest(tmp_path / "bad.yaml", doc)
    result = apply(url, manifest)
    assert result.code == 1
    assert "bad.yaml:" in result.err
    assert sandbox.log.count() == 0


def test_sandbox_flag_creates_the_workspace_and_persists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    manifest = write_manifest(tmp_path / "first.yaml", base())
    result = kxplan("apply", "--sandbox", "--auto-approve", manifest)
    assert result.code == 0, result.text
    assert f'Created workspace "{WORKSPACE}" in the sandbox' in result.out
    assert (tmp_path / ".kxplan" / "sandbox.db").is_file()
    again = kxplan("plan", "--sandbox", "--detailed-exitcode", manifest)
    assert again.code == 0, again.text


def test_a_plan_file_of_another_format_version_is_refused(url: str, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text('{"format_version": "0", "changes": []}', encoding="utf-8")
    result = kxplan("apply", saved, "--auto-approve", "--api-url", url)
    assert result.code == 1
    assert "format_version '0'" in result.err and "kxplan plan" in result.err


def test_a_saved_plan_is_stale_when_someone_renamed_a_status_it_changes(
    url: str, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    assert apply(url, manifest).code == 0
    write_manifest(manifest, edited())
    saved = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--prune", "--api-url", url, "--out", saved).code == 0
    live = read(url, WORKSPACE)
    assigned = live.assigned_status_set()
    assert assigned is not None
    doing = next(s for s in assigned.statuses if s.name == "Doing")
    with KantataClient(url, TOKEN) as client:
        body = {"custom_task_status": {"status": "Working"}}
        client.put(f"/custom_task_statuses/{doing.id}", json=body)
    stale = kxplan("apply", saved, "--auto-approve", "--api-url", url)
    assert stale.code == 1
    assert "status 'Working' of set 'Delivery workflow': renamed from 'Doing'" in stale.err
