"""Posts end to end (docs/manifest.md, "Posts"; docs/apply.md, "Telling the team"): the
manifest's posts are created once with the stack's marker, kept as the manifest says, and
deleted only with --prune; what people write (their posts, their replies, their edits) is
never touched; `--notify` posts what an apply changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.live.posts import with_posts
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer, Variants
from tests.support import TOKEN, LosesPostAnswers, MakeSandbox, kxplan, write_manifest

from .scenario import STACK, WORKSPACE

PERSON = 300_777


def _doc(**posts: Any) -> dict[str, Any]:
    listed = posts or {
        "welcome": {"message": "Welcome, ${client}! The plan lives in git."},
        "agenda": {"message": "Kickoff agenda: intros, scope", "task": "kickoff"},
    }
    return {
        "version": 1,
        "name": STACK,
        "workspace": WORKSPACE,
        "vars": {"client": "Acme"},
        "tasks": [
            {"key": "kickoff", "title": "Kickoff", "due_date": "2027-01-04"},
            {"key": "design", "title": "Design"},
        ],
        "posts": [{"key": k, **v} for k, v in listed.items()],
    }


def _posts(server: SandboxServer) -> list[dict[str, Any]]:
    """Every post (replies too) with its kxplan marker ref, in id order."""
    return server.model.store.all(
        "SELECT p.id, p.subject_id, p.message, p.story_id, p.user_id, e.service_model_ref AS ref,"
        " e.external_status AS status FROM posts p LEFT JOIN external_references e ON "
        "e.subject_type = 'Post' AND e.subject_id = p.id AND e.service_name = 'kxplan' "
        "ORDER BY p.id"
    )


def _by_ref(server: SandboxServer) -> dict[str, dict[str, Any]]:
    return {p["ref"]: p for p in _posts(server) if p["ref"]}


def _apply(path: Path, *flags: str) -> str:
    result = kxplan("apply", path, "--auto-approve", *flags)
    assert result.code == 0, result.text
    return result.out


@pytest.fixture
def manifest(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KANTATA_API_URL", url)
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "CI_COMMIT_SHA"):
        monkeypatch.delenv(name, raising=False)
    return write_manifest(tmp_path / "onboarding.yaml", _doc())


def test_posts_are_created_once_with_marker_vars_and_task_link(
    sandbox: SandboxServer, manifest: Path
) -> None:
    _apply(manifest)
    posts = _by_ref(sandbox)
    assert set(posts) == {"welcome", "agenda"}
    assert posts["welcome"]["message"] == "Welcome, Acme! The plan lives in git."
    kickoff = sandbox.model.store.one("SELECT id FROM stories WHERE title = 'Kickoff'")
    assert kickoff is not None and posts["agenda"]["story_id"] == kickoff["id"]
    again = kxplan("plan", manifest, "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out
    _apply(manifest)
    assert len(_posts(sandbox)) == 2  # nothing created twice


def test_people_replies_and_posts_survive_reapply_and_prune(
    sandbox: SandboxServer, manifest: Path
) -> None:
    _apply(manifest)
    ws = sandbox.model.workspace_titled(WORKSPACE)
    assert ws is not None
    welcome = _by_ref(sandbox)["welcome"]
    reply = sandbox.model.create_post(ws["id"], "Thanks!", user_id=PERSON, subject_id=welcome["id"])
    own = sandbox.model.create_post(ws["id"], "My own note", user_id=PERSON)
    _apply(manifest)
    _apply(manifest, "--prune")
    # The manifest drops both posts: the one people replied to stays, with its thread.
    write_manifest(manifest, _doc(kept={"message": "Still here"}))
    out = _apply(manifest, "--prune")
    assert "1 reply people wrote would go with it: kept" in out
    left = {str(p["id"]): p for p in _posts(sandbox)}
    assert reply in left and own in left and str(welcome["id"]) in left
    assert set(_by_ref(sandbox)) == {"welcome", "kept"}  # agenda (no replies) was deleted
    assert left[reply]["message"] == "Thanks!" and left[own]["message"] == "My own note"


def test_a_persons_edit_is_kept_until_the_manifest_changes_the_post(
    sandbox: SandboxServer, manifest: Path
) -> None:
    _apply(manifest)
    welcome = _by_ref(sandbox)["welcome"]
    with sandbox.model.store.transaction():
        sandbox.model.update_post(welcome["id"], {"message": "Welcome! (edited by Pat)"})
    plan = kxplan("plan", manifest, "--detailed-exitcode")
    assert plan.code == 0, plan.text
    assert "edited in Kantata since kxplan wrote it; kept as it is" in plan.out
    doc = _doc()
    doc["posts"][0]["message"] = "Welcome, ${client}! Plan v2."
    write_manifest(manifest, doc)
    changed = kxplan("plan", manifest)
    assert "~ post welcome" in changed.out and "replaces an edit made in Kantata" in changed.out
    _apply(manifest)
    assert _by_ref(sandbox)["welcome"]["message"] == "Welcome, Acme! Plan v2."


def test_task_link_moves_and_json_and_markdown_show_posts(
    sandbox: SandboxServer, manifest: Path
) -> None:
    _apply(manifest)
    doc = _doc()
    doc["posts"][1]["task"] = "design"
    write_manifest(manifest, doc)
    as_json = json.loads(kxplan("plan", manifest, "--format", "json").out)
    (change,) = [c for c in as_json["changes"] if c["kind"] == "post"]
    assert (change["action"], change["fields"]) == ("update", ["task"])
    assert (change["before"]["task"], change["after"]["task"]) == ("kickoff", "design")
    markdown = kxplan("plan", manifest, "--format", "markdown").out
    assert "post agenda" in markdown
    _apply(manifest)
    design = sandbox.model.store.one("SELECT id FROM stories WHERE title = 'Design'")
    assert design is not None and _by_ref(sandbox)["agenda"]["story_id"] == design["id"]


def test_notify_posts_what_changed_once_and_prune_never_touches_it(
    sandbox: SandboxServer, manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "1a2b3c4d5e6f")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/plans")
    out = _apply(manifest, "--notify")
    assert "Posted what changed to the workspace's activity feed" in out
    notes = [p for p in _posts(sandbox) if p["status"] == "notification"]
    assert len(notes) == 1 and notes[0]["ref"].startswith("notify:")
    text = notes[0]["message"]
    assert 'stack "onboarding"' in text and "2 tasks added" in text and "2 posts added" in text
    assert "template onboarding.yaml" in text and "From commit 1a2b3c4 of acme/plans." in text
    assert 'Added: "Design", "Kickoff".' in text or 'Added: "Kickoff", "Design".' in text
    _apply(manifest, "--notify", "--prune")  # nothing changed: nothing posted
    assert len([p for p in _posts(sandbox) if p["status"] == "notification"]) == 1
    doc = _doc()
    doc["tasks"][0]["due_date"] = "2027-01-11"
    doc["notify"] = True  # the manifest asks for it: no flag needed
    write_manifest(manifest, doc)
    _apply(manifest, "--prune")
    notes = [p for p in _posts(sandbox) if p["status"] == "notification"]
    assert len(notes) == 2
    assert 'Dates: "Kickoff" due 2027-01-04 → 2027-01-11.' in notes[1]["message"]
    assert "No changes." in kxplan("plan", manifest, "--prune").out


def test_a_saved_plan_is_stale_once_people_replied_to_a_post_it_changes(
    sandbox: SandboxServer, manifest: Path, tmp_path: Path
) -> None:
    _apply(manifest)
    doc = _doc()
    doc["posts"][1]["message"] = "New agenda"
    write_manifest(manifest, doc)
    planfile = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--out", planfile).code == 0
    ws = sandbox.model.workspace_titled(WORKSPACE)
    assert ws is not None
    agenda = _by_ref(sandbox)["agenda"]
    sandbox.model.create_post(ws["id"], "Noted", user_id=PERSON, subject_id=agenda["id"])
    stale = kxplan("apply", planfile, "--auto-approve")
    assert stale.code == 1 and "post 'agenda'" in stale.text and "stale" in stale.text
    assert _by_ref(sandbox)["agenda"]["message"] == "Kickoff agenda: intros, scope"


def test_a_post_whose_create_answer_is_lost_exists_once(
    sandbox: SandboxServer, manifest: Path
) -> None:
    loaded = load_manifest(manifest)
    with KantataClient(sandbox.url, TOKEN) as client:
        live = with_posts(client, loaded, read_live(client, WORKSPACE))
        plan = build_plan(loaded, live, PlanOptions())
        lossy = LosesPostAnswers(client, "/posts")
        result = apply_plan(plan, lossy)  # type: ignore[arg-type]
        assert len(lossy.lost) == 2 and result.recovered == 2
        after = with_posts(client, loaded, read_live(client, WORKSPACE))
    assert len(_posts(sandbox)) == 2 and set(_by_ref(sandbox)) == {"welcome", "agenda"}
    assert build_plan(loaded, after, PlanOptions()).actionable == ()


@pytest.mark.parametrize("variants", [Variants(), Variants.unusual()], ids=["default", "unusual"])
def test_posts_under_every_answer_the_sandbox_plays(
    variants: Variants, make_sandbox: MakeSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The defaults and every unusual answer at once (no `meta`, shuffled `results`, ...):
    created once, a re-plan is empty, a message change is one update, prune deletes."""
    server = make_sandbox(variants=variants)
    server.model.create_workspace(WORKSPACE)
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.setenv("KANTATA_API_URL", str(server.url))
    monkeypatch.chdir(tmp_path)
    path = write_manifest(tmp_path / "onboarding.yaml", _doc())
    _apply(path)
    assert kxplan("plan", path, "--detailed-exitcode").code == 0
    write_manifest(path, _doc(welcome={"message": "Hello again"}))
    assert "~ post welcome" in kxplan("plan", path).out
    _apply(path, "--prune")
    assert {k: p["message"] for k, p in _by_ref(server).items()} == {"welcome": "Hello again"}
    assert kxplan("plan", path, "--prune", "--detailed-exitcode").code == 0


def test_only_a_manifest_with_posts_reads_them_and_posts_empty_prunes_them(
    sandbox: SandboxServer, manifest: Path
) -> None:
    _apply(manifest)
    doc = _doc()
    del doc["posts"]
    write_manifest(manifest, doc)
    sandbox.log.reset()
    assert kxplan("plan", manifest, "--prune", "--detailed-exitcode").code == 0
    assert sandbox.log.count(route="/posts") == 0  # a manifest without posts: leaves them be
    doc["posts"] = []
    write_manifest(manifest, doc)
    _apply(manifest, "--prune")
    assert _by_ref(sandbox) == {}
