"""The adaptive (AIMD) concurrency limit and the backoff delays."""

from __future__ import annotations

import threading
import time

import pytest

from kxplan.client import Backoff
from kxplan.client._limit import AdaptiveLimit
from kxplan.client._retry import parse_retry_after


def test_limit_starts_at_the_maximum_and_halves_on_a_429() -> None:
    limit = AdaptiveLimit(8)
    assert limit.limit == 8
    limit.release(limit.acquire(), rate_limited=True)
    assert limit.limit == 4
    limit.release(limit.acquire(), rate_limited=True)
    assert limit.limit == 2


def test_one_burst_of_429s_halves_the_limit_once() -> None:
    limit = AdaptiveLimit(8)
    slots = [limit.acquire() for _ in range(5)]  # all granted before any 429 came back
    for slot in slots:
        limit.release(slot, rate_limited=True)
    assert limit.limit == 4


def test_limit_never_drops_below_the_minimum() -> None:
    limit = AdaptiveLimit(4, minimum=1)
    for _ in range(10):
        limit.release(limit.acquire(), rate_limited=True)
    assert limit.limit == 1


def test_limit_recovers_by_one_after_a_run_of_successes_up_to_the_maximum() -> None:
    limit = AdaptiveLimit(4, increase_after=3)
    limit.release(limit.acquire(), rate_limited=True)
    assert limit.limit == 2
    for _ in range(3):
        limit.release(limit.acquire())
    assert limit.limit == 3
    for _ in range(30):
        limit.release(limit.acquire())
    assert limit.limit == 4


def test_acquire_waits_while_the_limit_is_full() -> None:
    limit = AdaptiveLimit(1)
    held = limit.acquire()
    got = threading.Event()

    def worker() -> None:
        limit.release(limit.acquire())
        got.set()

    t = threading.Thread(target=worker)
    t.start()
    assert not got.wait(0.1)  # blocked behind the held slot
    limit.release(held)
    assert got.wait(2)
    t.join()
    assert limit.peak == 1


def test_rejects_a_maximum_below_one() -> None:
    with pytest.raises(ValueError):
        AdaptiveLimit(0)


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    backoff = Backoff(base=0.5, cap=4.0, seed=1)
    for attempt in range(8):
        ceiling = min(4.0, 0.5 * 2**attempt)
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spans the range, not a constant


def test_backoff_is_reproducible_with_a_seed() -> None:
    a, b = Backoff(seed=7), Backoff(seed=7)
    assert [a.delay(n) for n in range(6)] == [b.delay(n) for n in range(6)]


def test_backoff_honours_retry_after() -> None:
    backoff = Backoff(base=0.4, seed=3)
    delay = backoff.delay(0, retry_after=5.0)
    assert 5.0 <= delay <= 5.1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    header = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert parse_retry_after(header, now=now) == pytest.approx(30.0)
    past = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now - 30))
    assert parse_retry_after(past, now=now) == 0.0
