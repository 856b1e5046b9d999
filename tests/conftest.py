"""Shared pytest fixtures: sandboxes on loopback, each checked against the OpenAPI documents.

- `sandbox`: a fresh, started, in-memory `SandboxServer` for one test.
- `make_sandbox(**kwargs)`: a factory for more (or differently configured) sandboxes;
  kwargs go to `SandboxServer` (`data=`, `token=`, `faults=`...).
- `sandbox_workspace`: `(server, workspace_id)` — a sandbox holding one empty workspace.
- `connect(server, token=..., **kw)`: `KantataClient`s on a sandbox (closed after the test),
  with no real sleeping between retries; `seed_workspace(server, n)`: a workspace of `n`
  stories (`tests.support.seed`); `stack`: the stack name the seeded markers use.

Every sandbox they start has the conformance checker attached: at the end of the test,
any response (or request body) that departs from Kantata's documented schemas, and any
500 (a sandbox bug), fails the test. Plain helpers (no fixtures) live in tests/support/.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.sandbox import SandboxServer

# The repository root, so `tests.support` imports however pytest was started.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sandbox.conformance import ConformanceChecker
from tests.support import SEED_STACK, MakeSandbox, Seed, checked, fail_on, seed


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see kxplan as a user at a plain shell does, even when the suite itself runs
    in CI: `CI`, `NO_COLOR` and `FORCE_COLOR` change its output (kxplan.cli.terminal), so
    a test that wants them sets them itself."""
    for name in ("CI", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    # Tests contact nothing but loopback: a test that runs plan or apply without --api-url
    # (to see it stop before any request) must not open connections to Kantata itself
    # meanwhile (kxplan.client._early). tests/client/test_early_connections.py turns them on.
    monkeypatch.setenv("KXPLAN_EARLY_CONNECT", "0")


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """Factory of started sandboxes (stopped, and checked for conformance, after the test)."""
    started: list[tuple[SandboxServer, ConformanceChecker]] = []

    def make(**kwargs: Any) -> SandboxServer:
        server, checker = checked(**kwargs)
        server.start()
        started.append((server, checker))
        return server

    yield make
    for server, _ in started:
        server.stop()
    fail_on(started)


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> SandboxServer:
    """A fresh in-memory sandbox on an ephemeral loopback port."""
    return make_sandbox()


@pytest.fixture
def sandbox_workspace(sandbox: SandboxServer) -> tuple[SandboxServer, str]:
    """A sandbox with one empty workspace: `(server, workspace_id)`."""
    workspace = sandbox.model.create_workspace("Sandbox workspace")
    return sandbox, str(workspace["id"])


@pytest.fixture
def connect() -> Iterator[Callable[..., KantataClient]]:
    """Open clients to a sandbox (closed after the test); no real sleeping between retries."""
    opened: list[KantataClient] = []

    def make(server: Any, token: str = "test-token", **kw: Any) -> KantataClient:
        kw.setdefault("sleep", lambda s: None)
        client = KantataClient(server.url, token, seed=1, **kw)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def seed_workspace() -> Seed:
    """`seed_workspace(server, n, title=...)`: see `tests.support.seed`."""
    return seed


@pytest.fixture
def stack() -> str:
    """The stack name the seeded markers use."""
    return SEED_STACK
