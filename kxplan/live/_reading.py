"""Reading one workspace whole: the workspace, every status set and every story, with the
requests sent together where they can be."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING

from kxplan._runtime import gc_paused
from kxplan.client import KantataClient, Records
from kxplan.client._client import in_context
from kxplan.errors import ApiError
from kxplan.live._checks import status_set_problems, story_check
from kxplan.live._lookups import find_workspace, workspace_not_found
from kxplan.live._params import STORY_PARAMS
from kxplan.live._parsing import status_sets_from_records, tasks_from_records
from kxplan.model import LiveState, LiveStatusSet, LiveWorkspace

if TYPE_CHECKING:
    from kxplan.live.shared import SharedReads

#: How a workspace reference is looked up: `find_workspace`, or a run's `SharedReads`.
Lookup = Callable[[str | int], LiveWorkspace | None]


def read_live(
    client: KantataClient,
    workspace: str | int | LiveWorkspace,
    shared: SharedReads | None = None,
    *,
    status_sets: bool = True,
) -> LiveState:
    """The whole live picture for one workspace (by id, exact title, or as already found).

    The status sets are read alongside (not at all with `status_sets=False`: a manifest
    that uses none); given an id, so are the stories, saving round trips.
    A workspace already found (e.g. to lock it) is not looked up again. With `shared` (a
    run's `SharedReads`), the workspace is looked up and the status sets are read through
    it, so several workspaces of one run share those reads.
    Raises PlanError when no workspace matches, or when a title matches several.
    """
    # The decoded pages and the tasks are many small acyclic objects: the cyclic collector's
    # passes over them free nothing (kxplan._runtime).
    with gc_paused(), client.tally() as tally, ThreadPoolExecutor(max_workers=2) as pool:
        sets: Future[tuple[LiveStatusSet, ...]] | None = None
        if shared is not None:
            if status_sets:
                sets = pool.submit(in_context(shared.status_sets))
            lookup: Lookup = shared.workspace
        else:
            if status_sets:
                sets = pool.submit(in_context(read_status_sets), client)
            lookup = lambda ref: find_workspace(client, ref)  # noqa: E731
        if isinstance(workspace, LiveWorkspace):
            found, records = workspace, read_stories(client, workspace.id)
        else:
            found, records = _workspace_and_stories(client, workspace, pool, lookup)
        read_sets = sets.result() if sets is not None else ()
        tasks = tasks_from_records(records)
        del records  # the decoded pages go now, before the collector's one pass after the pause
    return LiveState(found, tasks, read_sets, requests=tally.requests)


def _workspace_and_stories(
    client: KantataClient, ref: str | int, pool: ThreadPoolExecutor, lookup: Lookup
) -> tuple[LiveWorkspace, Records]:
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        # An id needs no lookup before the stories can be listed: ask for both at once.
        stories = pool.submit(in_context(read_stories), client, text)
        found = lookup(ref)
        if found is not None and found.id == text:
            return found, stories.result()
        with suppress(ApiError):
            stories.result()  # the guess was wrong (an all-digit title); let it finish
    else:
        found = lookup(text)
    if found is None:
        raise workspace_not_found(ref)
    return found, read_stories(client, found.id)


def read_stories(client: KantataClient, workspace_id: str) -> Records:
    """Every story of the workspace (archived included, deleted never) with its parent,
    tags, checklist items and external references, 200 per page."""
    params = {"workspace_id": workspace_id, **STORY_PARAMS}
    return client.get_all("/stories", params, check=story_check(client))


def read_status_sets(client: KantataClient) -> tuple[LiveStatusSet, ...]:
    """Every task status set on the account with its statuses (one request: ≤ 50 sets)."""
    params = {"include": "custom_task_statuses"}
    records = client.get_all("/task_status_sets", params, check=status_set_problems)
    return status_sets_from_records(records)
