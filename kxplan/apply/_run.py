"""The state of one apply run: ids learnt so far, what has been applied, request counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kxplan.apply._verify import Observed
from kxplan.changes.base import Change
from kxplan.errors import ApiError, ApplyError, NotFoundError
from kxplan.plan import Plan

if TYPE_CHECKING:
    from kxplan.apply._guard import CreateGuard
    from kxplan.client import KantataClient

#: How many times a create whose outcome was unknown is looked up and re-sent.
MAX_UNKNOWN_ATTEMPTS = 8

#: Called with the number of changes just finished (drives the progress bar).
Progress = Callable[[int], None]


@dataclass(slots=True)
class Run:
    """Mutable bookkeeping shared by the wave handlers of one `apply_plan` call.

    `task_ids` maps task keys to story ids (from the plan, creates and look-ups), so a child
    created in a later batch, a checklist item or a move can find its story. Handlers may run
    on the client's worker threads, hence the lock around `applied`.
    """

    plan: Plan
    client: KantataClient
    workspace_id: str
    progress: Progress | None = None
    guard: CreateGuard | None = None  # checks around the creates (kxplan.apply._guard)
    on_done: Callable[[tuple[Change, ...]], None] | None = None  # each applied batch (--json)
    attempting: tuple[Change, ...] = ()  # the batch being sent: failed with it if it raises
    task_ids: dict[str, str] = field(default_factory=dict)
    set_ids: dict[str, str] = field(default_factory=dict)
    # set name -> category -> id of the default status Kantata gave a set created in this run
    set_defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    # new sets another apply of this run created (kxplan.apply._statuses.create_set)
    shared_new_sets: set[str] = field(default_factory=set)
    recorded_sets: set[str] = field(default_factory=set)  # sets whose writer is recorded
    applied: list[Change] = field(default_factory=list)
    deferred: list[Change] = field(default_factory=list)  # creates waiting for a move
    extra_requests: int = 0  # calls beyond one per change (e.g. completing checklist items)
    recovered: int = 0  # creates whose unknown outcome was resolved by a look-up
    lifts: int = 0  # moves that took two PUTs (lifted to the top level, then placed)
    # Requests a refused move cost (sent again after the others; lifted, if a delete would
    # take it along): the only task writes beyond the plan's estimate.
    refused: int = 0
    cascaded: int = 0  # planned deletes not sent: a read showed Kantata deleted them already
    # Where Kantata puts a new sibling ("first"/"last"): from the plan's live read, then
    # from each create response; None while unknown (see _creates.send_order).
    placement: str | None = None
    started: float = field(default_factory=time.monotonic)
    # What the writes' answers showed stored, for the verification (kxplan.apply._verify).
    observed: Observed = field(default_factory=Observed)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.placement is None:
            learnt = self.plan.options.get("new_siblings")
            self.placement = str(learnt) if learnt in ("first", "last") else None

    @property
    def stack(self) -> str:
        return self.plan.stack

    def done(self, changes: Iterable[Change]) -> None:
        """Record `changes` as applied and move the progress bar."""
        batch = tuple(changes)
        with self._lock:
            self.applied.extend(batch)
        self.observed.applied(batch, self.task_ids)
        if self.progress is not None and batch:
            self.progress(len(batch))
        if self.on_done is not None and batch:
            self.on_done(batch)

    def learn_ids(self, ids: Mapping[str, str]) -> None:
        with self._lock:
            self.task_ids.update(ids)

    def count_recovered(self, n: int = 1) -> None:
        with self._lock:
            self.recovered += n

    def count_extra(self, n: int = 1) -> None:
        with self._lock:
            self.extra_requests += n

    def count_refused(self, n: int) -> None:
        """Record `n` requests a refused move cost: beyond the plan's estimate."""
        with self._lock:
            self.refused += n

    def count_cascaded(self, n: int) -> None:
        """Record `n` planned DELETEs not sent (the plan's estimate counted them)."""
        with self._lock:
            self.cascaded += n

    def count_lifts(self, n: int) -> None:
        """Record `n` lifts (one PUT each beyond the move's own; the estimate counts the
        ones the tree model foresees, kxplan.changes.depth)."""
        with self._lock:
            self.lifts += n
            self.extra_requests += n

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Run `fn` over `items` under the client's adaptive concurrency limit, order kept."""
        batch = list(items)
        if len(batch) <= 1:
            return [fn(i) for i in batch]
        return list(self.client.map_concurrent(fn, batch))


def delete_quietly(client: KantataClient, path: str) -> bool:
    """DELETE `path`; an object that is already gone counts as deleted (a retry may find it so)."""
    try:
        client.request("DELETE", path)
    except NotFoundError:
        return False
    return True


@contextmanager
def about(what: str) -> Iterator[None]:
    """Name the object an API error was about (`task 'kickoff': PUT /stories/12 -> 404 ...`)."""
    try:
        yield
    except ApiError as err:
        raise ApplyError(f"{what}: {err.message}", hint=err.hint) from err


def label(changes: Iterable[Change]) -> str:
    """`task 'a'` or `tasks 'a', 'b' and 3 more` for a message."""
    keys = [c.key for c in changes]
    if len(keys) == 1:
        return f"{_kind_word(changes)} {keys[0]!r}"
    shown = ", ".join(repr(k) for k in keys[:3])
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"{_kind_word(changes)}s {shown}{more}"


def _kind_word(changes: Iterable[Change]) -> str:
    first = next(iter(changes), None)
    return first.kind.value.replace("_", " ") if first is not None else "object"
