"""Sandbox fidelity: behaviours Kantata's OpenAPI documents (see docs/sandbox.md, "Fidelity").

Every test talks HTTP to a started sandbox; the fixtures also check each response against
the official OpenAPI schemas.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx

from kxplan.sandbox import SandboxServer
from kxplan.sandbox.store import SANDBOX_USER_ID
from tests.support import MakeSandbox, api, create, ids

Sandbox = tuple[SandboxServer, str]
USER = str(SANDBOX_USER_ID)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _errors(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    errors: list[dict[str, Any]] = r.json()["errors"]
    return errors


def _story(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body["stories"][body["results"][0]["id"]]  # type: ignore[no-any-return]


def _titles(body: dict[str, Any]) -> list[str]:
    return [body["stories"][i]["title"] for i in ids(body)]


# ---- 1. billing flags, estimates, weight -------------------------------------------------


def test_budget_fields_have_defaults_and_are_stored_on_create_and_update(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        plain = create(c, ws, title="plain")
        set_ = create(
            c,
            ws,
            title="billed",
            billable=False,
            fixed_fee=True,
            time_trackable=False,
            budget_estimate_in_cents=12_500,
            time_estimate_in_minutes=90,
        )
        changed = _story(
            c.put(
                f"/stories/{set_['id']}",
                json={"story": {"billable": True, "time_estimate_in_minutes": 120}},
            )
        )
        shown = _story(c.get(f"/stories/{set_['id']}"))
    assert (plain["billable"], plain["fixed_fee"], plain["time_trackable"]) == (True, False, True)
    assert plain["budget_estimate_in_cents"] is None and plain["weight"] is None
    assert plain["budget_used_in_cents"] == 0 and plain["logged_billable_time_in_minutes"] == 0
    assert (set_["billable"], set_["fixed_fee"], set_["time_trackable"]) == (False, True, False)
    assert (set_["budget_estimate_in_cents"], set_["time_estimate_in_minutes"]) == (12_500, 90)
    assert shown == changed
    assert (shown["billable"], shown["fixed_fee"], shown["time_estimate_in_minutes"]) == (
        True,
        True,
        120,
    )
    assert shown["budget_estimate_in_cents"] == 12_500


def test_budget_fields_are_validated(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    base = {"workspace_id": int(ws), "title": "t"}
    with api(server) as c:
        bad = c.post(
            "/stories",
            json={
                "stories": [
                    {**base, "billable": "perhaps"},
                    {**base, "time_estimate_in_minutes": -5},
                    {**base, "budget_estimate_in_cents": 1.5},
                    {**base, "fixed_fee": True},
                ]
            },
        )
    assert [(e["index"], e["field"]) for e in _errors(bad)] == [
        (0, "billable"),
        (1, "time_estimate_in_minutes"),
        (2, "budget_estimate_in_cents"),
    ]


def test_weight_is_only_for_top_level_milestones(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        milestone = create(c, ws, title="M", story_type="milestone", weight=3)
        task = c.post(
            "/stories", json={"story": {"workspace_id": int(ws), "title": "t", "weight": 2}}
        )
        sub = c.post(
            "/stories",
            json={
                "story": {
                    "workspace_id": int(ws),
                    "title": "sub",
                    "story_type": "milestone",
                    "parent_id": int(milestone["id"]),
                    "weight": 1,
                }
            },
        )
        reweighed = _story(c.put(f"/stories/{milestone['id']}", json={"story": {"weight": 5}}))
    assert milestone["weight"] == 3 and reweighed["weight"] == 5
    assert [e["field"] for e in _errors(task)] == ["weight"]
    assert [e["field"] for e in _errors(sub)] == ["weight"]


def test_a_parent_reports_its_subtasks_estimates(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        parent = create(c, ws, title="P", time_estimate_in_minutes=10)
        child = create(c, ws, title="C", parent_id=int(parent["id"]), time_estimate_in_minutes=30)
        create(c, ws, title="G", parent_id=int(child["id"]), budget_estimate_in_cents=700)
        shown = _story(c.get(f"/stories/{parent['id']}"))
    assert shown["sub_stories_time_estimate_in_minutes"] == 30
    assert shown["sub_stories_budget_estimate_in_cents"] == 700
    assert shown["time_estimate_in_minutes"] == 10


def test_a_database_file_from_before_these_columns_still_opens(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "old.sqlite"
    first = make_sandbox(data=path)
    ws = first.model.create_workspace("Old")["id"]
    first.model.create_stories(ws, [{"title": "from an old file"}])
    first.stop()
    with sqlite3.connect(path) as db:  # back to the first release's columns
        db.execute("DROP INDEX stories_estimated")
        for column in ("billable", "weight", "creator_id", "time_estimate_in_minutes"):
            db.execute(f"ALTER TABLE stories DROP COLUMN {column}")
        db.execute("ALTER TABLE story_state_changes DROP COLUMN user_id")
    with api(make_sandbox(data=path)) as c:
        body = c.get("/stories", params={"workspace_id": ws, "include": "creator"}).json()
    (story,) = body["stories"].values()
    assert story["title"] == "from an old file" and story["billable"] is True
    assert story["creator_id"] == USER and story["weight"] is None


# ---- 2. errors of a single-object write carry no index -----------------------------------


def test_a_single_object_422_has_no_index_while_bulk_ones_do(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        single = c.post("/stories", json={"story": {"workspace_id": int(ws), "title": ""}})
        bulk = c.post("/stories", json={"stories": [{"workspace_id": int(ws), "title": ""}]})
        story = create(c, ws, title="t")
        update = c.put(f"/stories/{story['id']}", json={"story": {"priority": "urgent"}})
    assert [e["field"] for e in _errors(single)] == ["title"]
    assert all("index" not in e for e in _errors(single) + _errors(update))
    assert [e.get("index") for e in _errors(bulk)] == [0]


# ---- 3. includes on the show route: creator, assignees, state changes --------------------


def test_the_show_route_serves_creator_assignees_and_state_changes(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    includes = {"include": "creator,assignees,story_state_changes"}
    with api(server) as c:
        story = create(c, ws, title="t", assignee_ids=[SANDBOX_USER_ID])
        c.put(f"/stories/{story['id']}", json={"story": {"state": "started"}})
        shown = c.get(f"/stories/{story['id']}", params=includes).json()
        listed = c.get("/stories", params={"workspace_id": ws, **includes}).json()
        only = c.get("/stories", params={"only": story["id"], **includes}).json()
        unknown = c.put(f"/stories/{story['id']}", json={"story": {"assignee_ids": [42]}})
        cleared = c.put(
            f"/stories/{story['id']}", json={"story": {"assignee_ids": []}}, params=includes
        ).json()
    obj = shown["stories"][story["id"]]
    assert obj["creator_id"] == USER and obj["assignee_ids"] == [USER]
    assert shown["users"][USER]["full_name"]
    changes = [shown["story_state_changes"][i] for i in obj["story_state_change_ids"]]
    assert [ch["state"] for ch in changes] == ["not started", "started"]
    # Restricted to `only` queries, as documented: dropped from a plain list.
    assert "story_state_changes" not in listed
    assert "story_state_change_ids" not in listed["stories"][story["id"]]
    assert listed["stories"][story["id"]]["assignee_ids"] == [USER]
    assert len(only["stories"][story["id"]]["story_state_change_ids"]) == 2
    assert [e["field"] for e in _errors(unknown)] == ["assignee_ids"]
    assert cleared["stories"][story["id"]]["assignee_ids"] == []


# ---- 4. optional fields -------------------------------------------------------------------


def test_documented_optional_fields_are_served_only_when_asked(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    fields = "can_edit,read_only,can_post,archived_editable,parsed_description"
    with api(server) as c:
        story = create(c, ws, title="t", description="Some *text*")
        plain = _story(c.get(f"/stories/{story['id']}"))
        asked = _story(c.get(f"/stories/{story['id']}", params={"optional_fields": fields}))
    assert not {"can_edit", "read_only", "can_post"} & plain.keys()
    assert (asked["can_edit"], asked["read_only"], asked["can_post"]) == (True, False, True)
    assert asked["archived_editable"] is True and asked["parsed_description"] == "Some *text*"


# ---- 5. search ----------------------------------------------------------------------------


def test_story_search_matches_titles_ignoring_case_most_relevant_first(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        for title in ("Design review", "Review", "Build", "Code REVIEW notes", "Reviewer"):
            create(c, ws, title=title)
        found = c.get("/stories", params={"workspace_id": ws, "search": "review"}).json()
        ordered = c.get(
            "/stories", params={"workspace_id": ws, "search": "review", "order": "created_at:asc"}
        ).json()
        build = create(c, ws, title="Another build")
        only = c.get("/stories", params={"only": build["id"], "search": "review"}).json()
    assert found["count"] == 4
    assert _titles(found)[:2] == ["Review", "Reviewer"]
    assert set(_titles(found)[2:]) == {"Design review", "Code REVIEW notes"}
    assert _titles(ordered) == ["Design review", "Review", "Code REVIEW notes", "Reviewer"]
    assert _titles(only) == ["Another build"]  # search does not apply to `only`


def test_workspace_search_matches_titles_and_descriptions(sandbox: SandboxServer) -> None:
    model = sandbox.model
    model.create_workspace("Acme website")
    model.create_workspace("Internal tools", description="For ACME staff")
    model.create_workspace("Other")
    with api(sandbox) as c:

        def titles(search: str) -> list[str]:
            body = c.get("/workspaces", params={"search": search}).json()
            return [body["workspaces"][i]["title"] for i in ids(body)]

        assert titles("acme") == ["Acme website", "Internal tools"]  # title matches first
        assert titles("title:'acme'") == ["Acme website"]
        assert titles("description:'acme' tools") == ["Internal tools"]
        assert titles("nothing") == []


# ---- 6. the account default status set ----------------------------------------------------


def test_new_workspaces_get_the_account_default_status_set(sandbox: SandboxServer) -> None:
    with api(sandbox) as c:

        def new_workspace(title: str) -> httpx.Response:
            body = {"workspace": {"title": title, "creator_role": "consultant"}}
            return c.post("/workspaces", json=body)

        before = new_workspace("A")
        made = c.post("/task_status_sets", json={"task_status_set": {"name": "Delivery"}}).json()
        set_id = ids(made)[0]
        assert c.put(f"/task_status_sets/{set_id}/update_account_default").status_code == 200
        after = new_workspace("B")
        control = httpx.post(f"{sandbox.base_url}/__sandbox/workspaces", json={"title": "C"})
        new_ws = ids(after.json())[0]
        story = create(c, new_ws, title="t")
        shown = c.get(
            f"/stories/{story['id']}", params={"optional_fields": "custom_task_status_id"}
        )
        statuses = c.get(f"/task_status_sets/{set_id}", params={"include": "custom_task_statuses"})
    first = before.json()["workspaces"][ids(before.json())[0]]
    second = after.json()["workspaces"][ids(after.json())[0]]
    assert first["task_status_set_id"] is None
    assert second["task_status_set_id"] == set_id and second["task_status_set_name"] == "Delivery"
    assert control.json()["workspace"]["task_status_set_id"] == set_id
    # Its tasks take their statuses from the set.
    assert str(_story(shown)["custom_task_status_id"]) in statuses.json()["custom_task_statuses"]


# ---- 7. issue-only states -----------------------------------------------------------------


def test_issue_only_states_are_refused_outside_issues_of_projects_without_a_set(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        task = c.post(
            "/stories", json={"story": {"workspace_id": int(ws), "title": "t", "state": "blocked"}}
        )
        milestone = c.post(
            "/stories",
            json={
                "story": {
                    "workspace_id": int(ws),
                    "title": "m",
                    "story_type": "milestone",
                    "state": "won't fix",
                }
            },
        )
        issue = create(c, ws, title="i", story_type="issue", state="blocked")
        retyped = c.put(f"/stories/{issue['id']}", json={"story": {"story_type": "task"}})
    assert [e["field"] for e in _errors(task)] == ["state"]
    assert [e["field"] for e in _errors(milestone)] == ["state"]
    assert issue["state"] == "blocked"
    assert [e["field"] for e in _errors(retyped)] == ["state"]


def test_issue_only_states_are_refused_in_a_project_with_a_set(sandbox: SandboxServer) -> None:
    with api(sandbox) as c:
        made = c.post("/task_status_sets", json={"task_status_set": {"name": "S"}}).json()
        c.put(f"/task_status_sets/{ids(made)[0]}/update_account_default")
        ws = sandbox.model.create_workspace("With a set")["id"]
        r = c.post(
            "/stories",
            json={
                "story": {
                    "workspace_id": int(ws),
                    "title": "i",
                    "story_type": "issue",
                    "state": "in progress",
                }
            },
        )
    assert [e["field"] for e in _errors(r)] == ["state"]


# ---- 8, 9. ordering -----------------------------------------------------------------------


def test_order_directions_ignore_case_and_importance_puts_critical_first(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        for title, priority in (("n", "normal"), ("c", "critical"), ("l", "low"), ("h", "high")):
            create(c, ws, title=title, priority=priority)

        def order(value: str) -> list[str]:
            return _titles(c.get("/stories", params={"workspace_id": ws, "order": value}).json())

        ascending = order("position:asc")
        assert order("position:DESC") == order("position:desc") == ascending[::-1]
        assert order("position") == ascending
        assert order("importance") == ["c", "h", "n", "l"]
        assert order("importance:desc") == ["l", "n", "h", "c"]


# ---- 10. external reference status --------------------------------------------------------


def test_an_external_reference_status_must_be_pending_successful_or_failed(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    ref = {"service_name": "kxplan", "service_model": "task", "service_model_ref": "k1"}
    with api(server) as c:
        story = create(c, ws, title="t", external_reference={**ref, "status": "successful"})
        nested = c.put(
            f"/stories/{story['id']}",
            json={"story": {"external_reference": {**ref, "status": "done"}}},
        )
        direct = c.post(
            "/external_references/create_or_update",
            json={
                "external_reference": {
                    **ref,
                    "subject_type": "Story",
                    "subject_id": int(story["id"]),
                    "status": "synced",
                }
            },
        )
        kept = c.get(
            "/external_references", params={"subject_type": "Story", "subject_id": story["id"]}
        ).json()
    assert [e["field"] for e in _errors(nested)] == ["external_reference.status"]
    assert [e["field"] for e in _errors(direct)] == ["status"]
    assert [r["status"] for r in kept["external_references"].values()] == ["successful"]


# ---- 11. Rails form-encoded bodies --------------------------------------------------------


def test_rails_form_encoded_bodies_create_and_update_stories(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        single = c.post(
            "/stories",
            content=(
                f"story[workspace_id]={ws}&story[title]=Form+task&story[percentage_complete]=40"
                "&story[billable]=false&story[checklist][]=one&story[checklist][]=two"
            ),
            headers=FORM,
            params={"include": "story_tasks"},
        )
        bulk = c.post(
            "/stories",
            content=f"stories[][workspace_id]={ws}&stories[][title]=A"
            f"&stories[][workspace_id]={ws}&stories[][title]=B",
            headers=FORM,
        )
        story = _story(single)
        update = c.put(f"/stories/{story['id']}", content="story[title]=Renamed", headers=FORM)
        broken = c.post("/stories", content="story=x&story[title]=y", headers=FORM)
    items = single.json()["story_tasks"]
    assert story["title"] == "Form task" and story["percentage_complete"] == 40
    assert story["state"] == "started" and story["billable"] is False
    assert sorted(i["name"] for i in items.values()) == ["one", "two"]
    assert bulk.status_code == 200 and sorted(_titles(bulk.json())) == ["A", "B"]
    assert _story(update)["title"] == "Renamed"
    assert broken.status_code == 400


# ---- 12. state changes name their user ----------------------------------------------------


def test_state_changes_record_the_acting_user(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        story = create(c, ws, title="t")
        c.put(f"/stories/{story['id']}", json={"story": {"percentage_complete": 100}})
        body = c.get(
            "/story_state_changes", params={"story_id": story["id"], "include": "user"}
        ).json()
        one = c.get(f"/story_state_changes/{ids(body)[0]}").json()
    changes = [body["story_state_changes"][i] for i in ids(body)]
    assert [(ch["state"], ch["user_id"]) for ch in changes] == [
        ("not started", USER),
        ("completed", USER),
    ]
    assert list(body["users"]) == [USER]
    assert one["story_state_changes"][ids(body)[0]]["user_id"] == USER
