"""Sandboxes checked against Kantata's OpenAPI documents, and workspaces seeded fast.

- `checked(**kwargs)` / `fail_on(started)`: what the `make_sandbox` fixture (tests/conftest.py)
  and `checked_sandbox` share: a server with the conformance checker attached, and the failure
  listing every response that departs from the documents and every 500 (a sandbox bug).
- `checked_sandbox(**kwargs)`: the same for places a fixture cannot reach (Hypothesis tests,
  module-scoped fixtures).
- `seed(server, n)`: a workspace with `n` stories, through the model layer (no HTTP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from tests.sandbox.conformance import ConformanceChecker

MakeSandbox = Callable[..., SandboxServer]

#: The stack name the markers of `story_items` use.
SEED_STACK = "onboarding"


def checked(**kwargs: Any) -> tuple[SandboxServer, ConformanceChecker]:
    """A (not yet started) sandbox with the conformance checker attached."""
    server = SandboxServer(**kwargs)
    checker = ConformanceChecker()
    server.on_response = checker
    return server, checker


def _problems(server: SandboxServer, checker: ConformanceChecker) -> list[str]:
    return checker.violations + [f"sandbox crashed (500):\n{tb}" for tb in server.crashes]


def fail_on(started: Iterable[tuple[SandboxServer, ConformanceChecker]]) -> None:
    """Fail the test on any conformance problem or crash of these (stopped) sandboxes."""
    problems = [p for server, checker in started for p in _problems(server, checker)]
    if problems:
        shown = "\n".join(problems[:20])
        pytest.fail(f"{len(problems)} sandbox conformance problem(s):\n{shown}", pytrace=False)


@contextmanager
def checked_sandbox(**kwargs: Any) -> Iterator[SandboxServer]:
    """A started sandbox with the conformance checker, for places a fixture cannot reach
    (Hypothesis tests, module-scoped fixtures): fails on any violation when it stops."""
    server, checker = checked(**kwargs)
    with server:
        yield server
    fail_on([(server, checker)])


def story_items(n: int, *, prefix: str = "Task") -> list[dict[str, Any]]:
    """`n` top-level stories as create bodies; every 3rd has a checklist, every 4th tags,
    every 5th is archived, every 2nd carries a kxplan marker."""
    items: list[dict[str, Any]] = []
    for i in range(n):
        item: dict[str, Any] = {"title": f"{prefix} {i:05d}"}
        if i % 3 == 0:
            item["checklist"] = [f"check {i}a", f"check {i}b"]
        if i % 4 == 0:
            item["tag_list"] = f"phase-{i % 7},Client"
        if i % 5 == 0:
            item["archived"] = True
        if i % 2 == 0:
            item["external_reference"] = {
                "service_name": "kxplan",
                "service_model": SEED_STACK,
                "service_model_ref": f"task-{i}",
            }
        items.append(item)
    return items


Seed = Callable[..., tuple[str, list[str]]]


def seed(server: Any, n: int, *, title: str = "Seeded") -> tuple[str, list[str]]:
    """A new workspace with `n` stories (a tenth of them subtasks); its id and story ids."""
    ws = server.model.create_workspace(title)
    tops = max(n - n // 10, min(n, 1))
    ids = server.model.create_stories(ws["id"], story_items(tops))
    subs = [{"title": f"Sub {i}", "parent_id": int(ids[i % len(ids)])} for i in range(n - tops)]
    ids += server.model.create_stories(ws["id"], subs) if subs else []
    return str(ws["id"]), ids
