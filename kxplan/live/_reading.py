"""Reading one workspace whole: the workspace, every status set and every story, with the
requests sent together where they can be."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

from kxplan.client import KantataClient, Records
from kxplan.errors import ApiError
from kxplan.live._checks import status_set_problems, story_check
from kxplan.live._lookups import workspace_by_id, workspace_by_title, workspace_not_found
from kxplan.live._params import STORY_PARAMS
from kxplan.live._parsing import status_sets_from_records, tasks_from_records
from kxplan.model import LiveState, LiveStatusSet, LiveWorkspace


def read_live(client: KantataClient, workspace: str | int | LiveWorkspace) -> LiveState:
    """The whole live picture for one workspace (by id, exact title, or as already found).

    The status sets are read alongside; given an id, so are the stories, saving round trips.
    A workspace already found (e.g. to lock it) is not looked up again.
    Raises PlanError when no workspace matches, or when a title matches several.
    """
    before = client.requests
    with ThreadPoolExecutor(max_workers=2) as pool:
        sets = pool.submit(read_status_sets, client)
        if isinstance(workspace, LiveWorkspace):
            found, records = workspace, read_stories(client, workspace.id)
        else:
            found, records = _workspace_and_stories(client, workspace, pool)
        status_sets = sets.result()
    tasks = tasks_from_records(records)
    return LiveState(found, tasks, status_sets, requests=client.requests - before)


def _workspace_and_stories(
    client: KantataClient, ref: str | int, pool: ThreadPoolExecutor
) -> tuple[LiveWorkspace, Records]:
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        # An id needs no lookup before the stories can be listed: ask for both at once.
        stories = pool.submit(read_stories, client, text)
        found = workspace_by_id(client, text)
        if found is not None:
            return found, stories.result()
        with suppress(ApiError):
            stories.result()  # the guess was wrong; let it finish
        if isinstance(ref, int):
            raise workspace_not_found(ref)
    found = workspace_by_title(client, text)
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
