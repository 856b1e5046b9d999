"""Shared pytest fixtures: sandboxes on loopback, each checked against the OpenAPI documents.

- `sandbox`: a fresh, started, in-memory `SandboxServer` for one test.
- `make_sandbox(**kwargs)`: a factory for more (or differently configured) sandboxes;
  kwargs go to `SandboxServer` (`data=`, `token=`, `faults=`...).
- `sandbox_workspace`: `(server, workspace_id)` — a sandbox holding one empty workspace.

Every sandbox they start has the conformance checker attached: at the end of the test,
any response (or request body) that departs from Kantata's documented schemas, and any
500 (a sandbox bug), fails the test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer

# The repository root, so `tests.sandbox.conformance` imports however pytest was started.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sandbox.conformance import ConformanceChecker

MakeSandbox = Callable[..., SandboxServer]


def _problems(server: SandboxServer, checker: ConformanceChecker) -> list[str]:
    return checker.violations + [f"sandbox crashed (500):\n{tb}" for tb in server.crashes]


def _fail_on(problems: list[str]) -> None:
    if problems:
        shown = "\n".join(problems[:20])
        pytest.fail(f"{len(problems)} sandbox conformance problem(s):\n{shown}", pytrace=False)


@contextmanager
def checked_sandbox(**kwargs: Any) -> Iterator[SandboxServer]:
    """A started sandbox with the conformance checker, for places a fixture cannot reach
    (Hypothesis tests, module-scoped fixtures): fails on any violation when it stops."""
    server = SandboxServer(**kwargs)
    checker = ConformanceChecker()
    server.on_response = checker
    with server:
        yield server
    _fail_on(_problems(server, checker))


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """Factory of started sandboxes (stopped, and checked for conformance, after the test)."""
    started: list[tuple[SandboxServer, ConformanceChecker]] = []

    def make(**kwargs: Any) -> SandboxServer:
        server = SandboxServer(**kwargs)
        checker = ConformanceChecker()
        server.on_response = checker
        server.start()
        started.append((server, checker))
        return server

    yield make
    problems: list[str] = []
    for server, checker in started:
        server.stop()
        problems += _problems(server, checker)
    _fail_on(problems)


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> SandboxServer:
    """A fresh in-memory sandbox on an ephemeral loopback port."""
    return make_sandbox()


@pytest.fixture
def sandbox_workspace(sandbox: SandboxServer) -> tuple[SandboxServer, str]:
    """A sandbox with one empty workspace: `(server, workspace_id)`."""
    workspace = sandbox.model.create_workspace("Sandbox workspace")
    return sandbox, str(workspace["id"])
