"""One run's shared reads: the workspace index, the status sets, and the one request budget
(docs/client.md, "One run, many workspaces").

A run that plans several manifests, or one template in many workspaces, makes one
`SharedReads` and hands it to every per-workspace step:

    shared = SharedReads(client, expect=[entry.workspace for entry in fleet])
    outcomes = shared.each(plan_one, fleet)        # concurrently, within one budget

- `workspace(ref)`: a workspace by id or exact title. A single title costs one
  `GET /workspaces?matching=…`. Once more than one title is to be looked up in the run,
  page 1 of the workspace index is read (its `count` says how many pages the whole index
  takes, ⌈A/200⌉ for A workspaces on the account): when the titles still to look up are
  fewer than the index's remaining pages, each costs one `matching` lookup (exact titles
  kept); else the rest of the index is paged (one page at a time: `GET /workspaces` has its
  own, stricter rate limit) and every title is found in it. So T titles cost at most
  min(⌈A/200⌉, 1 + T) requests (docs/fleet.md, "Requests"). An id costs one
  `GET /workspaces/{id}` unless the index already holds it.
- `workspaces()`: the index, also what shared-set usage is counted in.
- `status_sets()`: every task status set, read once for the whole run.
- `add_workspace(ws)`: a workspace created in this run joins the index.
- `forget(id)`: the run changed that workspace (fields, status set); it is read again.
- `client`: the one `KantataClient` every step uses; its adaptive concurrency limit is the
  run's request budget (a 429 on `GET /workspaces` only slows that endpoint's own limiter).
- `each(fn, items)`: `fn` over the items concurrently, each isolated (an error is kept as
  its outcome, the others go on), results in the items' order, so output that is printed
  from the outcomes never interleaves.

Everything is safe to call from several threads: a read that two steps need at once is
made by one of them while the other waits for its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kxplan.client import KantataClient
from kxplan.client._client import in_context
from kxplan.ids import id_order
from kxplan.live._lookups import (
    index_pages,
    matchable,
    pick_titled,
    read_index_page,
    read_index_rest,
    read_workspace_index,
    workspace_by_id,
    workspace_by_title,
)
from kxplan.live._reading import read_status_sets
from kxplan.model import LiveStatusSet, LiveWorkspace

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class WorkspaceIndex:
    """Every workspace on the account (archived too), in id order, as one run saw it; looked
    up by id and by title in constant time (a fleet looks up thousands)."""

    workspaces: tuple[LiveWorkspace, ...]
    _by_id: dict[str, LiveWorkspace] = field(init=False, repr=False, compare=False)
    _by_fold: dict[str, list[LiveWorkspace]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_fold: dict[str, list[LiveWorkspace]] = {}
        for ws in self.workspaces:
            by_fold.setdefault(ws.title.casefold(), []).append(ws)
        object.__setattr__(self, "_by_id", {ws.id: ws for ws in self.workspaces})
        object.__setattr__(self, "_by_fold", by_fold)

    def __len__(self) -> int:
        return len(self.workspaces)

    def by_id(self, workspace_id: str) -> LiveWorkspace | None:
        """The workspace with this id; None when the index has none."""
        return self._by_id.get(workspace_id)

    def titled(self, title: str) -> LiveWorkspace | None:
        """The one workspace titled exactly `title`; None when none is. PlanError when
        several are, or only ones differing in case (as a `matching` lookup says)."""
        return pick_titled(self._by_fold.get(title.casefold(), []), title)

    def with_workspace(self, ws: LiveWorkspace) -> WorkspaceIndex:
        """This index with `ws` added (or replacing the entry of the same id)."""
        kept = tuple(w for w in self.workspaces if w.id != ws.id)
        return WorkspaceIndex(tuple(sorted((*kept, ws), key=lambda w: id_order(w.id))))


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    """What one isolated step gave: its value, or the error it raised."""

    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _is_id(ref: str | int) -> bool:
    return isinstance(ref, int) or str(ref).strip().isdigit()


class SharedReads:
    """The reads one run shares across its workspaces (see the module docstring).

    `expect`: the workspace references the run will look up (ids or titles); with more
    than one title among them the first title lookup reads the whole index instead of one
    `matching` query per title.
    """

    def __init__(self, client: KantataClient, *, expect: Iterable[str | int] = ()) -> None:
        self.client = client
        self._titles_expected: set[str] = set()
        self._titles_asked = 0
        self._index: WorkspaceIndex | None = None
        self._first_page: dict[str, Any] | None = None  # page 1 of the index, once read
        self._by_matching = False  # titles are looked up one `matching` query each
        self._sets: tuple[LiveStatusSet, ...] | None = None
        self._by_id: dict[str, LiveWorkspace | None] = {}
        self._by_title: dict[str, LiveWorkspace | None] = {}
        self._added: list[LiveWorkspace] = []
        self._stale: set[str] = set()  # ids changed by this run: read again by id
        self._lock = threading.Lock()  # the dicts and counters above
        self._index_lock = threading.Lock()  # one reader of GET /workspaces at a time
        self._sets_lock = threading.Lock()  # one reader of the status sets
        self.expect(expect)

    # ------------------------------------------------------------------ workspaces

    def expect(self, refs: Iterable[str | int]) -> None:
        """Say which workspace references the run will look up (see the class docstring)."""
        with self._lock:
            self._titles_expected.update(str(r).strip() for r in refs if not _is_id(r))

    def workspace(self, ref: str | int) -> LiveWorkspace | None:
        """The workspace with id `ref` or exact title `ref`; None when there is none (an
        all-digit string that is no id is tried as a title). PlanError when a title is
        ambiguous."""
        text = str(ref).strip()
        if _is_id(ref):
            found = self._workspace_by_id(text)
            if found is not None or isinstance(ref, int):
                return found
        return self._workspace_by_title(text)

    def workspaces(self) -> WorkspaceIndex:
        """Every workspace on the account, paged once per run (⌈W/200⌉ requests)."""
        with self._index_lock:
            return self._read_index()

    def _read_index(self) -> WorkspaceIndex:
        """The index (read now if need be; the caller holds `_index_lock`)."""
        if self._index is None:
            first = self._first_page
            found = (
                read_workspace_index(self.client)
                if first is None
                else read_index_rest(self.client, first)
            )
            index = WorkspaceIndex(found)
            with self._lock:
                for ws in self._added:  # created meanwhile, maybe after its page was read
                    index = index.with_workspace(ws)
                self._index = index
        return self._index

    def _titles_by_index(self, pending: int) -> bool:
        """Whether titles are looked up in the index (True) or by one `matching` query each
        (False): page 1 of the index is read once and says how many pages the rest takes;
        `pending` titles still to look up each cost one `matching` query instead."""
        with self._index_lock:
            if self._index is not None:
                return True
            if self._first_page is None:
                self._first_page = read_index_page(self.client)
                pages = index_pages(self._first_page)
                self._by_matching = pages is not None and pending < pages - 1
            if self._by_matching:
                return False
            self._read_index()
            return True

    def add_workspace(self, ws: LiveWorkspace) -> None:
        """A workspace created in this run: later lookups find it without a request."""
        with self._lock:
            self._added.append(ws)
            self._by_id[ws.id] = ws
            self._by_title[ws.title] = ws
            if self._index is not None:
                self._index = self._index.with_workspace(ws)

    def forget(self, workspace_id: str) -> None:
        """This run changed the workspace itself (its fields, its status set): the next
        look-up by id reads it again (`GET /workspaces/{id}`), not what the run saw before."""
        with self._lock:
            self._stale.add(workspace_id)
            self._by_id.pop(workspace_id, None)

    def _workspace_by_id(self, text: str) -> LiveWorkspace | None:
        with self._lock:
            index = None if text in self._stale else self._index
            if text in self._by_id:
                return self._by_id[text]
        if index is not None and (found := index.by_id(text)) is not None:
            return found
        found = workspace_by_id(self.client, text)
        with self._lock:
            self._by_id.setdefault(text, found)
            return self._by_id[text]

    def _workspace_by_title(self, title: str) -> LiveWorkspace | None:
        with self._lock:
            if title in self._by_title:
                return self._by_title[title]
            self._titles_asked += 1
            titles = self._titles_expected | {title}
            many = len(titles) > 1 or self._titles_asked > 1
            pending = len(titles - set(self._by_title))
            use_index = many or self._index is not None
        if use_index and (not matchable(title) or self._titles_by_index(pending)):
            return self.workspaces().titled(title)
        found = workspace_by_title(self.client, title)
        with self._lock:
            self._by_title.setdefault(title, found)
            return self._by_title[title]

    # ------------------------------------------------------------------ status sets

    def status_sets(self) -> tuple[LiveStatusSet, ...]:
        """Every task status set with its statuses, read once per run (one request)."""
        with self._sets_lock:
            if self._sets is None:
                self._sets = read_status_sets(self.client)
            return self._sets

    # ------------------------------------------------------------------ the budget

    def each(self, fn: Callable[[T], R], items: Sequence[T]) -> list[Outcome[R]]:
        """`fn(item)` for every item, concurrently within the client's one adaptive limit,
        each isolated: an error becomes that item's outcome and the others go on. Outcomes
        are in the items' order."""

        def run(item: T) -> Outcome[R]:
            try:
                return Outcome(value=fn(item))
            except Exception as err:  # isolation: one workspace's failure is its own
                return Outcome(error=err)

        if len(items) <= 1:
            return [run(item) for item in items]
        workers = min(self.client.max_concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(in_context(run), item) for item in items]
            return [f.result() for f in futures]
