"""`posts:` in manifests (docs/manifest.md, "Posts"): what a loaded manifest holds, variables
in messages (with and without composition), and bad posts refused before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.manifest import load_manifest
from kxplan.model import DesiredPost
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan

HEAD = "version: 1\nname: demo\nworkspace: Demo\n"
POSTS = """posts:
  - key: welcome
    message: "Welcome, ${client}! Kickoff on ${kickoff}."
  - key: agenda
    message: Agenda
    task: kickoff
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_posts_load_with_vars_task_links_and_notify(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.yaml",
        HEAD
        + "vars: {client: Acme, kickoff: 2027-01-04}\nnotify: true\n"
        + "tasks:\n  - {key: kickoff, title: Kickoff}\n"
        + POSTS,
    )
    manifest = load_manifest(path, {"client": "Globex"})
    assert manifest.notify is True
    assert [(p.key, p.message, p.task) for p in manifest.posts] == [
        ("welcome", "Welcome, Globex! Kickoff on 2027-01-04.", None),
        ("agenda", "Agenda", "kickoff"),
    ]
    assert str(manifest.posts[1].loc).endswith("m.yaml:11:5")


def test_posts_may_link_tasks_an_include_or_for_each_makes(tmp_path: Path) -> None:
    _write(tmp_path / "phases/qa.yaml", "tasks:\n  - {key: kickoff, title: Kickoff}\n")
    path = _write(
        tmp_path / "m.yaml",
        HEAD
        + "vars: {client: Acme, kickoff: 2027-01-04}\n"
        + "tasks:\n  - include: phases/qa.yaml\n"
        + "  - {key: 'sprint-${each}', title: 'Sprint ${each}', for_each: [1, 2]}\n"
        + POSTS
        + "  - {key: sprint, message: 'Sprint 2 starts', task: sprint-2}\n",
    )
    manifest = load_manifest(path)
    assert manifest.posts[0] == DesiredPost(
        "welcome", "Welcome, Acme! Kickoff on 2027-01-04.", None, manifest.posts[0].loc
    )
    assert [p.task for p in manifest.posts] == [None, "kickoff", "sprint-2"]
    assert manifest.notify is False


@pytest.mark.parametrize(
    ("post", "problem"),
    [
        ("{key: a}", "post is missing the required field 'message'"),
        ("{key: a, message: ''}", "post message must not be blank"),
        ("{key: a, message: x, task: nope}", "post task 'nope' is not a task of this manifest"),
        ("{key: kickoff, message: x}\n  - {key: kickoff, message: y}", "duplicate post key"),
        ("{key: 'Bad Key', message: x}", "post key must be lowercase letters"),
    ],
)
def test_bad_posts_exit_1_at_file_line_col_before_any_request(
    post: str,
    problem: str,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    path = _write(
        tmp_path / "m.yaml", HEAD + "tasks:\n  - {key: kickoff, title: K}\nposts:\n  - " + post
    )
    result = kxplan("plan", path, "--api-url", str(sandbox.url))
    assert result.code == 1
    assert f"{path}:7:" in result.err and problem in result.err, result.err
    assert list(sandbox.log.entries) == []
