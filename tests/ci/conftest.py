"""Fixtures of the CI kit's tests: a fake GitHub on loopback, a GitHub Actions environment
pointing at it, and saved plans made by `kxplan plan --out` against a sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, write_manifest

from .fake_github import FakeGitHub
from .plans import WORKSPACE, MakePlan, manifest_doc

#: Every variable GitHub Actions sets that kxplan ci reads: cleared, so a test run inside
#: GitHub Actions is not steered by the runner's own values.
GITHUB_VARS = (
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_EVENT_PATH",
    "GITHUB_EVENT_NAME",
    "GITHUB_STEP_SUMMARY",
)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def actions_env(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The environment of a `pull_request` job on pull request 7 of acme/plans."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": 7}}))
    values = {
        "GITHUB_TOKEN": github.token,
        "GITHUB_REPOSITORY": github.repository,
        "GITHUB_API_URL": github.url,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_EVENT_NAME": "pull_request",
    }
    for name in GITHUB_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def make_plan(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MakePlan:
    """`make_plan(tasks=3)`: a saved plan (`kxplan plan --out`) of a manifest with that many
    tasks against a sandbox workspace; its path."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    sandbox.model.create_workspace(WORKSPACE)

    def make(tasks: int = 3, title: str = "Task", name: str = "plan.json") -> Path:
        manifest = write_manifest(tmp_path / "onboarding.yaml", manifest_doc(tasks, title))
        out = tmp_path / name
        made = kxplan("plan", manifest, "--api-url", sandbox.url, "--out", out)
        assert made.code == 0, made.text
        return out

    return make
