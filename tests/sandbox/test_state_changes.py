"""GET /story_state_changes: who made each change (the person behind the token), the
documented filters, order, paging and includes, and when a custom status change is recorded
(variant `state_changes`). Responses are checked against the official schemas by the
`make_sandbox` fixture."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kxplan.sandbox import SandboxServer, Variants

JANE = {"full_name": "Jane Doe", "token": "jane-token", "id": 300042}
SET = {"name": "Flow"}


def _call(server: SandboxServer, method: str, path: str, token: str = "t", **kw: Any) -> Any:
    answer = httpx.request(
        method, f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, **kw
    )
    assert answer.status_code in (200, 204), answer.text
    return answer.json() if answer.content else None


def _changes(server: SandboxServer, story: str, **params: Any) -> Any:
    return _call(server, "GET", "/story_state_changes", params={"story_id": story, **params})


def _listed(body: Any) -> list[dict[str, Any]]:
    return [body["story_state_changes"][r["id"]] for r in body["results"]]


def _story(server: SandboxServer, ws: str, **attrs: Any) -> str:
    body = {"story": {"title": "T", "workspace_id": int(ws), **attrs}}
    return str(_call(server, "POST", "/stories", json=body)["results"][0]["id"])


def test_a_registered_persons_token_acts_as_them_and_include_user_names_them(
    sandbox_workspace: tuple[SandboxServer, str],
) -> None:
    server, ws = sandbox_workspace
    server.model.register_user(JANE)
    story = _story(server, ws)
    _call(server, "PUT", f"/stories/{story}", "jane-token", json={"story": {"state": "started"}})
    body = _changes(server, story, include="user")
    assert [(c["state"], c["user_id"]) for c in _listed(body)] == [
        ("not started", "300001"),
        ("started", "300042"),
    ]
    assert body["users"]["300042"]["full_name"] == "Jane Doe"
    assert body["users"]["300001"]["full_name"] == "Sandbox User"


def test_registering_needs_a_name_and_a_free_token(sandbox: SandboxServer) -> None:
    url = f"http://{sandbox.host}:{sandbox.port}/__sandbox/users"
    assert httpx.post(url, json=JANE).status_code == 200
    again = httpx.post(url, json={**JANE, "id": 300043})
    nameless = httpx.post(url, json={"token": "x"})
    assert again.status_code == 422 and "token" in again.text
    assert nameless.status_code == 422 and "full_name" in nameless.text


def test_with_a_fixed_token_a_registered_persons_token_is_accepted_too(
    make_sandbox: Any,
) -> None:
    server = make_sandbox(token="the-token")
    server.model.register_user(JANE)
    ws = server.model.create_workspace("W")["id"]
    for token, status in (("the-token", 200), ("jane-token", 200), ("other", 401)):
        got = httpx.get(
            f"{server.url}/stories",
            params={"workspace_id": ws},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert got.status_code == status


def test_order_filters_paging_and_story_include(
    sandbox_workspace: tuple[SandboxServer, str],
) -> None:
    server, ws = sandbox_workspace
    story = _story(server, ws)
    for state in ("started", "needs info", "completed"):
        _call(server, "PUT", f"/stories/{story}", json={"story": {"state": state}})
    newest = _listed(_changes(server, story, order="created_at:desc"))
    assert [c["state"] for c in newest] == ["completed", "needs info", "started", "not started"]
    page = _changes(server, story, per_page=2, page=2)
    assert page["count"] == 4 and len(page["results"]) == 2
    assert _changes(server, story, created_after="2999-01-01T00:00:00Z")["count"] == 0
    with_story = _changes(server, story, include="story")
    assert list(with_story["stories"]) == [story]
    missing = httpx.get(f"{server.url}/story_state_changes", headers={"Authorization": "Bearer t"})
    assert missing.status_code == 422 and "story_id" in missing.text


@pytest.mark.parametrize(("answer", "recorded"), [("state", 1), ("status", 2)])
def test_a_custom_status_change_inside_a_category_is_recorded_only_under_status(
    sandbox_workspace: tuple[SandboxServer, str], answer: str, recorded: int
) -> None:
    server, ws = sandbox_workspace
    server.variants = Variants(state_changes=answer)
    made = _call(server, "POST", "/task_status_sets", json={"task_status_set": SET})
    set_id = made["results"][0]["id"]
    for name in ("Doing", "Review"):
        body = {"custom_task_status": {"status_set_id": int(set_id), "status": name,
                                       "category": "started"}}  # fmt: skip
        _call(server, "POST", "/custom_task_statuses", json=body)
    assign = {
        "workspace_task_status_sets": [{"workspace_id": int(ws), "status_set_id": int(set_id)}]
    }
    _call(server, "PUT", "/workspace_task_status_sets/bulk_update", json=assign)
    story = _story(server, ws, status="Doing")
    _call(server, "PUT", f"/stories/{story}", json={"story": {"status": "Review"}})
    changes = _listed(_changes(server, story))
    assert len(changes) == recorded
    if answer == "status":
        assert [c["formatted_state"] for c in changes] == ["Doing", "Review"]
    else:
        assert changes[0]["formatted_state"] == "Started"
