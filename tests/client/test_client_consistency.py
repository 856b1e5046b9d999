"""Reads that contradict themselves are read once more, then stop the run before any write.

The two probes of issue 10: a full page of 200 stories that says `count: 150`, and stories
listing `external_reference_ids` whose references are not in the response. Both once planned
creates of tasks that existed (400 stories for 300 tasks; real tasks moved under copies).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kxplan.client import KantataClient, Records
from kxplan.errors import InconsistentReadError
from kxplan.live import read_live
from kxplan.live._checks import story_check, story_problems
from kxplan.sandbox import Faults
from tests.support import kxplan

TOKEN = "consistency-token"
WRITES = ("POST", "PUT", "DELETE", "PATCH")


def _manifest(path: Path, n: int) -> Path:
    tasks: list[dict[str, Any]] = [{"key": f"t{i}", "title": f"Task {i}"} for i in range(n)]
    for i in range(0, n, 10):  # some subtasks, so a lost marker would move real tasks
        tasks[i]["children"] = [{"key": f"t{i}-sub", "title": f"Subtask {i}"}]
    doc = {"version": 1, "name": "probe", "workspace": "Probe", "tasks": tasks}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def applied(
    make_sandbox: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Path]:
    """A sandbox whose workspace already holds the 300 tasks of the manifest."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server = make_sandbox()
    server.on_response = None  # the liar faults break the envelope rules on purpose
    server.model.create_workspace("Probe")
    manifest = _manifest(tmp_path / "probe.yaml", 270)  # 270 tasks + 27 subtasks
    first = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url)
    assert first.code == 0, first.text
    return server, manifest


def _writes(server: Any) -> int:
    return sum(server.log.count(method) for method in WRITES)


@pytest.mark.parametrize(
    "faults",
    [Faults(lie_count=-147), Faults(hide_markers=True)],
    ids=["full-page-count-150", "markers-announced-but-absent"],
)
def test_a_self_contradicting_read_stops_plan_and_apply_before_any_write(
    applied: tuple[Any, Path], faults: Faults
) -> None:
    server, manifest = applied
    before = _writes(server)
    server.faults = faults

    plan = kxplan("plan", manifest, "--api-url", server.url)
    apply = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url)

    for result in (plan, apply):
        assert result.code == 1, result.text
        assert "GET /stories" in result.err and "contradicted itself" in result.err
        assert "to add" not in result.out
    assert _writes(server) == before  # nothing was written on the strength of a bad read
    server.faults = Faults()
    assert kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode").code == 0


def test_a_contradiction_that_clears_on_the_second_read_is_planned_normally(
    applied: tuple[Any, Path],
) -> None:
    server, manifest = applied
    server.faults = Faults(lie_count=-147)
    stories_reads = server.log.count("GET", "/stories")

    def honest_after_first_lie(exchange: Any) -> None:
        if exchange.route == "/stories":
            server.faults = Faults()

    server.on_response = honest_after_first_lie
    result = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")

    assert result.code == 0, result.text
    assert "No changes" in result.out
    # The lie (one page, count 150) costs one page; the honest read takes the two pages.
    assert server.log.count("GET", "/stories") - stories_reads == 3


# ------------------------------------------------------------------ a hand-written liar


def _story(sid: int, **extra: Any) -> dict[str, Any]:
    return {"id": str(sid), "title": f"S{sid}", "parent_id": None, **extra}


def _envelope(stories: list[dict[str, Any]], count: int | None = None, **maps: Any) -> Any:
    return {
        "count": len(stories) if count is None else count,
        "results": [{"key": "stories", "id": s["id"]} for s in stories],
        "stories": {s["id"]: s for s in stories},
        **maps,
    }


def _client(bodies: list[Any]) -> tuple[KantataClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=bodies[min(len(seen), len(bodies)) - 1])

    transport = httpx.MockTransport(handler)
    return KantataClient("https://k.test/api/v1", TOKEN, transport=transport), seen


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (_envelope([_story(1), _story(2)], count=3), "`count` says 3 but the pages held 2"),
        (_envelope([_story(1), _story(2, parent_id="9")]), "parent_id 9"),
        (_envelope([_story(1, tag_ids=["5"])], tags={}), "tag_ids 5 not served"),
        (
            _envelope([_story(1, story_task_ids=["8"])], story_tasks={}),
            "story_task_ids 8 not served",
        ),
        (
            _envelope([_story(1, external_reference_ids=["4"])], external_references={}),
            "external_reference_ids 4 not served",
        ),
        (
            {
                **_envelope([_story(1)], count=2),
                "results": [{"key": "stories", "id": "1"}, {"key": "stories", "id": "2"}],
            },
            "stories 2 in `results` without the object",
        ),
    ],
    ids=["count", "parent", "tags", "checklist", "markers", "results"],
)
def test_each_kind_of_contradiction_is_read_twice_then_named(body: Any, problem: str) -> None:
    client, seen = _client([body])
    with pytest.raises(InconsistentReadError) as info:
        client.get_all("/stories", {"workspace_id": 1}, check=story_problems)
    assert [r.url.params["page"] for r in seen].count("1") == 2  # read once more, no more
    assert problem in str(info.value)
    assert "before changing anything" in info.value.format()


def test_more_results_on_a_page_than_it_can_hold_is_a_contradiction() -> None:
    stories = [_story(i) for i in range(1, 202)]
    client, seen = _client([_envelope(stories, count=201)])
    with pytest.raises(InconsistentReadError, match="page 1 has 201 results"):
        client.get_all("/stories")
    assert len(seen) == 4  # two pages (201 of 200 a page), read twice


def test_story_problems_accepts_a_consistent_listing() -> None:
    env = _envelope(
        [_story(1, tag_ids=["5"]), _story(2, parent_id="1", external_reference_ids=[])],
        tags={"5": {"id": "5", "name": "x"}},
        external_references={},
    )
    records = Records(
        tuple(env["stories"].values()),
        {"stories": env["stories"], "tags": env["tags"], "external_references": {}},
        2,
        1,
    )
    assert story_problems(records) == []


def test_an_archived_workspace_is_read_with_its_tasks_not_as_empty(
    applied: tuple[Any, Path],
) -> None:
    server, manifest = applied
    ws = server.model.workspace_titled("Probe")
    assert ws is not None
    server.model.update_workspace(int(ws["id"]), {"archived": True})

    with KantataClient(server.url, TOKEN) as client:
        live = read_live(client, "Probe")
    result = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")

    assert len(live.tasks) == 297
    assert result.code == 0, result.text
    assert "to add" not in result.out


@pytest.mark.parametrize("parent_deleted", [True, False])
def test_a_subtask_of_a_deleted_parent_is_not_a_contradiction(parent_deleted: bool) -> None:
    """A server that does not cascade deletes may leave subtasks pointing at a deleted parent
    it does not side-load; one `only_deleted` look-up tells that from a broken read."""
    listing = _envelope([_story(1), _story(2, parent_id="9")])
    deleted = _envelope([_story(9, deleted_at="2026-01-01T00:00:00Z")] if parent_deleted else [])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("only_deleted") == "true":
            assert request.url.params["only"] == "9"
            return httpx.Response(200, json=deleted)
        return httpx.Response(200, json=listing)

    client = KantataClient("https://k.test/api/v1", TOKEN, transport=httpx.MockTransport(handler))
    if parent_deleted:
        assert len(client.get_all("/stories", check=story_check(client))) == 2
    else:
        with pytest.raises(InconsistentReadError, match="parent_id 9"):
            client.get_all("/stories", check=story_check(client))
