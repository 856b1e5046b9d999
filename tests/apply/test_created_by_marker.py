"""Created stories are told apart by their markers, never by their place in `results`: a
response that names fewer markers than were sent is completed by a look-up, and a task no
story carries is an error that names it, never a change reported as applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import ApplyFailed, apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, duplicates, write_manifest

STACK = "marked"


class _Client(KantataClient):
    """A client whose create responses lose their markers, or whose creates lose the marker
    they send, as a server that answers differently would."""

    def __init__(self, url: str, *, strip_response: bool = False, drop_marker: str = "") -> None:
        super().__init__(url, TOKEN)
        self.strip_response = strip_response
        self.drop_marker = drop_marker

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
    ) -> dict[str, Any]:
        creating = method == "POST" and path == "/stories"
        if creating and self.drop_marker:
            for item in json["stories"]:
                if item["external_reference"]["service_model_ref"] == self.drop_marker:
                    del item["external_reference"]
        body = super().request(method, path, params=params, json=json)
        if creating and self.strip_response:
            body.pop("external_references", None)
            for story in body.get("stories", {}).values():
                story.pop("external_reference_ids", None)
        return body


def _plan(sandbox: SandboxServer, tmp_path: Path) -> Any:
    ws = int(sandbox.model.create_workspace("Marked")["id"])
    doc = {
        "version": 1,
        "name": STACK,
        "workspace": ws,
        "tasks": [
            {"key": "a", "title": "A", "children": [{"key": "a1", "title": "Same title"}]},
            {"key": "b", "title": "B", "children": [{"key": "b1", "title": "Same title"}]},
        ],
    }
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", doc))
    with KantataClient(sandbox.url, TOKEN) as client:
        return ws, build_plan(manifest, read_live(client, ws), PlanOptions())


def test_a_response_without_markers_is_completed_by_a_look_up_by_marker(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    ws, plan = _plan(sandbox, tmp_path)
    with _Client(sandbox.url, strip_response=True) as client:
        result = apply_plan(plan, client)
        live = read_live(client, ws)
    assert len(result.applied) == 4
    assert sandbox.log.count("POST", "/stories") == 2  # one per level, never re-sent
    assert result.extra_requests == 2  # one look-up by marker per batch
    by_key = {t.key_for(STACK): t for t in live.tasks}
    assert by_key["a1"].parent_id == by_key["a"].id and by_key["b1"].parent_id == by_key["b"].id
    assert duplicates(live, STACK) == []


def test_a_task_no_created_story_carries_stops_the_apply_naming_it(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    _, plan = _plan(sandbox, tmp_path)
    with (
        _Client(sandbox.url, drop_marker="b") as client,
        pytest.raises(ApplyFailed) as failed,
    ):
        apply_plan(plan, client)
    text = failed.value.format()
    assert "no story carries the marker of task 'b'" in text
    assert "b" not in {c.key for c in failed.value.applied}
    assert {c.key for c in failed.value.applied} == {"a"}  # a1 was never sent under a guess
