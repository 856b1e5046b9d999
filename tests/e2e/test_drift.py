"""`kxplan drift` end to end: a person edits a field, changes a status as another user and
adds a checklist item in Kantata, the manifest changes a title; drift tells them apart, names
who moved the status and when, writes nothing, and costs one history request per drifted
status. Also: fleets (one section per workspace and the aggregate, exit 2 if any drifted) and
`plan` naming who moved a status it sets back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kxplan.sandbox import SandboxServer, Variants
from tests.support import TOKEN, kxplan, read, write_manifest
from tests.support.fleets import CLIENTS, fleet_site, titles, write_fleet

STACK = "drift"
JANE = {"full_name": "Jane Doe", "token": "jane-token", "id": 300042}
FLOW = {
    "name": "Drift flow",
    "statuses": [
        {"name": "Backlog", "category": "not started"},
        {"name": "Doing", "category": "started"},
        {"name": "Review", "category": "started"},
        {"name": "Blocked", "category": "needs info"},
        {"name": "Done", "category": "completed"},
    ],
}


def _doc(workspace: str, **extra: Any) -> dict[str, Any]:
    tasks = [
        {"key": "design", "title": "Design", "status": "Done", "due_date": "2027-01-10"},
        {"key": "build", "title": "Build", "status": "Doing", "checklist": ["Spec read"]},
        {"key": "ship", "title": "Ship"},
    ]
    return {"version": 1, "name": STACK, "workspace": int(workspace), "status_set": FLOW,
            "tasks": tasks, **extra}  # fmt: skip


def _story(url: str, workspace: str, key: str) -> Any:
    (found,) = [t for t in read(url, workspace).tasks if t.key_for(STACK) == key]
    return found


def _as_jane(server: SandboxServer, method: str, path: str, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {JANE['token']}"}
    answer = httpx.request(method, f"{server.url}{path}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def _writes(server: SandboxServer, since: int) -> list[str]:
    return [f"{e.method} {e.route}" for e in server.log.entries[since:] if e.method != "GET"]


def _history_reads(server: SandboxServer, since: int) -> int:
    return sum(1 for e in server.log.entries[since:] if e.route == "/story_state_changes")


@pytest.fixture
def site(
    sandbox_workspace: tuple[SandboxServer, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[SandboxServer, str, Path]:
    server, workspace = sandbox_workspace
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server.model.register_user(JANE)
    path = write_manifest(tmp_path / "drift.yaml", _doc(workspace))
    done = kxplan("apply", path, "--auto-approve", "--api-url", server.url)
    assert done.code == 0, done.text
    return server, workspace, path


def test_no_drift_right_after_apply_exits_0_and_reads_no_history(
    site: tuple[SandboxServer, str, Path],
) -> None:
    server, _, path = site
    since = len(server.log.entries)
    result = kxplan("drift", path, "--api-url", server.url)
    assert result.code == 0, result.text
    assert "No drift. Kantata matches the manifest." in result.out
    assert _writes(server, since) == [] and _history_reads(server, since) == 0


def test_drift_separates_kantata_edits_from_manifest_edits_and_names_who_moved_a_status(
    site: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = site
    url = str(server.url)
    design, build = _story(url, workspace, "design"), _story(url, workspace, "build")
    _as_jane(server, "PUT", f"/stories/{design.id}", {"story": {"status": "Blocked"}})
    _as_jane(server, "PUT", f"/stories/{design.id}", {"story": {"due_date": "2027-01-12"}})
    item = {"story_task": {"story_id": int(build.id), "name": "Call the vendor"}}
    _as_jane(server, "POST", "/story_tasks", item)
    doc = _doc(workspace)
    doc["tasks"][2]["title"] = "Ship it"  # the manifest changes too
    write_manifest(path, doc)
    since = len(server.log.entries)

    result = kxplan("drift", path, "--api-url", url)

    assert result.code == 2, result.text
    lines = [line.strip() for line in result.out.splitlines()]
    assert "due_date: 2027-01-10 -> 2027-01-12  (changed in Kantata since kxplan wrote it)" in lines
    status = next(line for line in lines if line.startswith("status:"))
    assert status.startswith("status: Done -> Blocked, changed by Jane Doe (#300042) on 20")
    assert status.endswith("UTC  (changed in Kantata since kxplan wrote it)")
    assert '+ checklist item "Call the vendor"  (added in Kantata)' in lines
    assert "title: Ship it -> Ship  (changed in the manifest since the last apply)" in lines
    # Read-only, and exactly one history request: only `design`'s status drifted.
    assert _writes(server, since) == []
    assert _history_reads(server, since) == 1


def test_drift_json_follows_its_schema_and_counts_its_requests(
    site: tuple[SandboxServer, str, Path],
) -> None:
    import jsonschema

    server, workspace, path = site
    url = str(server.url)
    for key, status in (("design", "Backlog"), ("build", "Blocked")):
        story = _story(url, workspace, key)
        _as_jane(server, "PUT", f"/stories/{story.id}", {"story": {"status": status}})
    since = len(server.log.entries)
    result = kxplan("drift", path, "--api-url", url, "--format", "json")
    assert result.code == 2, result.text
    doc = json.loads(result.out)
    schema = json.loads((Path(__file__).parents[2] / "schemas" / "drift.schema.json").read_text())
    jsonschema.validate(doc, schema)
    (ws,) = doc["workspaces"]
    moved = {t["key"]: t["status_change"] for t in ws["tasks"]}
    assert {k: (c["user_name"], c["user_id"]) for k, c in moved.items()} == {
        "design": ("Jane Doe", "300042"),
        "build": ("Jane Doe", "300042"),
    }
    # Two drifted statuses: two history requests, sent with the reads; nothing written.
    assert _history_reads(server, since) == 2
    assert ws["requests"] == {"read": len(server.log.entries) - since, "write": 0}
    assert doc["summary"]["changed_in_kantata"] == 2


@pytest.mark.parametrize("answer", ["state", "status"])
def test_a_custom_status_change_inside_one_category_under_both_answers(
    site: tuple[SandboxServer, str, Path], answer: str
) -> None:
    """Doing -> Review stays in `started`: Kantata may or may not record a state change."""
    server, workspace, path = site
    server.variants = Variants(state_changes=answer)
    build = _story(str(server.url), workspace, "build")
    _as_jane(server, "PUT", f"/stories/{build.id}", {"story": {"status": "Review"}})
    result = kxplan("drift", path, "--api-url", server.url)
    assert result.code == 2, result.text
    status = next(line.strip() for line in result.out.splitlines() if "status:" in line)
    if answer == "status":  # recorded, naming the status: Jane, exactly
        assert status.startswith("status: Doing -> Review, changed by Jane Doe (#300042) on ")
        assert "Kantata recorded" not in status
    else:  # not recorded: the last change into `started` was kxplan's create, said as such
        assert "changed by Sandbox User (#300001)" in status
        assert "(Kantata recorded the move to 'started', not the status)" in status


def test_tasks_deleted_new_and_dropped_are_told_apart(
    site: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = site
    url = str(server.url)
    ship = _story(url, workspace, "ship")
    headers = {"Authorization": f"Bearer {JANE['token']}"}
    assert httpx.delete(f"{url}/stories/{ship.id}", headers=headers).status_code == 204
    doc = _doc(workspace)
    doc["tasks"] = [t for t in doc["tasks"] if t["key"] != "build"]
    doc["tasks"].append({"key": "celebrate", "title": "Celebrate"})
    write_manifest(path, doc)
    since = len(server.log.entries)
    asked: list[dict[str, str]] = []
    server.on_request = lambda arrival: asked.append(dict(arrival.params))
    result = kxplan("drift", path, "--api-url", url)
    assert result.code == 2, result.text
    assert f"? task ship (#{ship.id}): deleted in Kantata on 20" in result.out
    assert "? task celebrate: not in Kantata: new in the manifest, not applied yet" in result.out
    assert "- task build (#" in result.out and "no longer in the manifest" in result.out
    # Two missing tasks: one look-up of deleted stories by marker, nothing written.
    (deleted,) = [a for a in asked if a.get("only_deleted") == "true"]
    assert deleted["external_reference_service_model_refs"] == "celebrate,ship"
    assert _writes(server, since) == []


def test_a_task_whose_marker_was_removed_is_reported_unmarked(
    site: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = site
    url = str(server.url)
    ship = _story(url, workspace, "ship")
    (marker,) = ship.markers
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert (
        httpx.delete(f"{url}/external_references/{marker.id}", headers=headers).status_code == 204
    )
    result = kxplan("drift", path, "--api-url", url)
    assert result.code == 2, result.text
    assert f"? task ship (#{ship.id}): its kxplan marker is gone" in result.out


def test_plan_names_who_moved_a_status_it_sets_back(
    site: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = site
    doc = _doc(workspace, enforce=["status"])
    write_manifest(path, doc)
    assert kxplan("apply", path, "--auto-approve", "--api-url", server.url).code == 0
    design = _story(str(server.url), workspace, "design")
    _as_jane(server, "PUT", f"/stories/{design.id}", {"story": {"status": "Blocked"}})
    since = len(server.log.entries)
    result = kxplan("plan", path, "--api-url", server.url)
    assert result.code == 0, result.text
    assert "status: Done -> Blocked, changed by Jane Doe (#300042) on " in result.out
    assert _history_reads(server, since) == 1
    kxplan("apply", path, "--auto-approve", "--api-url", server.url)
    since = len(server.log.entries)
    again = kxplan("plan", path, "--api-url", server.url)
    assert "No changes" in again.out and _history_reads(server, since) == 0


def test_a_fleet_reports_each_workspace_and_the_aggregate(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    path = write_fleet(tmp_path / "fleet.yaml")
    assert kxplan("apply", path, "--auto-approve", "--api-url", sandbox.url).code == 0
    clean = kxplan("drift", path, "--api-url", sandbox.url)
    assert clean.code == 0, clean.text
    assert f"0 of {len(CLIENTS)} workspaces drifted, 0 failed." in clean.out
    first = CLIENTS[0]
    story = titles(sandbox, ids[first])["Discovery"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"story": {"due_date": "2030-01-01"}}
    httpx.put(f"{sandbox.url}/stories/{story['id']}", json=body, headers=headers)
    since = len(sandbox.log.entries)
    result = kxplan("drift", path, "--api-url", sandbox.url, "--format", "json")
    assert result.code == 2, result.text
    doc = json.loads(result.out)
    assert doc["fleet"] and doc["summary"]["drifted"] == 1
    drifted = [w for w in doc["workspaces"] if w["drifted"]]
    assert [w["workspace"]["id"] for w in drifted] == [ids[first]]
    (task,) = drifted[0]["tasks"]
    assert task["fields"][0]["name"] == "due_date" and task["fields"][0]["origin"] == "kantata"
    assert _writes(sandbox, since) == []


def test_checklist_items_a_person_removed_and_the_manifest_renamed(
    site: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = site
    url = str(server.url)
    (item,) = _story(url, workspace, "build").checklist
    headers = {"Authorization": f"Bearer {JANE['token']}"}
    assert httpx.delete(f"{url}/story_tasks/{item.id}", headers=headers).status_code == 204
    doc = _doc(workspace)
    doc["tasks"][1]["checklist"] = [{"name": "Spec signed", "renamed_from": ["Spec read"]}]
    doc["tasks"][0]["checklist"] = ["New step"]
    write_manifest(path, doc)
    result = kxplan("drift", path, "--api-url", url, "--format", "json")
    assert result.code == 2, result.text
    items = {t["key"]: t["items"] for t in json.loads(result.out)["workspaces"][0]["tasks"]}
    # kxplan created it (as "Spec read", the memory says), and a person deleted it.
    assert items["build"] == [
        {"name": "Spec signed", "change": "removed_in_kantata", "origin": "kantata"}
    ]
    assert items["design"] == [
        {"name": "New step", "change": "added_to_manifest", "origin": "manifest"}
    ]


def test_a_fleet_workspace_that_cannot_be_compared_fails_alone(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fleet_site(sandbox, monkeypatch, tmp_path)
    path = write_fleet(tmp_path / "fleet.yaml")
    assert kxplan("apply", path, "--auto-approve", "--api-url", sandbox.url).code == 0
    path = write_fleet(tmp_path / "fleet.yaml", (*CLIENTS, "Umbrella"))  # not in Kantata
    result = kxplan("drift", path, "--api-url", sandbox.url)
    assert result.code == 1
    assert "Drift: not compared: " in result.out and "Umbrella" in result.out
    assert f"0 of {len(CLIENTS) + 1} workspaces drifted, 1 failed." in result.out
    assert "1 of 4 workspaces could not be compared" in result.err


def test_drift_costs_what_a_no_change_plan_costs_plus_one_request_per_drifted_status(
    site: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = site

    def cost(*args: str) -> int:
        since = len(server.log.entries)
        kxplan(*args, path, "--api-url", server.url)
        return len(server.log.entries) - since

    plan = cost("plan")
    assert cost("drift") == plan
    for key in ("design", "build"):
        story = _story(str(server.url), workspace, key)
        _as_jane(server, "PUT", f"/stories/{story.id}", {"story": {"status": "Blocked"}})
    assert cost("drift") == plan + 2


def test_a_status_the_manifest_adds_is_drift_in_every_format(
    site: tuple[SandboxServer, str, Path],
) -> None:
    import jsonschema

    server, workspace, path = site
    doc = _doc(workspace)
    doc["status_set"]["statuses"].insert(3, {"name": "QA", "category": "started"})
    write_manifest(path, doc)
    text = kxplan("drift", path, "--api-url", server.url)
    assert text.code == 2, text.text
    assert '! status "QA" of set "Drift flow": create' in text.out
    raw = kxplan("drift", path, "--api-url", server.url, "--format", "json")
    report = json.loads(raw.out)
    schema = json.loads((Path(__file__).parents[2] / "schemas" / "drift.schema.json").read_text())
    jsonschema.validate(report, schema)
    created = [o for o in report["workspaces"][0]["objects"] if o["action"] == "create"]
    assert [(o["kind"], o["key"]) for o in created] == [("status", "QA")]
    markdown = kxplan("drift", path, "--api-url", server.url, "--format", "markdown")
    assert '| status "QA" of set "Drift flow" | create |' in markdown.out
