"""Task status sets, custom statuses and their assignment to workspaces (docs/kantata-api.md,
"Status sets and statuses")."""

from __future__ import annotations

from typing import Any

import httpx

from kxplan.sandbox import SandboxServer
from kxplan.sandbox.variants import Variants
from tests.support import api, create, ids

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


# ---- variants: statuses and names (docs/sandbox.md) ------------------------------------


def test_status_names_title_spells_a_new_sets_defaults_in_title_case(
    sandbox: SandboxServer,
) -> None:
    sandbox.variants = Variants(status_names="title")
    with api(sandbox) as c:
        statuses = _set_statuses(c, _new_set(c, "Delivery"))
    assert statuses == [
        ("Not Started", "not started", 1),
        ("Started", "started", 2),
        ("Needs Info", "needs info", 3),
        ("Completed", "completed", 4),
    ]


def _switch_scenario(server: SandboxServer, ws: str) -> dict[str, tuple[str, Any]]:
    """Tasks on `Review` and `Parked` of set Old, switched to New (which has `Check` first in
    started, then `Review`); returns title -> (status, custom_task_status_id)."""
    with api(server) as c:
        old, new = _new_set(c, "Old"), _new_set(c, "New")
        _status(c, old, "Review", "started")
        _status(c, old, "Parked", "needs info")
        c.delete(f"/custom_task_statuses/{_id_of(c, new, 'started')}")
        _status(c, new, "Check", "started")
        _status(c, new, "Review", "started")
        _assign(c, (ws, old))
        create(c, ws, title="review", status="Review")
        create(c, ws, title="parked", status="Parked")
        _assign(c, (ws, new))
        params = {"workspace_id": ws, "optional_fields": "custom_task_status_id"}
        body = c.get("/stories", params=params).json()
    return {
        s["title"]: (s["status"], s.get("custom_task_status_id")) for s in body["stories"].values()
    }


def _id_of(c: httpx.Client, set_id: str, name: str) -> str:
    body = c.get(f"/task_status_sets/{set_id}", params={"include": "custom_task_statuses"}).json()
    return next(i for i, s in body["custom_task_statuses"].items() if s["status"] == name)


def test_set_switch_first_moves_tasks_to_the_first_status_of_their_category(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    server.variants = Variants(set_switch="first")
    found = _switch_scenario(server, ws)
    assert found["review"][0] == "Check"  # not the same-named "Review"
    assert found["parked"][0] == "needs info"


def test_set_switch_category_drops_tasks_to_the_bare_category(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    server.variants = Variants(set_switch="category")
    found = _switch_scenario(server, ws)
    assert found["review"] == ("started", None)
    assert found["parked"][0] == "needs info"


def test_set_switch_same_name_keeps_a_same_named_status(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    found = _switch_scenario(server, ws)
    assert found["review"][0] == "Review"


def _delete_scenario(server: SandboxServer, ws: str) -> tuple[str, Any]:
    """A task on `Review` (started), in a set whose started statuses are then
    [`Doing`, `started`]; `Review` is deleted. Returns the task's (status, status id)."""
    with api(server) as c:
        set_id = _new_set(c, "Set")
        _status(c, set_id, "Review", "started")
        _status(c, set_id, "Doing", "started")
        default = _id_of(c, set_id, "started")
        c.put(f"/custom_task_statuses/{default}", json={"custom_task_status": {"position": 9}})
        _assign(c, (ws, set_id))
        story = create(c, ws, title="t", status="Review")
        assert c.delete(f"/custom_task_statuses/{_id_of(c, set_id, 'Review')}").status_code == 204
        params = {"optional_fields": "custom_task_status_id"}
        got = c.get(f"/stories/{story['id']}", params=params).json()["stories"][story["id"]]
    return got["status"], got.get("custom_task_status_id")


def test_status_delete_variants_choose_where_the_tasks_go(make_sandbox: Any) -> None:
    found = {}
    for rule in ("category", "default_name", "first"):
        server = make_sandbox(variants=Variants(status_delete=rule))
        ws = str(server.model.create_workspace("W")["id"])
        found[rule] = _delete_scenario(server, ws)
    assert found["category"] == ("started", None)
    assert found["default_name"][0] == "started" and found["default_name"][1] is not None
    assert found["first"][0] == "Doing"


def _tags(c: httpx.Client, story_id: str) -> list[str]:
    body = c.get(f"/stories/{story_id}", params={"include": "tags"}).json()
    return [body["tags"][t]["name"] for t in body["stories"][story_id]["tag_ids"]]


def test_name_match_ignore_case_finds_statuses_and_tags_ignoring_case(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    server.variants = Variants(name_match="ignore_case")
    with api(server) as c:
        set_id = _new_set(c, "Set")
        _status(c, set_id, "Done", "completed")
        twin = _status(c, set_id, "DONE", "completed")
        _assign(c, (ws, set_id))
        story = create(c, ws, title="t", status="done", tag_list="client")
        other = create(c, ws, title="u", tag_list="Client,CLIENT")
        by_tag = c.get("/stories", params={"workspace_id": ws, "by_tag_name": "CLIENT"}).json()
        by_status = c.get("/stories", params={"workspace_id": ws, "by_status": "DONE"}).json()
        tags = _tags(c, other["id"])
    assert twin.status_code == 422
    assert story["status"] == "Done"
    assert tags == ["client"]
    assert sorted(ids(by_tag)) == sorted([story["id"], other["id"]])
    assert ids(by_status) == [story["id"]]


def test_name_match_exact_keeps_names_apart(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        set_id = _new_set(c, "Set")
        assert _status(c, set_id, "Done", "completed").status_code == 200
        assert _status(c, set_id, "DONE", "completed").status_code == 200
        _assign(c, (ws, set_id))
        refused = c.post("/stories", json={"story": {"workspace_id": int(ws), "status": "done"}})
        create(c, ws, title="t", tag_list="client")
        other = create(c, ws, title="u", tag_list="Client")
        by_tag = c.get("/stories", params={"workspace_id": ws, "by_tag_name": "Client"}).json()
        tags = _tags(c, other["id"])
    assert refused.status_code == 422
    assert tags == ["Client"]
    assert ids(by_tag) == [other["id"]]
