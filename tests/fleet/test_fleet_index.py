"""The workspace index with few titles (docs/fleet.md, "Requests"): page 1 of the index says
how many pages the account takes; titles fewer than the remaining pages are looked up with
one `GET /workspaces?matching=…` each (exact titles kept), more are found in the index. An
account of 801 workspaces takes 5 pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.errors import PlanError
from kxplan.live import SharedReads
from kxplan.sandbox import SandboxServer
from kxplan.sandbox.wire import Arrival
from tests.support import TOKEN, bench_module

ACCOUNT = 801


def _title(i: int) -> str:
    return f"Client {i:04d} Onboarding"


@pytest.fixture(scope="module")
def account() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        for i in range(ACCOUNT):
            server.model.create_workspace(_title(i))
        server.model.create_workspace("The")  # only a stop word: `matching` cannot narrow it
        server.model.create_workspace("Globex onboarding")  # a near miss of the next one
        yield server


class _Listings:
    """The `GET /workspaces` listings a block of code makes, `matching` ones apart."""

    def __init__(self, server: SandboxServer) -> None:
        self.pages: list[dict[str, str]] = []
        self._server = server

    def __enter__(self) -> _Listings:
        self._server.on_request = self._note
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.on_request = None

    def _note(self, arrival: Arrival) -> None:
        if (arrival.method, arrival.route) == ("GET", "/workspaces"):
            self.pages.append(arrival.params)

    @property
    def matching(self) -> list[str]:
        return [p["matching"] for p in self.pages if "matching" in p]


def _shared(server: SandboxServer, titles: list[str]) -> SharedReads:
    client = KantataClient(server.url, TOKEN)
    return SharedReads(client, expect=titles)


def test_three_titles_cost_page_one_and_three_matching_lookups(account: SandboxServer) -> None:
    titles = [_title(1), _title(10), _title(100)]  # each a prefix of others' words
    shared = _shared(account, titles)
    with _Listings(account) as seen:
        found = [shared.workspace(t) for t in titles]
    assert [w.title if w else None for w in found] == titles
    assert len(seen.pages) == 4 and seen.matching == titles


def test_as_many_titles_as_remaining_pages_read_the_index(account: SandboxServer) -> None:
    titles = [_title(i) for i in (3, 30, 300, 700)]
    shared = _shared(account, titles)
    with _Listings(account) as seen:
        found = [shared.workspace(t) for t in titles]
    assert [w.title if w else None for w in found] == titles
    assert len(seen.pages) == 5 and seen.matching == []  # ⌈803/200⌉ pages, page 1 once


def test_a_missing_title_and_a_near_miss_are_told_apart_by_matching(
    account: SandboxServer,
) -> None:
    shared = _shared(account, [_title(5), "Nobody Onboarding", "Globex Onboarding"])
    with _Listings(account) as seen:
        assert shared.workspace(_title(5)) is not None
        assert shared.workspace("Nobody Onboarding") is None
        with pytest.raises(PlanError, match="no workspace is titled exactly 'Globex Onboarding'"):
            shared.workspace("Globex Onboarding")
    assert len(seen.matching) == 3


def test_a_title_of_stop_words_only_is_found_in_the_index(account: SandboxServer) -> None:
    shared = _shared(account, [_title(7), "The"])
    with _Listings(account) as seen:
        found = shared.workspace("The")
    assert found is not None and found.title == "The"
    assert seen.matching == []  # `matching=The` would list every workspace


def test_the_index_bench_plans_fleets_within_min_of_pages_and_one_plus_titles() -> None:
    bench = bench_module("fleet")
    figures: list[Any] = bench.index_bench(ACCOUNT, (1, 3, 10))
    assert [f.run.code for f in figures] == [0, 0, 0], [f.run.out[-800:] for f in figures]
    assert [f.run.workspace_lists for f in figures] == [1, 4, 5]
    assert [f.matching for f in figures] == [1, 3, 0]
    assert [f.bound for f in figures] == [1, 4, 5]
    assert "3 titles: exit 0, 4 GET /workspaces (3 matching), bound 4: within" in (
        bench.index_report(figures)
    )
