"""`WorkspaceLock.check()` against the sandbox: the read that just showed the lock held
answers for a while (no request per batch), an older one is read again, and a rival's
claim found then stops the apply (docs/apply.md, "When two applies meet")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.errors import ApplyError
from kxplan.lock import RECHECK_SHARE, WorkspaceLock

READS = ("GET", "/external_references")


def _reads(server: Any) -> int:
    return server.log.count(*READS)


def _rival_takes(client: KantataClient, workspace_id: str) -> None:
    """Another apply's claim replaces ours (`create_or_update` keeps one per workspace)."""
    rival = WorkspaceLock(client, workspace_id, "Sandbox workspace", ttl=600)
    rival.run_id, rival.holder = "rival0000001", "rival@ci"
    rival._write()


@pytest.fixture
def held(
    sandbox_workspace: tuple[Any, str], connect: Callable[..., KantataClient]
) -> tuple[Any, KantataClient, Callable[[float], WorkspaceLock]]:
    server, workspace_id = sandbox_workspace
    client = connect(server)

    def take(ttl: float) -> WorkspaceLock:
        lock = WorkspaceLock(
            client, workspace_id, "Sandbox workspace", ttl=ttl, sleep=lambda s: None
        )
        lock.peek()
        lock.acquire()
        return lock

    return server, client, take


def test_a_check_right_after_taking_the_lock_sends_nothing(held: Any) -> None:
    server, _, take = held
    lock = take(120.0)
    before = _reads(server)
    for _ in range(5):  # five rounds of create batches within 20 s
        lock.check()
    assert _reads(server) == before
    lock.release()


def test_an_older_read_is_read_again_and_a_rival_claim_stops_the_apply(held: Any) -> None:
    server, client, take = held
    lock = take(3.0)  # rechecked after a sixth of the lifetime: 0.5 s
    assert pytest.approx(0.5) == 3.0 * RECHECK_SHARE
    _rival_takes(client, lock.workspace_id)
    lock.check()  # the read that took it still answers: the rival is not seen yet
    time.sleep(0.55)
    before = _reads(server)
    with pytest.raises(ApplyError, match="another apply took the lock") as err:
        lock.check()
    assert "rival@ci" in err.value.message and _reads(server) > before
    lock.release()  # not ours any more: left as the rival wrote it
    assert [c.run_id for c in lock.read() if not c.released] == ["rival0000001"]


def test_a_check_that_found_the_lock_held_answers_the_next_ones(held: Any) -> None:
    server, _, take = held
    lock = take(3.0)
    time.sleep(0.55)
    before = _reads(server)
    lock.check()  # read: the last one is older than 0.5 s
    lock.check()  # answered by that read
    assert _reads(server) == before + 1
    lock.release()


def test_a_release_right_after_taking_the_lock_only_writes(held: Any) -> None:
    server, _, take = held
    lock = take(120.0)
    reads, writes = (
        _reads(server),
        server.log.count("POST", "/external_references/create_or_update"),
    )
    assert lock.release() is None
    assert _reads(server) == reads  # the read that took it still answers
    assert server.log.count("POST", "/external_references/create_or_update") == writes + 1
    assert [c.released for c in lock.read()] == [True]


def test_a_release_after_an_older_read_reads_first_and_leaves_a_rivals_claim(
    held: Any,
) -> None:
    _, client, take = held
    lock = take(3.0)
    _rival_takes(client, lock.workspace_id)
    time.sleep(0.55)
    note = lock.release()
    assert note is not None and "had been taken by" in note and "rival@ci" in note
    assert [c.run_id for c in lock.read() if not c.released] == ["rival0000001"]
