"""Fixtures the end-to-end tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import TOKEN

from .scenario import WORKSPACE


@pytest.fixture
def url(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The sandbox's API URL, with the scenario's workspace created, a token in the
    environment, and the test's own directory as the current one."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    sandbox.model.create_workspace(WORKSPACE)
    return str(sandbox.url)
