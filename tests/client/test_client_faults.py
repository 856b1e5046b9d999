"""Reads under injected faults, and a server that never recovers."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from kxplan.client import Backoff, KantataClient
from kxplan.errors import AuthError, ServerError
from kxplan.live import read_live

Connect = Callable[..., KantataClient]
Seed = Callable[..., tuple[str, list[str]]]
TOKEN = "kx-RECOGNISABLE-token-1f2e3d4c"


def test_reads_exactly_through_503s_and_a_rate_limit(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed
) -> None:
    from kxplan.sandbox import Faults

    server = make_sandbox()
    ws_id, ids = seed_workspace(server, 1500)
    server.faults = Faults(seed=4, p_503=0.2, rate_limit=20.0, burst=2)
    # Real (short) waits: the token bucket refills with time.
    client = connect(
        server, sleep=time.sleep, max_retries=10, backoff=Backoff(base=0.05, cap=1.0, seed=1)
    )

    live = read_live(client, ws_id)

    got = [t.id for t in live.tasks]
    assert len(got) == len(set(got)) == 1500 and set(got) == set(ids)
    statuses = [e.status for e in server.log.entries]
    assert 503 in statuses and 429 in statuses
    assert client.retries == client.requests - (math.ceil(1500 / 200) + 2)
    assert client.limit.limit < 8  # the 429s narrowed the concurrency limit


def test_always_failing_server_gives_a_clear_error_after_bounded_retries(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed
) -> None:
    from kxplan.sandbox import Faults

    server = make_sandbox()
    ws_id, _ = seed_workspace(server, 1)
    server.faults = Faults(p_503=1.0)
    client = connect(server, max_retries=3)

    with pytest.raises(ServerError) as info:
        read_live(client, ws_id)
    assert "-> 503" in str(info.value) and "after 4 attempts" in str(info.value)
    assert "try again later" in info.value.format()
    assert server.log.count() <= 3 * 4  # workspace, status sets, stories: 4 attempts each


def test_token_never_appears_in_output_logs_or_errors(
    make_sandbox: Callable[..., Any],
    connect: Connect,
    seed_workspace: Seed,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kxplan.sandbox import Faults

    caplog.set_level(logging.DEBUG, logger="kxplan")
    server = make_sandbox(token=TOKEN)
    ws_id, _ = seed_workspace(server, 250)
    server.faults = Faults(seed=2, p_503=0.3)
    live = read_live(connect(server, token=TOKEN), ws_id)
    assert len(live.tasks) == 250
    with pytest.raises(AuthError) as info:
        read_live(connect(server, token=TOKEN[::-1]), ws_id)
    texts = [caplog.text, str(info.value), info.value.format(), repr(live), *capsys.readouterr()]
    assert any("/stories" in m and "-> 200" in m for m in caplog.messages)
    assert "the token was rejected" in str(info.value)
    for text in texts:
        assert TOKEN not in text and TOKEN[::-1] not in text
