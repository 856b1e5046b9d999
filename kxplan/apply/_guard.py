"""One task per key, whatever else runs: marker checks around each level of creates
(docs/apply.md, "When two applies meet").

Right before the batches of a level go out, the level's keys are looked up by marker
(`GET /stories` filtered by `external_reference_*`, 200 keys per request). A key that exists
already — another apply created it since this plan was made — is not created again: its
oldest story is adopted (its id is used for the children) and counted. Right after the level
its keys are looked up again: when another apply created the same key at the same moment,
the oldest story (lowest id) is kept and the copy this run has just made is deleted; the
other run does the same from its side, so exactly one story per key stays. A copy is only
ever deleted by the run that made it, seconds after making it, before any child was created
under it. The look-up after one level and the one before the next are one look-up
(`check_level`): nothing is sent between them. Before each batch the workspace lock is
checked (when there is one); batches that go out side by side share that read.

Most of the time nobody else is creating: so each check first asks Kantata how many
stories carry this stack's marker (one `GET /stories` with `per_page=1`, whatever the
number of keys). When that is exactly what the plan read plus what this run has created
since, no other apply created any of this stack's tasks, and no key needs looking up. Any
other count — a rival's creates, a person's delete, a server that counts differently — and
the keys are looked up as above, for the rest of the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from kxplan.changes.base import Change, Kind
from kxplan.errors import ApiError, KxplanError
from kxplan.live import count_stack_stories, stories_by_marker
from kxplan.model import LiveTask

if TYPE_CHECKING:
    from kxplan.apply._run import Run
    from kxplan.client import KantataClient

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class CreateGuard:
    """What `apply_plan` checks around its creates, and what it found.

    `check_lock` raises (an ApplyError) when this run no longer holds the workspace.
    `adopted`: keys found already created before sending; `merged`: keys another apply
    created at the same moment, whose copy made here was deleted again.
    """

    check_lock: Callable[[], None] | None = None
    adopted: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    # The stack's stories Kantata should count if nobody else created any: the plan's
    # count plus this run's creates; None once a count differed (keys are looked up).
    expected: int | None = None
    counted: int = 0  # how many checks a count settled, without a look-up of keys
    #: The stack's count made while the lock's claim settled (kxplan.lock, `acquire`),
    #: before this run wrote anything: the first check's count, when no task was written
    #: before it (None: the first check counts itself).
    first_count: int | None = None
    #: Requests made for this guard before the apply (that count): the apply counts them.
    early_requests: int = 0
    _mutex: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: Future[None] | None = None

    def count_from(self, planned: int | None) -> None:
        """Start counting from the plan's `stack_stories` (None: never count)."""
        self.expected = planned

    def stop_counting(self) -> None:
        """From now on every check looks keys up (the count no longer tells)."""
        self.expected = None

    def lock_still_held(self) -> None:
        """`check_lock()`, shared by the batches that ask while one is in flight: the
        batches of a level that go side by side start together, and one read of the lock,
        made as they start, answers for all of them (each used to read it itself). A batch
        that asks after that read returned gets a read of its own."""
        if self.check_lock is None:
            return
        with self._mutex:
            flight, leader = self._in_flight, self._in_flight is None
            if flight is None:
                flight = self._in_flight = Future()
        if not leader:
            flight.result()  # the same answer: returns, or raises the same ApplyError
            return
        try:
            self.check_lock()
        except BaseException as err:
            self._land(flight, err)
            raise
        self._land(flight, None)

    def _land(self, flight: Future[None], err: BaseException | None) -> None:
        with self._mutex:
            self._in_flight = None  # a batch asking from now on reads again
        if err is None:
            flight.set_result(None)
        else:
            flight.set_exception(err)

    def note(self, adopted: Iterable[str] = (), merged: Iterable[str] = ()) -> None:
        with self._mutex:
            self.adopted.extend(adopted)
            self.merged.extend(merged)


def guarded_create(
    run: Run, batch: list[Change], create: Callable[[Run, list[Change]], None]
) -> None:
    """`create(run, batch)`, once the lock is known to be still held (when there is one). The
    marker checks are the level's (`check_level`)."""
    if run.guard is not None:
        run.guard.lock_still_held()
    create(run, batch)


def check_level(run: Run, created: Sequence[Change], coming: Sequence[Change]) -> list[Change]:
    """One marker look-up for two checks, returning the changes of `coming` to send.

    `created`: the level just sent — a key whose oldest story is not the one this run made
    had its copy made meanwhile by another apply: ours is deleted and the oldest used.
    `coming`: the next level — a key some story carries already is adopted, not sent.
    When `coming` is to be sent, the lock is checked alongside (both are reads, neither
    waits for the other); the batches that go out right after are answered by that read
    while it is fresh (kxplan.lock). Without a guard there is nothing to check and `coming`
    is sent whole."""
    guard = run.guard
    if guard is None:
        return list(coming)
    keys = [c.key for c in created] + [c.key for c in coming]
    if not keys:
        return []
    if guard.expected is not None:
        if all(c.key in run.task_ids for c in created):
            guard.expected += len(created)
        else:  # a create of the level did not show its story: look them up
            guard.stop_counting()

    early, guard.first_count = guard.first_count, None  # it answers the first check only
    if early is not None and any(c.kind is Kind.TASK for c in run.applied):
        early = None  # this run has written tasks since that count

    def count() -> int | None:
        return stack_count(run.client, run.workspace_id, run.stack)

    def look_up() -> dict[str, list[LiveTask]]:
        return stories_by_marker(run.client, run.workspace_id, run.stack, keys)

    lost: list[KxplanError] = []

    def with_lock(read: Callable[[], T]) -> T:
        """`read()`, with the lock checked alongside when `coming` is to be sent; a lost
        lock is raised once the copies of `created` are settled."""
        if not coming or guard.check_lock is None:
            return read()

        def lock() -> None:
            try:
                guard.lock_still_held()
            except KxplanError as err:
                lost.append(err)

        return run.map(lambda f: f(), [read, lock])[0]  # type: ignore[no-any-return]

    if guard.expected is not None:
        if early is not None:  # counted while the lock settled: the lock was just read too
            counted: int | None = early
            with_lock(lambda: None)
        else:
            counted = with_lock(count)
        if counted == guard.expected:  # nobody else created any of this stack's tasks
            guard.counted += 1
            if lost:
                raise lost[0]
            return list(coming)
        log.info(
            "Kantata counts %s stories of stack %r where this apply expected %s: "
            "looking the keys up",
            counted,
            run.stack,
            guard.expected,
        )
        guard.stop_counting()
        found = look_up()
    else:
        found = with_lock(look_up)
    _keep_oldest(run, guard, created, found)
    if lost:
        raise lost[0]
    return _not_created_yet(run, guard, coming, found)


def stack_count(client: KantataClient, workspace_id: str, stack: str) -> int | None:
    """How many stories carry the stack's marker, as Kantata counts them; None when it
    refused the count (not lost: the client retries those): the checks then look keys up."""
    try:
        return count_stack_stories(client, workspace_id, stack)
    except ApiError as err:
        log.info("Kantata refused the count of the stack's stories: %s", err.message)
        return None


def _not_created_yet(
    run: Run, guard: CreateGuard, batch: Sequence[Change], found: Mapping[str, list[LiveTask]]
) -> list[Change]:
    """The changes of `batch` whose key no story carries yet; the others are adopted."""
    existing = [c for c in batch if found.get(c.key)]
    if existing:
        run.learn_ids({c.key: found[c.key][0].id for c in existing})
        guard.note(adopted=[c.key for c in existing])
        run.done(existing)
    return [c for c in batch if not found.get(c.key)]


def _keep_oldest(
    run: Run, guard: CreateGuard, created: Sequence[Change], found: Mapping[str, list[LiveTask]]
) -> None:
    """Delete the copies this run just made of keys another apply created too."""
    mine = {c.key: run.task_ids.get(c.key) for c in created}
    merged: list[str] = []
    for key in sorted(mine):
        stories, ours = found.get(key, []), mine[key]
        if len(stories) < 2 or ours is None or stories[0].id == ours:
            continue
        if any(s.id == ours for s in stories):
            _delete_story(run, ours)
            run.learn_ids({key: stories[0].id})
            merged.append(key)
    guard.note(merged=merged)


def _delete_story(run: Run, story_id: str) -> None:
    from kxplan.apply._run import delete_quietly

    delete_quietly(run.client, f"/stories/{story_id}")
    run.observed.deleted(story_id)
    run.count_extra()
