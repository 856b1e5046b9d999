"""Story rules (docs/kantata-api.md, "Stories") over a real loopback socket."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from kxplan.sandbox import SandboxServer
from kxplan.sandbox.store import SCHEMA, Store
from kxplan.sandbox.variants import Variants
from tests.support import api, create, ids

Sandbox = tuple[SandboxServer, str]


def _errors(r: httpx.Response) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = r.json()["errors"]
    return errors


def test_missing_fields_are_422_validation_errors_naming_the_field(
    sandbox_workspace: Sandbox,
) -> None:
    server, _ = sandbox_workspace
    with api(server) as c:
        r = c.post("/stories", json={"story": {"title": " "}})
    assert r.status_code == 422
    fields = {e["field"] for e in _errors(r)}
    assert fields == {"workspace_id", "title"}
    assert all(e["type"] == "validation" and e["message"] for e in _errors(r))


def test_a_missing_root_key_is_the_documented_400(sandbox_workspace: Sandbox) -> None:
    server, _ = sandbox_workspace
    with api(server) as c:
        r = c.post("/stories", json={"title": "no wrapper"})
        bad = c.post("/stories", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and _errors(r)[0]["type"] == "syntax"
    assert "Missing required parameters" in _errors(r)[0]["message"]
    assert bad.status_code == 400


def test_bulk_create_is_all_or_nothing_with_the_index_of_each_problem(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    good = {"workspace_id": int(ws), "title": "ok"}
    with api(server) as c:
        r = c.post(
            "/stories",
            json={"stories": [good, {"workspace_id": int(ws)}, good, {**good, "priority": "x"}]},
        )
        after = c.get("/stories", params={"workspace_id": ws}).json()
        many = c.post("/stories", json={"stories": [good] * 301})
        fine = c.post("/stories", json={"stories": [good] * 300})
    assert r.status_code == 422
    assert [(e["index"], e["field"]) for e in _errors(r)] == [(1, "title"), (3, "priority")]
    assert after["count"] == 0
    assert many.status_code == 422 and "300" in _errors(many)[0]["message"]
    assert fine.status_code == 200 and fine.json()["count"] == 300


def test_bulk_create_returns_the_new_stories_in_request_order(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    items = [{"workspace_id": int(ws), "title": f"T{i}"} for i in range(5)]
    with api(server) as c:
        body = c.post("/stories", json={"stories": items}).json()
    assert [body["stories"][i]["title"] for i in ids(body)] == [f"T{i}" for i in range(5)]


def test_newer_siblings_get_lower_positions(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        first = create(c, ws, title="first")
        second = create(c, ws, title="second")
        child = create(c, ws, title="child", parent_id=int(first["id"]))
    assert second["position"] < first["position"]
    assert child["position"] == first["position"]  # positions count per sibling group


def test_nesting_stops_at_four_levels_below_a_top_level_task(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        parent = create(c, ws, title="L0")
        for depth in range(1, 5):
            parent = create(c, ws, title=f"L{depth}", parent_id=int(parent["id"]))
            assert parent["ancestry_depth"] == depth
        r = c.post(
            "/stories",
            json={"story": {"workspace_id": int(ws), "title": "L5", "parent_id": parent["id"]}},
        )
    assert r.status_code == 422 and _errors(r)[0]["field"] == "parent_id"


def test_reparenting_moves_the_subtree_and_refuses_cycles_and_depth(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        a = create(c, ws, title="A")
        b = create(c, ws, title="B", parent_id=int(a["id"]))
        leaf = create(c, ws, title="leaf", parent_id=int(b["id"]))
        cycle = c.put(f"/stories/{a['id']}", json={"story": {"parent_id": int(leaf["id"])}})
        deep = create(c, ws, title="D0")
        for i in range(3):
            deep = create(c, ws, title=f"D{i + 1}", parent_id=int(deep["id"]))
        too_deep = c.put(f"/stories/{b['id']}", json={"story": {"parent_id": int(deep["id"])}})
        moved = c.put(f"/stories/{b['id']}", json={"story": {"parent_id": None}})
        leaf_now = c.get(f"/stories/{leaf['id']}").json()["stories"][leaf["id"]]
        a_now = c.get(f"/stories/{a['id']}").json()["stories"][a["id"]]
    assert cycle.status_code == 422 and _errors(cycle)[0]["field"] == "parent_id"
    assert too_deep.status_code == 422  # B has a child: 3 + 1 + 1 levels
    assert moved.status_code == 200
    assert moved.json()["stories"][b["id"]]["parent_id"] is None
    assert leaf_now["root_id"] == b["id"] and leaf_now["ancestry_depth"] == 1
    assert a_now["sub_story_count"] == 0


def test_status_by_name_copies_its_category_into_state(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        plain = create(c, ws, title="no set", status="needs info")
        bad_plain = c.post(
            "/stories", json={"story": {"workspace_id": int(ws), "title": "x", "status": "Doing"}}
        )
        set_id = ids(c.post("/task_status_sets", json={"task_status_set": {"name": "Flow"}}).json())
        c.post(
            "/custom_task_statuses",
            json={
                "custom_task_status": {
                    "status": "Doing",
                    "category": "started",
                    "status_set_id": int(set_id[0]),
                }
            },
        )
        c.put(
            "/workspace_task_status_sets/bulk_update",
            json={
                "workspace_task_status_sets": [
                    {"workspace_id": int(ws), "status_set_id": int(set_id[0])}
                ]
            },
        )
        doing = create(c, ws, title="custom", status="Doing", state="completed")
        unknown = c.post(
            "/stories", json={"story": {"workspace_id": int(ws), "title": "x", "status": "Nope"}}
        )
        with_id = c.get(
            f"/stories/{doing['id']}", params={"optional_fields": "custom_task_status_id"}
        ).json()["stories"][doing["id"]]
    assert (plain["state"], plain["status"]) == ("needs info", "needs info")
    assert bad_plain.status_code == 422 and _errors(bad_plain)[0]["field"] == "status"
    assert (doing["state"], doing["status"]) == ("started", "Doing")  # state ignored
    assert "custom_task_status_id" not in doing
    assert isinstance(with_id["custom_task_status_id"], int)
    assert unknown.status_code == 422 and "Doing" in _errors(unknown)[0]["message"]


def test_percentage_complete_moves_the_state_and_completion_sets_100(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        story = create(c, ws, title="progress")

        def put(**fields: Any) -> dict[str, Any]:
            r = c.put(f"/stories/{story['id']}", json={"story": fields})
            assert r.status_code == 200, r.text
            return r.json()["stories"][story["id"]]  # type: ignore[no-any-return]

        assert put(percentage_complete=40)["state"] == "started"
        assert put(percentage_complete=100)["state"] == "completed"
        assert put(percentage_complete=0)["state"] == "not started"
        assert put(state="completed")["percentage_complete"] == 100
        bad = c.put(f"/stories/{story['id']}", json={"story": {"percentage_complete": 101}})
        changes = c.get("/story_state_changes", params={"story_id": story["id"]}).json()
        missing = c.get("/story_state_changes")
    assert bad.status_code == 422 and _errors(bad)[0]["field"] == "percentage_complete"
    states = [changes["story_state_changes"][i]["state"] for i in ids(changes)]
    assert states == ["not started", "started", "completed", "not started", "completed"]
    assert missing.status_code == 422


def test_tag_list_replaces_the_whole_tag_set(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        story = create(c, ws, title="tagged", tag_list="alpha, beta,alpha")
        c.put(f"/stories/{story['id']}", json={"story": {"tag_list": "beta,gamma"}})
        body = c.get(f"/stories/{story['id']}", params={"include": "tags"}).json()
        by_tag = c.get("/stories", params={"by_tag_name": "gamma"}).json()
        c.put(f"/stories/{story['id']}", json={"story": {"tag_list": ""}})
        cleared = c.get(f"/stories/{story['id']}", params={"include": "tags"}).json()
    names = sorted(body["tags"][t]["name"] for t in body["stories"][story["id"]]["tag_ids"])
    assert names == ["beta", "gamma"]
    assert cleared["stories"][story["id"]]["tag_ids"] == []
    assert ids(by_tag) == [story["id"]]


def test_soft_delete_cascades_to_descendants_and_is_final(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        top = create(c, ws, title="top")
        mid = create(c, ws, title="mid", parent_id=int(top["id"]))
        leaf = create(c, ws, title="leaf", parent_id=int(mid["id"]))
        sibling = create(c, ws, title="sibling")
        assert c.delete(f"/stories/{mid['id']}").status_code == 204
        deleted = c.get("/stories", params={"only_deleted": "true"}).json()
        again = c.delete(f"/stories/{mid['id']}")
        update = c.put(f"/stories/{leaf['id']}", json={"story": {"title": "x"}})
        top_now = c.get(f"/stories/{top['id']}").json()["stories"][top["id"]]
    assert set(ids(deleted)) == {mid["id"], leaf["id"]}
    assert sibling["id"] not in ids(deleted)
    assert again.status_code == 404 and _errors(again)[0]["message"] == "Not found"
    assert update.status_code == 404
    assert top_now["sub_story_count"] == 0


def test_external_reference_on_create_is_unique_per_service_and_filterable(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    marker = {"service_name": "kxplan", "service_model": "stack", "service_model_ref": "kickoff"}
    with api(server) as c:
        story = create(c, ws, title="marked", external_reference=marker)
        create(c, ws, title="other", external_reference={**marker, "service_model_ref": "other"})
        create(c, ws, title="unmarked")
        c.put(
            f"/stories/{story['id']}",
            json={"story": {"external_reference": {**marker, "service_model_ref": "renamed"}}},
        )
        refs = c.get(
            "/external_references", params={"subject_type": "Story", "subject_id": story["id"]}
        ).json()
        found = c.get(
            "/stories",
            params={
                "external_reference_service_name": "kxplan",
                "external_reference_service_model": "stack",
                "external_reference_service_model_refs": "renamed,other,nothing",
            },
        ).json()
        one = c.get("/stories", params={"external_reference_service_model_ref": "renamed"}).json()
        upsert = c.post(
            "/external_references/create_or_update",
            json={
                "external_reference": {
                    **marker,
                    "subject_type": "Story",
                    "subject_id": int(story["id"]),
                }
            },
        ).json()
        no_type = c.get("/external_references")
    assert refs["count"] == 1
    assert next(iter(refs["external_references"].values()))["service_model_ref"] == "renamed"
    assert len(ids(found)) == 2 and ids(one) == [story["id"]]
    assert ids(upsert) == ids(refs)  # create_or_update updated the same reference
    assert no_type.status_code == 422


def test_checklist_items_keep_one_based_positions(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        story = create(c, ws, title="list", checklist=["a", "b"])
        inserted = c.post(
            "/story_tasks",
            json={"story_task": {"story_id": int(story["id"]), "name": "first", "position": 1}},
        ).json()
        item_id = ids(inserted)[0]
        done = c.put(f"/story_tasks/{item_id}", json={"story_task": {"completed": True}}).json()
        body = c.get("/story_tasks", params={"story_id": story["id"]}).json()
        assert c.delete(f"/story_tasks/{item_id}").status_code == 204
        after = c.get("/story_tasks", params={"story_id": story["id"]}).json()
        blank = c.post("/story_tasks", json={"story_task": {"story_id": int(story["id"])}})
    names = [
        (body["story_tasks"][i]["name"], body["story_tasks"][i]["position"]) for i in ids(body)
    ]
    assert names == [("first", 1), ("a", 2), ("b", 3)]
    assert done["story_tasks"][item_id]["completed_at"] is not None
    assert [after["story_tasks"][i]["position"] for i in ids(after)] == [1, 2]
    assert blank.status_code == 422 and _errors(blank)[0]["field"] == "name"


# ---- variants (docs/sandbox.md, "Variants: stories") -----------------------------------


def _workspace(make_sandbox: Any, **answers: str) -> Sandbox:
    server = make_sandbox(variants=Variants(**answers))
    return server, str(server.model.create_workspace("Variant workspace")["id"])


def _titles(body: dict[str, Any]) -> list[str]:
    return [body["stories"][i]["title"] for i in ids(body)]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("request", ["T0", "T1", "T2", "T3", "T4", "T5"]),
        ("reversed", ["T5", "T4", "T3", "T2", "T1", "T0"]),
        ("sorted", ["T5", "T4", "T3", "T2", "T1", "T0"]),  # updated_at desc, newest id first
    ],
)
def test_results_order_says_how_a_bulk_create_lists_its_stories(
    make_sandbox: Any, answer: str, expected: list[str]
) -> None:
    server, ws = _workspace(make_sandbox, results_order=answer)
    items = [{"workspace_id": int(ws), "title": f"T{i}"} for i in range(6)]
    with api(server) as c:
        body = c.post("/stories", json={"stories": items}).json()
    assert _titles(body) == expected


def test_shuffled_results_are_a_reproducible_permutation(make_sandbox: Any) -> None:
    orders = []
    for _ in range(2):
        server, ws = _workspace(make_sandbox, results_order="shuffled")
        items = [{"workspace_id": int(ws), "title": f"T{i}"} for i in range(8)]
        with api(server) as c:
            orders.append(_titles(c.post("/stories", json={"stories": items}).json()))
    assert orders[0] == orders[1]  # seeded: the same request gives the same answer
    assert sorted(orders[0]) == [f"T{i}" for i in range(8)] != orders[0]


@pytest.mark.parametrize("answer", ["cascade", "none"])
def test_delete_cascade_says_whether_subtasks_go_with_their_parent(
    make_sandbox: Any, answer: str
) -> None:
    server, ws = _workspace(make_sandbox, delete_cascade=answer)
    with api(server) as c:
        parent = create(c, ws, title="parent")
        child = create(c, ws, title="child", parent_id=int(parent["id"]))
        assert c.delete(f"/stories/{parent['id']}").status_code == 204
        listed = ids(c.get("/stories", params={"workspace_id": ws}).json())
        child_delete = c.delete(f"/stories/{child['id']}").status_code
    if answer == "cascade":
        assert listed == [] and child_delete == 404
    else:
        assert listed == [child["id"]] and child_delete == 204


@pytest.mark.parametrize("answer", ["task", "todo"])
def test_project_plan_default_decides_what_a_create_without_it_makes(
    make_sandbox: Any, answer: str
) -> None:
    server, ws = _workspace(make_sandbox, project_plan_default=answer)
    with api(server) as c:
        bare = create(c, ws, title="bare")
        task = create(c, ws, title="task", project_plan=True)
        todo = create(c, ws, title="todo", project_plan=False)
        default = ids(c.get("/stories", params={"workspace_id": ws}).json())
        shown = ids(c.get("/stories", params={"workspace_id": ws, "show_todos": "true"}).json())
        only = ids(c.get("/stories", params={"workspace_id": ws, "only_todos": "true"}).json())
        hidden_show = c.get(f"/stories/{todo['id']}").status_code
        todo_show = c.get(f"/stories/{todo['id']}", params={"show_todos": "true"}).status_code
    assert bare["project_plan"] is (answer == "task")
    assert task["project_plan"] is True and todo["project_plan"] is False
    todos = {todo["id"]} | ({bare["id"]} if answer == "todo" else set())
    assert set(default) == {bare["id"], task["id"], todo["id"]} - todos
    assert set(shown) == {bare["id"], task["id"], todo["id"]}
    assert set(only) == todos
    assert (hidden_show, todo_show) == (404, 200)


def test_a_to_do_becomes_a_project_task_by_update(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        todo = create(c, ws, title="todo", project_plan=False)
        r = c.put(f"/stories/{todo['id']}", json={"story": {"project_plan": True}})
        listed = ids(c.get("/stories", params={"workspace_id": ws}).json())
    assert r.status_code == 200 and listed == [todo["id"]]


@pytest.mark.parametrize("answer", ["first", "last"])
def test_new_siblings_go_first_or_last_also_within_one_bulk_create(
    make_sandbox: Any, answer: str
) -> None:
    server, ws = _workspace(make_sandbox, new_siblings=answer)
    with api(server) as c:
        old = create(c, ws, title="old")
        items = [{"workspace_id": int(ws), "title": t} for t in ("a", "b", "c")]
        c.post("/stories", json={"stories": items})
        listed = c.get("/stories", params={"workspace_id": ws, "order": "position"}).json()
    # Each item of a bulk create is placed as if it had been created alone, in request order.
    expected = ["c", "b", "a", "old"] if answer == "first" else ["old", "a", "b", "c"]
    assert _titles(listed) == expected
    assert old["position"] == 100_000_000


def test_a_sandbox_file_from_before_to_dos_keeps_its_stories_as_project_tasks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old_schema = SCHEMA.replace("  project_plan INTEGER NOT NULL DEFAULT 1,\n", "")
    assert old_schema != SCHEMA
    with sqlite3.connect(path) as conn:
        conn.executescript(old_schema)
        conn.execute(
            "INSERT INTO stories (workspace_id, title, story_type, state, status, priority, "
            "position, created_at, updated_at) VALUES (1, 'Old', 'task', 'not started', "
            "'not started', 'normal', 1, 'then', 'then')"
        )
    store = Store(path)
    try:
        assert store.all("SELECT title, project_plan FROM stories") == [
            {"title": "Old", "project_plan": 1}
        ]
    finally:
        store.close()
