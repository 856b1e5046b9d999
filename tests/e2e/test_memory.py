"""kxplan's memory of what it wrote, end to end: people's checklist items and statuses are
never deleted, what kxplan created and the manifest dropped goes only with --prune (and is
counted by the mass-delete guard), and the plan tells a change made in Kantata from one made
in the manifest. People's edits are made through the sandbox's HTTP API, as the UI would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, read, write_manifest

STACK = "memory"


def _doc(workspace: str, tasks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"version": 1, "name": STACK, "workspace": int(workspace), "tasks": tasks, **extra}


@pytest.fixture
def env(
    sandbox_workspace: tuple[SandboxServer, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> tuple[SandboxServer, str, Path]:
    server, workspace = sandbox_workspace
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    return server, workspace, tmp_path / "memory.yaml"


def _task(url: str, workspace: str, key: str) -> Any:
    found = [t for t in read(url, workspace).tasks if t.key_for(STACK) == key]
    assert len(found) == 1
    return found[0]


def _items(url: str, workspace: str, key: str) -> list[tuple[str, bool]]:
    return [(i.name, i.completed) for i in _task(url, workspace, key).checklist]


def _person(url: str) -> KantataClient:
    return KantataClient(url, TOKEN)


def _add_item(url: str, story_id: str, name: str, completed: bool) -> None:
    with _person(url) as ui:
        body = {"story_id": int(story_id), "name": name, "completed": completed}
        ui.request("POST", "/story_tasks", json={"story_task": body})


def _apply(path: Path, url: str, *flags: str) -> None:
    done = kxplan("apply", path, "--auto-approve", "--api-url", url, *flags)
    assert done.code == 0, done.text


TASK = {"key": "kickoff", "title": "Kickoff", "checklist": ["Agenda sent", "Room booked"]}


def test_a_persons_ticked_item_survives_replans_and_prune(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    write_manifest(path, _doc(workspace, [TASK]))
    _apply(path, url)
    story = _task(url, workspace, "kickoff")
    assert story.marker_for(STACK).message.startswith("kx1 ")  # the create wrote the memory
    _add_item(url, story.id, "Call the client", True)

    plan = kxplan("plan", path, "--prune", "--detailed-exitcode", "--api-url", url)
    assert plan.code == 0, plan.text
    assert "Call the client" not in plan.out
    _apply(path, url, "--prune")
    # The manifest grows: kxplan's new item goes in, the person's stays, ticked, unmoved.
    grown = {**TASK, "checklist": ["Agenda sent", "Room booked", "Minutes sent"]}
    write_manifest(path, _doc(workspace, [grown]))
    _apply(path, url, "--prune")
    assert _items(url, workspace, "kickoff") == [
        ("Agenda sent", False),
        ("Room booked", False),
        ("Call the client", True),
        ("Minutes sent", False),
    ]
    again = kxplan("plan", path, "--prune", "--detailed-exitcode", "--api-url", url)
    assert again.code == 0, again.text  # converged, the person's item included


def test_an_item_the_manifest_drops_goes_only_with_prune(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    write_manifest(path, _doc(workspace, [TASK]))
    _apply(path, url)
    write_manifest(path, _doc(workspace, [{**TASK, "checklist": ["Agenda sent"]}]))

    plan = kxplan("plan", path, "--detailed-exitcode", "--api-url", url)
    assert plan.code == 0, plan.text  # a kept item is not a change
    assert "Room booked" in plan.out
    assert "created by kxplan, removed from the manifest's checklist; kept" in plan.out
    deletes = server.log.count(method="DELETE")
    _apply(path, url)
    assert server.log.count(method="DELETE") == deletes
    assert [n for n, _ in _items(url, workspace, "kickoff")] == ["Agenda sent", "Room booked"]

    pruned = kxplan("plan", path, "--prune", "--detailed-exitcode", "--api-url", url)
    assert pruned.code == 2
    assert '- checklist item "Room booked"' in pruned.out
    _apply(path, url, "--prune")
    assert [n for n, _ in _items(url, workspace, "kickoff")] == ["Agenda sent"]


def test_a_task_written_before_the_memory_keeps_unknown_items_and_gets_a_memory(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    write_manifest(path, _doc(workspace, [TASK]))
    _apply(path, url)
    story = _task(url, workspace, "kickoff")
    with _person(url) as ui:  # as an older kxplan wrote it: a marker without memory
        ref = {"service_name": "kxplan", "service_model": STACK, "service_model_ref": "kickoff"}
        ui.request(
            "PUT",
            f"/stories/{story.id}",
            json={"story": {"external_reference": {**ref, "external_message": ""}}},
        )
    assert _task(url, workspace, "kickoff").marker_for(STACK).message == ""
    write_manifest(
        path, _doc(workspace, [{**TASK, "title": "Kick-off", "checklist": ["Agenda sent"]}])
    )
    plan = kxplan("plan", path, "--api-url", url)
    assert "no memory of creating it" in plan.out and "Room booked" in plan.out
    _apply(path, url)
    after = _task(url, workspace, "kickoff")
    assert after.marker_for(STACK).message.startswith("kx1 ")  # the touch wrote the memory
    assert [i.name for i in after.checklist] == ["Agenda sent", "Room booked"]


def _status_doc(workspace: str, statuses: list[tuple[str, str]]) -> dict[str, Any]:
    status_set = {
        "name": "Memory flow",
        "statuses": [{"name": n, "category": c} for n, c in statuses],
    }
    return _doc(workspace, [{"key": "a", "title": "A"}], status_set=status_set)


FLOW = [("Backlog", "not started"), ("Doing", "started"), ("Done", "completed")]


def test_a_status_a_person_adds_survives_every_apply(env: tuple[SandboxServer, str, Path]) -> None:
    server, workspace, path = env
    url = str(server.url)
    write_manifest(path, _status_doc(workspace, FLOW))
    _apply(path, url)
    live = read(url, workspace)
    set_id = live.assigned_status_set().id
    with _person(url) as ui:
        body = {
            "status": "Waiting on client",
            "category": "needs info",
            "status_set_id": int(set_id),
        }
        ui.request("POST", "/custom_task_statuses", json={"custom_task_status": body})
    plan = kxplan("plan", path, "--detailed-exitcode", "--api-url", url)
    assert plan.code == 0, plan.text
    assert "Waiting on client" in plan.out and "kept (delete with --prune)" in plan.out
    _apply(path, url)
    write_manifest(path, _status_doc(workspace, [*FLOW, ("Review", "started")]))
    _apply(path, url)
    names = [s.name for s in read(url, workspace).assigned_status_set().statuses]
    assert "Waiting on client" in names and "Review" in names


def test_the_mass_delete_guard_counts_checklist_and_status_deletes(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    items = [f"Step {i}" for i in range(6)]
    statuses = [*FLOW, *((f"Wait {i}", "needs info") for i in range(5))]
    doc = _status_doc(workspace, statuses)
    doc["tasks"] = [{"key": "a", "title": "A", "checklist": items}]
    write_manifest(path, doc)
    _apply(path, url)

    doc["tasks"] = [{"key": "a", "title": "A", "checklist": items[:1]}]
    write_manifest(path, doc)
    refused = kxplan("plan", path, "--prune", "--api-url", url)
    assert refused.code == 1
    assert "would delete 5 of 6 managed checklist items" in refused.err

    doc = _status_doc(workspace, [*FLOW[:2], ("Done", "completed")])
    doc["tasks"] = [{"key": "a", "title": "A", "checklist": items}]
    doc["status_set"]["statuses"] = doc["status_set"]["statuses"][:3]
    write_manifest(path, doc)
    writes = server.log.count(method="DELETE")
    refused = kxplan("apply", path, "--prune", "--auto-approve", "--api-url", url)
    assert refused.code == 1
    assert "would delete 5 of 8 managed statuses" in refused.err
    assert server.log.count(method="DELETE") == writes
    _apply(path, url, "--prune", "--allow-mass-delete")
    assert len(read(url, workspace).assigned_status_set().statuses) == 3


def test_the_plan_tells_a_change_in_kantata_from_one_in_the_manifest(
    env: tuple[SandboxServer, str, Path],
) -> None:
    server, workspace, path = env
    url = str(server.url)
    task = {"key": "a", "title": "Launch", "due_date": "2026-03-10"}
    write_manifest(path, _doc(workspace, [task]))
    _apply(path, url)
    story = _task(url, workspace, "a")
    with _person(url) as ui:
        ui.request("PUT", f"/stories/{story.id}", json={"story": {"due_date": "2026-04-01"}})
    write_manifest(path, _doc(workspace, [{**task, "title": "Launch day"}]))

    text = kxplan("plan", path, "--api-url", url)
    assert "changed in Kantata since kxplan wrote it: due_date" in text.out
    assert "changed in the manifest: title" in text.out
    as_json = kxplan("plan", path, "--format", "json", "--api-url", url)
    change = next(c for c in json.loads(as_json.out)["changes"] if c["kind"] == "task")
    assert change["origin"] == {"title": "manifest", "due_date": "kantata"}

    _apply(path, url)  # the update's PUT carries the new memory: no change is left
    assert kxplan("plan", path, "--detailed-exitcode", "--api-url", url).code == 0
    with _person(url) as ui:
        ui.request("PUT", f"/stories/{story.id}", json={"story": {"title": "Go-live"}})
    drift = kxplan("plan", path, "--format", "json", "--api-url", url)
    change = next(c for c in json.loads(drift.out)["changes"] if c["kind"] == "task")
    assert change["origin"] == {"title": "kantata"}
