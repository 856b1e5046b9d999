"""Paging over an httpx.MockTransport fake of a Kantata listing."""

from __future__ import annotations

import math
import threading
from typing import Any

import httpx

from kxplan.client import KantataClient
from kxplan.client._paging import page_count

URL = "https://kantata.test/api/v1"


class FakeListing:
    """`GET /stories` over `ids`, Brainstem style; each page also side-loads a parent story
    into the typed map (which a naive reader would count as a result)."""

    def __init__(self, ids: list[int], *, meta: bool = True, clamp: int = 200) -> None:
        self.ids = ids
        self.meta = meta
        self.clamp = clamp
        self.params: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        with self.lock:
            self.params.append(params)
            ids = list(self.ids)
        size = min(int(params.get("per_page", 20)), self.clamp)
        page = int(params.get("page", 1))
        rows = ids[(page - 1) * size : page * size]
        env: dict[str, Any] = {
            "count": len(ids),
            "results": [{"key": "stories", "id": str(i)} for i in rows],
            "stories": {str(i): {"id": str(i), "title": f"t{i}"} for i in rows},
        }
        env["stories"]["999999"] = {"id": "999999", "title": "side-loaded parent"}
        if self.meta:
            env["meta"] = {
                "count": len(ids),
                "page_count": math.ceil(len(ids) / size) if ids else 0,
                "page_number": page,
                "page_size": size,
            }
        return httpx.Response(200, json=env)


def client_for(fake: FakeListing) -> KantataClient:
    return KantataClient(URL, "t", transport=httpx.MockTransport(fake), sleep=lambda s: None)


def test_reads_every_record_once_in_ceil_n_over_200_requests() -> None:
    for n in (0, 1, 199, 200, 201, 450):
        fake = FakeListing(list(range(1, n + 1)))
        client = client_for(fake)
        records = client.get_all("/stories", {"workspace_id": 5})
        assert [r["id"] for r in records] == [str(i) for i in range(1, n + 1)]
        assert client.requests == max(1, math.ceil(n / 200))
        assert records.count == n


def test_asks_for_a_stable_order_and_full_pages() -> None:
    fake = FakeListing(list(range(1, 401)))
    client_for(fake).get_all("/stories", {"workspace_id": 5})
    assert {p["order"] for p in fake.params} == {"created_at:asc"}
    assert {p["per_page"] for p in fake.params} == {"200"}
    assert sorted(p["page"] for p in fake.params) == ["1", "2"]
    assert {p["workspace_id"] for p in fake.params} == {"5"}


def test_side_loaded_objects_are_kept_apart_from_results() -> None:
    records = client_for(FakeListing([1, 2])).get_all("/stories")
    assert len(records) == 2
    assert records.included["stories"]["999999"]["title"] == "side-loaded parent"


def test_missing_meta_falls_back_to_count() -> None:
    fake = FakeListing(list(range(1, 502)), meta=False)
    client = client_for(fake)
    assert len(client.get_all("/stories")) == 501
    assert client.requests == 3


def test_missing_meta_and_a_smaller_page_size_than_asked() -> None:
    fake = FakeListing(list(range(1, 251)), meta=False, clamp=100)
    client = client_for(fake)
    assert [r["id"] for r in client.get_all("/stories")] == [str(i) for i in range(1, 251)]
    assert client.requests == 3


def test_duplicates_across_pages_are_dropped() -> None:
    class Shifting(FakeListing):
        # Page 2 repeats the last record of page 1, as a drifting sort order would.
        def __call__(self, request: httpx.Request) -> httpx.Response:
            resp = super().__call__(request)
            env = resp.json()
            if request.url.params.get("page") == "2":
                env["results"].insert(0, {"key": "stories", "id": "200"})
                env["stories"]["200"] = {"id": "200", "title": "t200"}
            return httpx.Response(200, json=env)

    records = client_for(Shifting(list(range(1, 301)))).get_all("/stories")
    assert [r["id"] for r in records] == [str(i) for i in range(1, 301)]


def test_a_deletion_while_paging_triggers_one_reread() -> None:
    class Deleting(FakeListing):
        # Deletes story 1 right after page 1 was served: story 201 slides onto page 1.
        def __call__(self, request: httpx.Request) -> httpx.Response:
            resp = super().__call__(request)
            with self.lock:
                if len(self.params) == 1:
                    self.ids.remove(1)
            return resp

    fake = Deleting(list(range(1, 402)))
    client = client_for(fake)
    ids = [r["id"] for r in client.get_all("/stories")]
    assert ids == [str(i) for i in range(2, 402)]  # 201 is not missed
    assert client.requests == 3 + 2  # the re-read finds 400 stories: 2 pages


def test_page_count_prefers_meta() -> None:
    assert page_count({"count": 900, "results": [], "meta": {"page_count": 5}}, 200) == 5
    assert page_count({"count": 900, "results": [{}] * 200}, 200) == 5
    assert page_count({"count": 0, "results": []}, 200) == 1
