"""`kxplan drift` on the command line: bad input is exit 1 with no request, Markdown escapes
people's text, and the status history is read the way Kantata may answer (a state change
naming the status, or only its category; newest first whatever the listed order)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kxplan.live._history import setter
from kxplan.model import LiveTask
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, write_manifest


def test_an_invalid_manifest_is_exit_1_before_any_request(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    path = write_manifest(tmp_path / "bad.yaml", {"version": 1, "name": "s", "tasks": [{}]})
    result = kxplan("drift", path, "--api-url", sandbox.url, "--workspace", "1")
    assert result.code == 1
    assert "bad.yaml" in result.err
    assert sandbox.log.entries == ()


def test_a_missing_workspace_is_exit_1_naming_it(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    doc = {"version": 1, "name": "s", "workspace": "Nowhere", "tasks": [{"title": "A"}]}
    result = kxplan("drift", write_manifest(tmp_path / "m.yaml", doc), "--api-url", sandbox.url)
    assert result.code == 1 and "Nowhere" in result.err
    assert [e.method for e in sandbox.log.entries if e.method != "GET"] == []


def test_markdown_escapes_html_and_table_breakers_in_peoples_text(
    sandbox_workspace: tuple[SandboxServer, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ws = sandbox_workspace
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    doc = {"version": 1, "name": "s", "workspace": int(ws),
           "tasks": [{"key": "a", "title": "A", "checklist": ["x"]}]}  # fmt: skip
    path = write_manifest(tmp_path / "m.yaml", doc)
    assert kxplan("apply", path, "--auto-approve", "--api-url", server.url).code == 0
    story = next(iter(server.model.store.all("SELECT id FROM stories")))["id"]
    evil = {"story_task": {"story_id": story, "name": "</details><img src=x> | *boom*"}}
    httpx.post(f"{server.url}/story_tasks", json=evil, headers={"Authorization": "Bearer t"})
    result = kxplan("drift", path, "--api-url", server.url, "--format", "markdown")
    assert result.code == 2, result.text
    assert "<img" not in result.out and "</details>" not in result.out
    row = next(line for line in result.out.splitlines() if "boom" in line)
    assert row.count(" | ") == 4  # five cells: the item's `|` did not add one
    assert "&lt;img src=x&gt; \\| \\*boom\\*" in row


def _task(status: str, state: str) -> LiveTask:
    return LiveTask(id="7", title="T", parent_id=None, status=status, state=state)


def _answer(*changes: tuple[str, str, str, str]) -> dict[str, object]:
    return {
        "count": len(changes),
        "results": [{"key": "story_state_changes", "id": c[0]} for c in changes],
        "story_state_changes": {
            c[0]: {"state": c[1], "formatted_state": c[2], "created_at": c[3], "user_id": "42"}
            for c in changes
        },
        "users": {"42": {"full_name": "Jane Doe"}},
    }


def test_history_prefers_the_newest_change_naming_the_status_in_any_listed_order() -> None:
    body = _answer(
        ("1", "started", "Doing", "2026-11-01T09:00:00Z"),
        ("3", "started", "Review", "2026-11-30T14:02:59Z"),
        ("2", "completed", "Done", "2026-11-20T10:00:00Z"),
    )
    found = setter(_task("Review", "started"), body)
    assert found is not None and found.match == "exact"
    assert (found.who(), found.when()) == ("Jane Doe (#42)", "2026-11-30 14:02 UTC")


def test_history_falls_back_to_the_move_into_the_category_and_says_so() -> None:
    body = _answer(("1", "started", "Started", "2026-11-01T09:00:00-05:00"))
    found = setter(_task("Review", "started"), body)
    assert found is not None and found.match == "category"
    assert found.when() == "2026-11-01 14:00 UTC"
    assert setter(_task("Review", "started"), body, {"review"}).match == "exact"  # type: ignore[union-attr]
    assert setter(_task("Done", "completed"), body) is None
