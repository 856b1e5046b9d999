"""Verification after status, status-set and workspace writes (kxplan.apply._verify): the
workspace is read again by id, the account's status sets once, and the stories only when
the workspace had tasks before such a write (docs/apply.md, "Verification"). Request
counts, never times; and what the re-read sets show wrong is still found."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import kxplan.apply._verify as verify
from kxplan.model import LiveStatusSet
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan

VERIFIED = "Verified: the workspace matches the manifest."

MANIFEST = """\
version: 1
name: solo
workspace: {workspace}
status_set:
  name: Solo workflow
  statuses:
    - {{name: Backlog, category: not started}}
    - {{name: {doing}, category: started}}
    - {{name: Done, category: completed}}
tasks:
  - key: kickoff
    title: Kickoff
    status: Backlog
  - key: review
    title: Review
    status: Done
"""


def _counts(server: SandboxServer, since: int = 0) -> Counter[tuple[str, str]]:
    return Counter((e.method, e.route) for e in server.log.entries[since:])


@pytest.fixture
def solo(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    sandbox.model.create_workspace("Solo")
    path = tmp_path / "solo.yaml"

    def write(workspace: str = "Solo", doing: str = "In progress") -> Path:
        path.write_text(MANIFEST.format(workspace=workspace, doing=doing), encoding="utf-8")
        return path

    return sandbox, write


def _apply(server: SandboxServer, path: Path) -> Any:
    return kxplan("apply", path, "--auto-approve", "--api-url", server.url)


def test_a_bootstrap_with_a_status_set_reads_the_sets_and_the_workspace_not_the_stories(
    solo: Any,
) -> None:
    server, write = solo
    result = _apply(server, write())
    assert result.code == 0, result.text
    assert VERIFIED in result.out
    counts = _counts(server)
    assert counts[("POST", "/task_status_sets")] == 1
    assert counts[("PUT", "/workspace_task_status_sets/bulk_update")] == 1
    # The plan's page of stories and the guard's two marker look-ups; no list after.
    assert counts[("GET", "/stories")] == 1 + 2
    # The sets: the plan's read and one after the writes; the workspace: the plan's
    # look-up, and once by id after its set was switched (the answer does not show it).
    assert counts[("GET", "/task_status_sets")] == 2
    assert counts[("GET", "/workspaces")] == 1
    assert counts[("GET", "/workspaces/{id}")] == 1
    again = kxplan("plan", write(), "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text


def _changed_and_verified(solo: Any, **edit: str) -> Counter[tuple[str, str]]:
    """Bootstrap the manifest, apply it with `edit`: that apply's requests (it verified)."""
    server, write = solo
    assert _apply(server, write()).code == 0
    since = len(server.log.entries)
    result = _apply(server, write(**edit))
    assert result.code == 0, result.text
    assert VERIFIED in result.out
    return _counts(server, since)


def test_a_status_rename_in_a_workspace_with_tasks_reads_it_all_again(solo: Any) -> None:
    counts = _changed_and_verified(solo, doing="Doing")
    assert counts[("PUT", "/custom_task_statuses/{id}")] >= 1
    # A renamed status is renamed on every task holding it: the stories are listed again.
    assert counts[("GET", "/stories")] == 2


def test_a_workspace_field_change_reads_the_workspace_only(solo: Any) -> None:
    counts = _changed_and_verified(solo, workspace='{title: Solo, description: "Just us"}')
    assert counts[("PUT", "/workspaces/{id}")] == 1
    assert counts[("GET", "/workspaces/{id}")] == 1
    assert counts[("GET", "/stories")] == 1  # the plan's page only
    assert counts[("GET", "/task_status_sets")] == 1  # the plan's read only


def test_sets_read_again_that_differ_from_the_plan_fail_the_verification(
    solo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sets read after the writes are what the verification plans against: a status
    stored otherwise is reported."""
    server, write = solo
    read = verify.read_status_sets

    def otherwise(client: Any) -> tuple[LiveStatusSet, ...]:
        sets = read(client)
        return tuple(
            replace(
                one,
                statuses=tuple(
                    replace(s, name="Done otherwise") if s.name == "Done" else s
                    for s in one.statuses
                ),
            )
            for one in sets
        )

    monkeypatch.setattr(verify, "read_status_sets", otherwise)
    result = _apply(server, write())
    assert result.code == 1, result.text
    assert "still pending after apply" in result.text
    assert VERIFIED not in result.out
