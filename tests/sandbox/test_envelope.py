"""Envelopes and paging exactly as docs/kantata-api.md ("Envelopes", "Paging, filters,
includes") describes them, over a real loopback socket."""

from __future__ import annotations

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import api, create, ids

Sandbox = tuple[SandboxServer, str]


def _seed(server: SandboxServer, ws: str, n: int) -> list[str]:
    return server.model.create_stories(ws, [{"title": f"T{i:04d}"} for i in range(n)])


@pytest.mark.parametrize(
    ("n", "page_count"), [(0, 0), (1, 1), (200, 1), (201, 2)], ids=["0", "1", "200", "201"]
)
def test_paging_edges_report_count_and_meta_the_brainstem_way(
    sandbox_workspace: Sandbox, n: int, page_count: int
) -> None:
    server, ws = sandbox_workspace
    _seed(server, ws, n)
    with api(server) as c:
        body = c.get("/stories", params={"workspace_id": ws, "per_page": 200}).json()
        last = c.get("/stories", params={"workspace_id": ws, "per_page": 200, "page": 2}).json()
    assert body["count"] == n
    assert body["meta"] == {
        "count": n,
        "page_count": page_count,
        "page_number": 1 if n else 0,
        "page_size": 200,
    }
    assert len(body["results"]) == min(n, 200)
    assert list(body["stories"]) == ids(body)  # nothing side-loaded without includes
    assert len(last["results"]) == max(n - 200, 0)
    if n == 0:
        assert body["stories"] == {}


def test_per_page_above_200_is_silently_clamped_and_defaults_to_20(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    _seed(server, ws, 230)
    with api(server) as c:
        big = c.get("/stories", params={"workspace_id": ws, "per_page": 500}).json()
        default = c.get("/stories", params={"workspace_id": ws}).json()
        zero = c.get("/stories", params={"workspace_id": ws, "per_page": 0}).json()
    assert len(big["results"]) == 200 and big["meta"]["page_size"] == 200
    assert big["meta"]["page_count"] == 2
    assert len(default["results"]) == 20 and default["meta"]["page_count"] == 12
    assert zero["meta"]["page_size"] == 20


def test_a_page_past_the_end_is_empty_but_keeps_the_requested_page_number(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    _seed(server, ws, 3)
    with api(server) as c:
        body = c.get("/stories", params={"workspace_id": ws, "page": 7}).json()
    assert body["count"] == 3 and body["results"] == [] and body["stories"] == {}
    assert body["meta"]["page_number"] == 7


def test_only_disables_paging_and_ignores_missing_ids(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    made = _seed(server, ws, 250)
    wanted = ",".join([*made[:230], "123", "abc", made[0]])
    with api(server) as c:
        body = c.get("/stories", params={"only": wanted, "per_page": 5}).json()
        none = c.get("/stories", params={"only": "1,2,3"}).json()
    assert body["count"] == 230 and sorted(ids(body)) == sorted(made[:230])
    assert none["count"] == 0 and none["results"] == [] and none["stories"] == {}


def test_limit_and_offset_win_over_page_and_per_page(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    made = _seed(server, ws, 30)
    params = {"workspace_id": ws, "order": "created_at:asc", "limit": 5, "offset": 10}
    with api(server) as c:
        body = c.get("/stories", params={**params, "page": 3, "per_page": 2}).json()
    assert ids(body) == made[10:15]


def test_order_breaks_ties_by_id_so_paging_is_stable(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    made = _seed(server, ws, 45)  # all created in the same second: created_at ties
    seen: list[str] = []
    with api(server) as c:
        for page in (1, 2, 3):
            params = {"workspace_id": ws, "order": "created_at:asc", "page": page}
            seen += ids(c.get("/stories", params=params).json())
        desc = ids(c.get("/stories", params={"workspace_id": ws, "order": "bogus:desc"}).json())
    assert seen == made  # ascending ids within equal timestamps
    assert len(desc) == 20  # an unknown order falls back silently


def test_paths_work_with_and_without_json_suffix(sandbox_workspace: Sandbox) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        story = create(c, ws, title="Suffix")
        plain = c.get(f"/stories/{story['id']}").json()
        suffixed = c.get(f"/stories/{story['id']}.json").json()
        listed = c.get("/workspaces.json").json()
    assert plain == suffixed and ids(plain) == [story["id"]]
    assert ids(listed) == [ws]


def test_include_keys_are_present_when_empty_and_ids_are_strings(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        story = create(c, ws, title="Lonely")
        body = c.get(
            "/stories",
            params={"workspace_id": ws, "include": "story_tasks,tags,external_references,nope"},
        ).json()
    assert body["story_tasks"] == {} and body["tags"] == {} and body["external_references"] == {}
    assert "nope" not in body  # unknown includes are ignored
    obj = body["stories"][story["id"]]
    assert obj["id"] == story["id"] and obj["workspace_id"] == ws and obj["parent_id"] is None
    assert obj["story_task_ids"] == [] and obj["tag_ids"] == []
    assert "sub_story_ids" not in obj  # *_ids only with their include


def test_side_loaded_parents_and_children_merge_into_stories_but_not_results(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    with api(server) as c:
        top = create(c, ws, title="Top")
        mid = create(c, ws, title="Mid", parent_id=int(top["id"]))
        leaf = create(c, ws, title="Leaf", parent_id=int(mid["id"]))
        body = c.get(
            "/stories",
            params={"with_parent_id": mid["id"], "include": "parent,sub_stories,ancestors"},
        ).json()
        subs = c.get(
            "/stories", params={"only": top["id"], "include": "sub_stories,descendants"}
        ).json()
    assert ids(body) == [leaf["id"]]
    assert set(body["stories"]) == {top["id"], mid["id"], leaf["id"]}
    assert body["stories"][leaf["id"]]["ancestor_ids"] == [top["id"], mid["id"]]
    assert "ancestor_ids" not in body["stories"][top["id"]]  # side-loads carry no includes
    assert subs["stories"][top["id"]]["sub_story_ids"] == [mid["id"]]
    assert subs["stories"][top["id"]]["descendant_ids"] == [mid["id"], leaf["id"]]
    assert subs["stories"][top["id"]]["sub_story_count"] == 2


def test_include_story_tasks_returns_every_checklist_item_of_every_story(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    items = [{"title": f"S{i}", "checklist": [f"c{i}-{j}" for j in range(30)]} for i in range(200)]
    server.model.create_stories(ws, items)
    with api(server) as c:
        body = c.get(
            "/stories", params={"workspace_id": ws, "per_page": 200, "include": "story_tasks"}
        ).json()
    assert len(body["story_tasks"]) == 6000
    first = body["stories"][ids(body)[0]]
    names = [body["story_tasks"][i]["name"] for i in first["story_task_ids"]]
    assert names == [f"{first['title'].replace('S', 'c')}-{j}" for j in range(30)]


def test_default_filters_hide_deleted_archived_and_archived_workspaces(
    sandbox_workspace: Sandbox,
) -> None:
    server, ws = sandbox_workspace
    other = server.model.create_workspace("Old project", archived=True)
    with api(server) as c:
        kept = create(c, ws, title="Kept")
        archived = create(c, ws, title="Archived", archived=True)
        gone = create(c, ws, title="Gone")
        create(c, other["id"], title="In archived project")
        assert c.delete(f"/stories/{gone['id']}").status_code == 204

        def listed(**params: str) -> set[str]:
            return set(ids(c.get("/stories", params={"per_page": "200", **params}).json()))

        assert listed() == {kept["id"]}
        assert listed(show_archived="true") == {kept["id"], archived["id"]}
        assert listed(show_deleted="true") == {kept["id"], gone["id"]}
        assert listed(only_deleted="true") == {gone["id"]}
        assert listed(archived="only") == {archived["id"]}
        assert len(listed(show_from_archived_workspaces="true")) == 2
        assert c.get(f"/stories/{gone['id']}").status_code == 404
        shown = c.get(f"/stories/{gone['id']}", params={"show_deleted": "true"}).json()
        assert shown["stories"][gone["id"]]["deleted_at"] is not None


def test_workspaces_list_hides_archived_and_matches_title_prefixes(sandbox: SandboxServer) -> None:
    acme = sandbox.model.create_workspace("Acme — Onboarding")
    sandbox.model.create_workspace("Beta rollout")
    old = sandbox.model.create_workspace("Acme archive", archived=True)
    with api(sandbox) as c:
        matched = c.get("/workspaces", params={"matching": "acme onb"}).json()
        everything = c.get("/workspaces", params={"include_archived": "true"}).json()
        shown = c.get(f"/workspaces/{old['id']}").json()
    assert ids(matched) == [acme["id"]]
    assert everything["count"] == 3
    assert shown["workspaces"][old["id"]]["archived"] is True
    assert shown["workspaces"][old["id"]]["task_status_set_id"] is None
