"""/posts in the sandbox (docs/sandbox.md, "Posts") over a real loopback socket; every
exchange is checked against the official posts OpenAPI by the conformance checker."""

from __future__ import annotations

from typing import Any

import httpx

from kxplan.sandbox import SandboxServer
from kxplan.sandbox.constants import MAX_MESSAGE
from tests.support import api, create, ids

Sandbox = tuple[SandboxServer, str]


def _post(client: httpx.Client, ws: str, message: str, **fields: Any) -> dict[str, Any]:
    r = client.post(
        "/posts", json={"post": {"workspace_id": int(ws), "message": message, **fields}}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body["posts"][ids(body)[0]]


def test_a_post_is_created_shown_updated_and_deleted(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as client:
        task = create(client, ws, title="Kickoff")
        post = _post(client, ws, "Welcome!")
        assert (post["message"], post["workspace_id"], post["reply"]) == ("Welcome!", ws, False)
        assert post["story_id"] is None and post["reply_count"] == 0
        put = client.put(
            f"/posts/{post['id']}", json={"post": {"message": "Hello", "story_id": int(task["id"])}}
        )
        assert put.status_code == 200
        shown = client.get(f"/posts/{post['id']}").json()["posts"][post["id"]]
        assert (shown["message"], shown["story_id"]) == ("Hello", task["id"])
        assert client.delete(f"/posts/{post['id']}").status_code == 204
        assert client.get(f"/posts/{post['id']}").status_code == 404


def test_validation_message_required_limit_and_task_of_the_workspace(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    other = server.model.create_workspace("Other")
    with api(server) as client:
        foreign = create(client, str(other["id"]), title="Elsewhere")
        blank = client.post("/posts", json={"post": {"workspace_id": int(ws), "message": " "}})
        long = client.post(
            "/posts", json={"post": {"workspace_id": int(ws), "message": "x" * (MAX_MESSAGE + 1)}}
        )
        wrong_task = client.post(
            "/posts",
            json={
                "post": {"workspace_id": int(ws), "message": "m", "story_id": int(foreign["id"])}
            },
        )
        for r, field in ((blank, "message"), (long, "message"), (wrong_task, "story_id")):
            assert r.status_code == 422
            assert r.json()["errors"][0]["field"] == field
        assert "maximum is" in long.json()["errors"][0]["message"]
        assert client.get("/posts", params={"workspace_id": ws}).json()["count"] == 0


def test_replies_count_and_are_included_with_replies(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as client:
        post = _post(client, ws, "Plan is live")
        reply = client.post(
            "/posts",
            json={
                "post": {
                    "workspace_id": int(ws),
                    "message": "Thanks",
                    "subject_type": "Post",
                    "subject_id": int(post["id"]),
                }
            },
        ).json()
        reply_obj = reply["posts"][ids(reply)[0]]
        assert reply_obj["reply"] is True and reply_obj["subject_id"] == int(post["id"])
        body = client.get(
            "/posts", params={"workspace_id": ws, "parents_only": "true", "include": "replies"}
        ).json()
        assert ids(body) == [post["id"]]
        parent = body["posts"][post["id"]]
        assert parent["reply_count"] == 1 and parent["reply_ids"] == [reply_obj["id"]]
        assert reply_obj["id"] in body["posts"]  # side-loaded
        everything = client.get("/posts", params={"workspace_id": ws}).json()
        assert sorted(ids(everything)) == sorted([post["id"], reply_obj["id"]])
        client.delete(f"/posts/{post['id']}")
        assert client.get("/posts", params={"workspace_id": ws}).json()["count"] == 0


def test_filters_by_task_and_external_reference(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as client:
        a, b = create(client, ws, title="A"), create(client, ws, title="B")
        on_a = _post(client, ws, "on a", story_id=int(a["id"]))
        on_b = _post(client, ws, "on b", story_id=int(b["id"]))
        loose = _post(client, ws, "loose")
        ref = {
            "subject_type": "Post",
            "subject_id": int(loose["id"]),
            "service_name": "kxplan",
            "service_model": "stack",
            "service_model_ref": "welcome",
        }
        made = client.post(
            "/external_references/create_or_update", json={"external_reference": ref}
        )
        assert made.status_code == 200

        def listed(**params: str) -> list[str]:
            return ids(client.get("/posts", params={"workspace_id": ws, **params}).json())

        assert listed(story_id=a["id"]) == [on_a["id"]]
        assert sorted(listed(story_ids=f"{a['id']},{b['id']}")) == sorted([on_a["id"], on_b["id"]])
        assert listed(external_reference_service_name="kxplan") == [loose["id"]]
        assert sorted(listed(without_external_reference_service_name="kxplan")) == sorted(
            [on_a["id"], on_b["id"]]
        )
        assert listed(has_external_references="true") == [loose["id"]]
        marked = client.get(
            f"/posts/{loose['id']}", params={"include": "external_references"}
        ).json()
        (ref_id,) = marked["posts"][loose["id"]]["external_reference_ids"]
        assert marked["external_references"][ref_id]["service_model_ref"] == "welcome"


def test_order_paging_and_times(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as client:
        made = [_post(client, ws, f"post {i}")["id"] for i in range(5)]
        page = client.get(
            "/posts", params={"workspace_id": ws, "per_page": 2, "order": "newest_reply_at:asc"}
        ).json()
        assert page["count"] == 5 and page["meta"]["page_count"] == 3
        assert ids(page) == made[:2]  # same instant: the id tie-breaker
        before = client.get(
            "/posts", params={"workspace_id": ws, "created_before": "2000-01-01T00:00:00Z"}
        ).json()
        assert before["count"] == 0
        only = client.get("/posts", params={"only": f"{made[1]},{made[3]}"}).json()
        assert sorted(ids(only)) == sorted([made[1], made[3]])


def test_posts_of_archived_workspaces_are_hidden_unless_asked_for(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as client:
        post = _post(client, ws, "Before archiving")
        client.put(f"/workspaces/{ws}", json={"workspace": {"archived": True}})
        assert client.get("/posts", params={"workspace_id": ws}).json()["count"] == 0
        assert client.get(f"/posts/{post['id']}").status_code == 404
        flag = {"from_archived_workspaces": "true"}
        assert client.get("/posts", params={"workspace_id": ws, **flag}).json()["count"] == 1
        assert client.get(f"/posts/{post['id']}", params=flag).status_code == 200


def test_bulk_create_and_includes_of_user_story_and_workspace(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as client:
        task = create(client, ws, title="T")
        items = [{"workspace_id": int(ws), "message": f"m{i}"} for i in range(3)]
        items[2]["story_id"] = int(task["id"])
        body = client.post(
            "/posts", json={"posts": items}, params={"include": "user,story,workspace"}
        ).json()
        assert body["count"] == 3
        assert task["id"] in body["stories"] and ws in body["workspaces"]
        assert len(body["users"]) == 1
        too_many = [{"workspace_id": int(ws), "message": "x"}] * 101
        assert client.post("/posts", json={"posts": too_many}).status_code == 422
        # A person's post, written directly in the model as another user.
        theirs = server.model.create_post(ws, "Mine", user_id=300_777)
        shown = client.get(f"/posts/{theirs}", params={"include": "user"}).json()
        assert shown["posts"][theirs]["user_id"] == "300777" and "300777" in shown["users"]
