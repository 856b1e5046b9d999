"""Helpers for the client tests: seed sandbox workspaces fast, through the model layer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kxplan.client import KantataClient

STACK = "onboarding"


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
                "service_model": STACK,
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
    """`seed_workspace(server, n, title=...)`: see `seed`."""
    return seed


@pytest.fixture
def stack() -> str:
    """The stack name the seeded markers use."""
    return STACK
