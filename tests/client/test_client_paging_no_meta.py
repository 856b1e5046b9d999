"""Paging when envelopes carry no `meta` (as the 2013 API answered): pages come from `count`
and the size page 1 really had; with no `count` either, pages are walked until a short one."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx

from kxplan.client import KantataClient
from kxplan.client._paging import PAGE_SIZE, page_count
from kxplan.live import read_live
from kxplan.sandbox.variants import Variants

Connect = Callable[..., KantataClient]
Seed = Callable[..., tuple[str, list[str]]]


def test_read_live_without_meta_reads_every_page_once(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed
) -> None:
    server = make_sandbox(variants=Variants(meta="absent"))
    ws_id, ids = seed_workspace(server, 1050)
    client = connect(server)

    live = read_live(client, ws_id)

    assert sorted(t.id for t in live.tasks) == sorted(ids)
    assert server.log.count("GET", "/stories") == math.ceil(1050 / PAGE_SIZE)
    assert "meta" not in client.get("/stories", {"workspace_id": ws_id})


def test_page_count_from_count_and_the_size_the_server_served() -> None:
    page = {"count": 450, "results": [{}] * 200}
    assert page_count(page, 200) == 3
    clamped = {"count": 450, "results": [{}] * 100}  # a server serving 100 a page
    assert page_count(clamped, 200) == 5
    assert page_count({"count": 0, "results": []}, 200) == 1


def _listing(total: int | None, ignore_page: bool = False) -> Callable[..., httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        page = 1 if ignore_page else int(request.url.params["page"])
        known = 450 if total is None else total
        ids = [str(i) for i in range((page - 1) * 200 + 1, min(page * 200, known) + 1)]
        body: dict[str, Any] = {
            "results": [{"key": "stories", "id": i} for i in ids],
            "stories": {i: {"id": i, "title": f"S{i}"} for i in ids},
        }
        if total is not None:
            body["count"] = total
        return httpx.Response(200, json=body)

    return handler


def _client(handler: Callable[..., httpx.Response]) -> KantataClient:
    return KantataClient("https://k.test/api/v1", "tok", transport=httpx.MockTransport(handler))


def test_get_all_without_meta_or_count_walks_pages_until_a_short_one() -> None:
    client = _client(_listing(None))
    records = client.get_all("/stories")
    assert len(records) == 450 and client.requests == 3


def test_get_all_does_not_loop_on_a_server_that_ignores_page() -> None:
    client = _client(_listing(None, ignore_page=True))
    records = client.get_all("/stories")
    assert len(records) == 200 and client.requests == 2


def test_get_all_with_count_only_reads_concurrently_and_exactly() -> None:
    client = _client(_listing(1001))
    records = client.get_all("/stories")
    assert len(records) == 1001 and client.requests == 6
