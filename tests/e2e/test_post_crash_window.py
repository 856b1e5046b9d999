"""A post is created in two requests, `POST /posts` then its marker (docs/apply.md, "Posts"):
an apply killed between the two leaves the post unmarked, and the next apply marks that
post instead of writing a second one. A person's post with the same words is never taken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from kxplan.sandbox.wire import Arrival
from tests.support import TOKEN, MakeSandbox, kxplan, write_manifest

from .scenario import STACK, WORKSPACE

ROOT = Path(__file__).resolve().parents[2]
PERSON = 300_777
WELCOME = "Welcome, Acme! The plan lives in git."
MARKER = "/external_references/create_or_update"


def _doc() -> dict[str, Any]:
    return {
        "version": 1,
        "name": STACK,
        "workspace": WORKSPACE,
        "vars": {"client": "Acme"},
        "tasks": [{"key": "kickoff", "title": "Kickoff"}],
        "posts": [
            {"key": "welcome", "message": "Welcome, ${client}! The plan lives in git."},
            {"key": "agenda", "message": "Kickoff agenda: intros, scope", "task": "kickoff"},
        ],
    }


def _posts(server: SandboxServer) -> list[dict[str, Any]]:
    return server.model.store.all(
        "SELECT p.id, p.message, p.story_id, p.user_id, e.service_model_ref AS ref FROM posts p "
        "LEFT JOIN external_references e ON e.subject_type = 'Post' AND e.subject_id = p.id "
        "AND e.service_name = 'kxplan' ORDER BY p.id"
    )


class _KillBeforeMarker:
    """`on_request` hook: SIGKILLs the apply when the marker of its `nth` post arrives, and
    stops that request there (it is never handled), as if the process died before sending it."""

    def __init__(self, nth: int) -> None:
        self.nth, self.posts, self.last = nth, 0, ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.killed = False

    def __call__(self, arrival: Arrival) -> None:
        after_post, self.last = self.last == "POST /posts", f"{arrival.method} {arrival.route}"
        if self.last == "POST /posts":
            self.posts += 1
        if after_post and self.last == f"POST {MARKER}" and self.posts == self.nth:
            assert self.proc is not None
            self.proc.kill()  # SIGKILL: no cleanup, no goodbye
            self.proc.wait()
            self.killed = True
            raise ConnectionAbortedError("the apply was killed before this request was sent")


def _apply_killed(server: SandboxServer, manifest: Path, nth: int) -> None:
    hook = _KillBeforeMarker(nth)
    server.on_request = hook
    env = {**os.environ, "KANTATA_TOKEN": TOKEN, "PYTHONPATH": str(ROOT), "KXPLAN_LOCK_TTL": "1"}
    args = [sys.executable, "-m", "kxplan", "apply", str(manifest), "--auto-approve"]
    hook.proc = subprocess.Popen(
        [*args, "--api-url", server.url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    hook.proc.wait(timeout=120)
    server.on_request = None
    assert hook.killed, "the apply finished before the marker of its post was sent"


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.setenv("KXPLAN_LOCK_TTL", "1")  # the killed apply's lock expires in 1 s
    return write_manifest(tmp_path / "onboarding.yaml", _doc())


@pytest.mark.parametrize("nth", [1, 2])
def test_an_apply_killed_between_a_post_and_its_marker_then_rerun_leaves_one_post(
    make_sandbox: MakeSandbox, manifest: Path, nth: int
) -> None:
    server = make_sandbox()
    server.model.create_workspace(WORKSPACE)
    _apply_killed(server, manifest, nth)
    left = [p for p in _posts(server) if p["ref"] is None]
    assert len(left) == 1  # the killed apply's post, unmarked
    plan = kxplan("plan", manifest, "--api-url", server.url)
    assert plan.code == 0, plan.text
    key = "welcome" if nth == 1 else "agenda"
    assert f"~ post {key}" in plan.out
    assert "re-marked: an earlier apply was stopped before it marked it" in plan.out
    wait = ("--lock-timeout", "30s")  # the killed apply's lock expires in 1 s
    applied = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url, *wait)
    assert applied.code == 0, applied.text
    posts = _posts(server)
    assert sorted(p["ref"] for p in posts) == ["agenda", "welcome"]  # one each, all marked
    assert {p["id"] for p in posts if p["ref"] == key} == {left[0]["id"]}
    again = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out


def test_a_persons_post_with_the_same_words_is_never_taken(
    sandbox: SandboxServer, manifest: Path
) -> None:
    ws = sandbox.model.workspace_titled(WORKSPACE) or sandbox.model.create_workspace(WORKSPACE)
    theirs = sandbox.model.create_post(ws["id"], WELCOME, user_id=PERSON)
    plan = kxplan("plan", manifest, "--api-url", sandbox.url)
    assert plan.code == 0, plan.text
    assert "+ post welcome" in plan.out and "re-marked" not in plan.out
    applied = kxplan("apply", manifest, "--auto-approve", "--api-url", sandbox.url)
    assert applied.code == 0, applied.text
    posts = {str(p["id"]): p for p in _posts(sandbox)}
    assert posts[theirs]["ref"] is None and posts[theirs]["user_id"] == PERSON
    assert sorted(p["ref"] for p in posts.values() if p["ref"]) == ["agenda", "welcome"]


def test_apply_planfile_honours_notify_true_while_the_manifest_is_unchanged(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.setenv("KANTATA_API_URL", sandbox.url)
    sandbox.model.create_workspace(WORKSPACE)
    manifest = write_manifest(tmp_path / "onboarding.yaml", {**_doc(), "notify": True})
    saved = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--out", saved).code == 0
    applied = kxplan("apply", saved, "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Posted what changed to the workspace's activity feed" in applied.text
    notes = sandbox.model.store.all(
        "SELECT p.id FROM posts p JOIN external_references e ON e.subject_type = 'Post' "
        "AND e.subject_id = p.id AND e.external_status = 'notification'"
    )
    assert len(notes) == 1
    # Changed since the plan was made: the manifest no longer speaks for the saved plan.
    doc = {**_doc(), "notify": True, "tasks": [{"key": "kickoff", "title": "Kickoff!"}]}
    write_manifest(manifest, doc)
    assert kxplan("plan", manifest, "--out", saved).code == 0
    write_manifest(manifest, {**doc, "vars": {"client": "Globex"}})
    applied = kxplan("apply", saved, "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Posted what changed" not in applied.text
