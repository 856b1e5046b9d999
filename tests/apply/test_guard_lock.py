"""The lock check before create batches: batches sent side by side share one read of the
lock; a batch sent after that read gets its own; a lost lock stops every batch waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from kxplan.apply._guard import CreateGuard
from kxplan.errors import ApplyError


def _counting(reads: list[float], *, fail: bool = False, pause: float = 0.5) -> Callable[[], None]:
    def check() -> None:
        reads.append(time.monotonic())
        time.sleep(pause)  # a read of the lock in flight
        if fail:
            raise ApplyError("another apply took the lock on workspace 1")

    return check


def test_batches_that_start_together_share_one_read_of_the_lock() -> None:
    reads: list[float] = []
    guard = CreateGuard(check_lock=_counting(reads))
    start = threading.Barrier(4)

    def batch(_: int) -> None:
        start.wait()
        guard.lock_still_held()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(batch, range(4)))
    assert len(reads) == 1


def test_a_batch_after_the_read_returned_reads_again() -> None:
    reads: list[float] = []
    guard = CreateGuard(check_lock=_counting(reads, pause=0.0))
    guard.lock_still_held()
    guard.lock_still_held()
    assert len(reads) == 2


def test_a_lost_lock_stops_every_batch_that_shared_the_read() -> None:
    reads: list[float] = []
    guard = CreateGuard(check_lock=_counting(reads, fail=True))
    start = threading.Barrier(3)
    errors: list[str] = []

    def batch(_: int) -> None:
        start.wait()
        try:
            guard.lock_still_held()
        except ApplyError as err:
            errors.append(err.message)

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(batch, range(3)))
    assert len(reads) == 1
    assert errors == ["another apply took the lock on workspace 1"] * 3
    with pytest.raises(ApplyError):  # and the next batch reads again, and stops too
        guard.lock_still_held()
    assert len(reads) == 2


def test_no_lock_no_read() -> None:
    CreateGuard().lock_still_held()
