"""The conformance checker itself: it must catch what the documents forbid, or it proves nothing."""

from __future__ import annotations

from typing import Any

from kxplan.sandbox.server import Exchange
from tests.sandbox.conformance import check_exchange

STORY = {"id": "1", "title": "T", "parent_id": None, "priority": "high", "workspace_id": "9"}


def _get_stories(body: dict[str, Any], status: int = 200) -> list[str]:
    return check_exchange(Exchange("GET", "/stories", {}, None, status, body))


def test_a_documented_story_page_passes_with_nulls_and_string_priority() -> None:
    body = {
        "count": 1,
        "meta": {},
        "results": [{"key": "stories", "id": "1"}],
        "stories": {"1": STORY},
    }
    assert _get_stories(body) == []


def test_invented_fields_wrong_types_and_unknown_top_level_keys_are_caught() -> None:
    bad_story = {**STORY, "title": 3, "invented": True}
    body = {"count": "1", "results": [], "stories": {"1": bad_story}, "extras": {}}
    problems = "\n".join(_get_stories(body))
    assert "'invented' was unexpected" in problems
    assert "title: 3 is not of type" in problems
    assert "'extras' was unexpected" in problems
    assert "count: '1' is not of type" in problems


def test_request_bodies_are_checked_against_the_request_schema() -> None:
    bulk = {"stories": [{"workspace_id": 1, "title": "ok"}, {"workspace_id": "x", "colour": 1}]}
    problems = check_exchange(
        Exchange("POST", "/stories", {}, bulk, 200, {"count": 0, "results": []})
    )
    assert problems and all("stories[1]" in p for p in problems)
    assert any("colour" in p for p in problems) and any("workspace_id" in p for p in problems)


def test_undocumented_statuses_and_operations_are_reported() -> None:
    errors = {"errors": [{"type": "system", "message": "Not found"}]}
    assert check_exchange(Exchange("GET", "/stories", {}, None, 418, errors))
    assert check_exchange(Exchange("PATCH", "/stories", {}, None, 200, {}))
    assert check_exchange(Exchange("GET", "/stories", {}, None, 429, errors)) == []
    assert check_exchange(Exchange("DELETE", "/stories/{id}", {}, None, 204, {"x": 1}))
