"""Task status sets, custom statuses and their assignment to workspaces (NOTES §6.3–6.5)."""

from __future__ import annotations

from typing import Any

import httpx

from kxplan.sandbox import SandboxServer
from tests.sandbox.helpers import api, create, ids

Sandbox = tuple[SandboxServer, str]


def _new_set(c: httpx.Client, name: str) -> str:
    r = c.post("/task_status_sets", json={"task_status_set": {"name": name}})
    assert r.status_code == 200, r.text
    return ids(r.json())[0]


def _status(c: httpx.Client, set_id: str, name: str, category: str) -> httpx.Response:
    body = {"status": name, "category": category, "status_set_id": int(set_id)}
    return c.post("/custom_task_statuses", json={"custom_task_status": body})


def _assign(c: httpx.Client, *pairs: tuple[str, str | None]) -> httpx.Response:
    items = [{"workspace_id": int(w), "status_set_id": int(s) if s else None} for w, s in pairs]
    return c.put(
        "/workspace_task_status_sets/bulk_update", json={"workspace_task_status_sets": items}
    )


def _set_statuses(c: httpx.Client, set_id: str) -> list[tuple[str, str, int]]:
    body = c.get(f"/task_status_sets/{set_id}", params={"include": "custom_task_statuses"}).json()
    found: dict[str, Any] = body["custom_task_statuses"]
    ordered = body["task_status_sets"][set_id]["custom_task_status_ids"]
    return [(found[i]["status"], found[i]["category"], found[i]["position"]) for i in ordered]


def test_a_new_set_comes_with_the_four_default_statuses(sandbox: SandboxServer) -> None:
    with api(sandbox) as c:
        set_id = _new_set(c, "Delivery")
        blank = c.post("/task_status_sets", json={"task_status_set": {"name": ""}})
        statuses = _set_statuses(c, set_id)
    assert statuses == [
        ("not started", "not started", 1),
        ("started", "started", 2),
        ("needs info", "needs info", 3),
        ("completed", "completed", 4),
    ]
    assert blank.status_code == 422


def test_status_names_are_unique_per_set_and_categories_immutable(
    sandbox: SandboxServer,
) -> None:
    with api(sandbox) as c:
        first, second = _new_set(c, "One"), _new_set(c, "Two")
        doing = _status(c, first, "Doing", "started")
        twin = _status(c, first, "Doing", "completed")
        elsewhere = _status(c, second, "Doing", "started")
        bad_category = _status(c, first, "Odd", "finished")
        status_id = ids(doing.json())[0]
        recategorise = c.put(
            f"/custom_task_statuses/{status_id}",
            json={"custom_task_status": {"category": "completed"}},
        )
        moved = c.put(
            f"/custom_task_statuses/{status_id}", json={"custom_task_status": {"position": 1}}
        )
        statuses = _set_statuses(c, first)
    created = doing.json()["custom_task_statuses"][status_id]
    assert created["status_set_id"] == int(first)
    assert twin.status_code == 422 and twin.json()["errors"][0]["field"] == "status"
    assert elsewhere.status_code == 200
    assert bad_category.status_code == 422
    assert recategorise.status_code == 422
    assert moved.status_code == 200
    assert [s[0] for s in statuses] == [
        "Doing",
        "not started",
        "started",
        "needs info",
        "completed",
    ]
    assert [s[2] for s in statuses] == [1, 2, 3, 4, 5]


def test_assigning_a_set_shows_on_the_workspace_and_is_all_or_nothing(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        set_id = _new_set(c, "Flow")
        failed = _assign(c, (ws, set_id), ("999", set_id))
        before = c.get(f"/workspaces/{ws}").json()["workspaces"][ws]
        done = _assign(c, (ws, set_id))
        after = c.get(f"/workspaces/{ws}").json()["workspaces"][ws]
    assert failed.status_code == 422 and failed.json()["errors"][0]["index"] == 1
    assert before["task_status_set_id"] is None
    row = next(iter(done.json()["workspace_task_status_sets"].values()))
    assert row == {**row, "workspace_id": int(ws), "status_set_id": int(set_id)}
    assert after["task_status_set_id"] == set_id and after["task_status_set_name"] == "Flow"
    assert after["task_statuses"] == ["not started", "started", "needs info", "completed"]


def test_deleting_a_used_status_resets_its_tasks_to_the_category(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        set_id = _new_set(c, "Flow")
        status_id = ids(_status(c, set_id, "Waiting", "needs info").json())[0]
        _assign(c, (ws, set_id))
        story = create(c, ws, title="blocked", status="Waiting")
        renamed = c.put(
            f"/custom_task_statuses/{status_id}", json={"custom_task_status": {"status": "On hold"}}
        )
        after_rename = c.get(f"/stories/{story['id']}").json()["stories"][story["id"]]
        assert c.delete(f"/custom_task_statuses/{status_id}").status_code == 204
        after_delete = c.get(f"/stories/{story['id']}").json()["stories"][story["id"]]
    assert renamed.status_code == 200 and after_rename["status"] == "On hold"
    assert (after_delete["status"], after_delete["state"]) == ("needs info", "needs info")


def test_a_set_in_use_cannot_be_deleted(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        used, unused = _new_set(c, "Used"), _new_set(c, "Unused")
        _assign(c, (ws, used))
        refused = c.delete(f"/task_status_sets/{used}")
        deleted = c.delete(f"/task_status_sets/{unused}")
        gone = c.get(f"/task_status_sets/{unused}")
        renamed = c.put(f"/task_status_sets/{used}", json={"task_status_set": {"name": "Main"}})
    assert refused.status_code == 422
    assert deleted.status_code == 204 and gone.status_code == 404
    assert renamed.json()["task_status_sets"][used]["name"] == "Main"


def test_switching_sets_keeps_matching_names_and_falls_back_to_the_category(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        old, new = _new_set(c, "Old"), _new_set(c, "New")
        for set_id in (old, new):
            _status(c, set_id, "Review", "started")
        _status(c, old, "Parked", "needs info")
        _assign(c, (ws, old))
        review = create(c, ws, title="in review", status="Review")
        parked = create(c, ws, title="parked", status="Parked")
        _assign(c, (ws, new))
        body = c.get("/stories", params={"workspace_id": ws}).json()
    assert body["stories"][review["id"]]["status"] == "Review"
    assert body["stories"][parked["id"]]["status"] == "needs info"


def test_an_account_holds_at_most_50_sets(sandbox: SandboxServer) -> None:
    with api(sandbox) as c:
        for i in range(50):
            _new_set(c, f"Set {i}")
        refused = c.post("/task_status_sets", json={"task_status_set": {"name": "One more"}})
        listed = c.get("/task_status_sets", params={"per_page": 200}).json()
    assert refused.status_code == 422 and "50" in refused.json()["errors"][0]["message"]
    assert listed["count"] == 50
