"""Read the live workspace into frozen `kxplan.model` values, in the fewest requests.

A workspace of N stories takes at most ⌈N/200⌉ + 3 requests:

    1  the workspace        GET /workspaces/{id}  or  GET /workspaces?matching=<title>
    1  every status set     GET /task_status_sets?include=custom_task_statuses
    ⌈N/200⌉ stories         GET /stories?workspace_id=..&show_archived=true
                                &show_from_archived_workspaces=true
                                &include=parent,tags,story_tasks,external_references
                                &optional_fields=custom_task_status_id&order=created_at:asc

Checklist items, tags and markers ride along as includes, so no request is made per story.
Every listing is checked for ids pointing at nothing (`story_check`, `status_set_problems`;
see `KantataClient.get_all`): it is read once more, then the read stops the run.
Assumption: an include returns every associated object (Kantata's includes are not paged;
the sandbox returns all), so a story's checklist is complete.
The workspace and the first page of stories are requested together when the workspace is
given by id, so a read takes 1 + ⌈(pages − 1) / concurrency⌉ round trips. (An all-digit
workspace title that is not an id costs two more requests: the id lookup and a story page.)

The modules (see docs/client.md, "Where the code is"):

    _reading.py   read_live: the workspace, its stories and every status set, together
    _history.py   read_status_history: who set a task's status, and when (state changes)
    _lookups.py   a workspace by id or title; tasks by id or marker; counts across workspaces
    _parsing.py   API objects -> LiveTask, LiveWorkspace, LiveStatusSet (pure)
    _checks.py    ids in a listing that point at nothing
    _params.py    the query parameters of story reads, and the batch size
    shared.py     SharedReads: one run's workspace index, status sets and request budget,
                  shared by every workspace the run plans
"""

from kxplan.live._history import (
    DeletedTask,
    StatusChange,
    deleted_by_marker,
    read_status_history,
)
from kxplan.live._lookups import (
    WorkspaceNotFound,
    count_set_usage,
    count_stack_stories,
    count_tasks_holding,
    find_tasks_by_marker,
    find_workspace,
    matching_records,
    read_tasks,
    read_workspace_index,
    stories_by_marker,
    workspace_by_id,
    workspace_not_found,
    workspaces_matching,
)
from kxplan.live._params import BATCH, ITEM_PARAMS
from kxplan.live._parsing import status_set_from, task_from_api, workspace_from_api
from kxplan.live._reading import read_live, read_status_sets
from kxplan.live.shared import Outcome, SharedReads, WorkspaceIndex

__all__ = [
    "BATCH",
    "ITEM_PARAMS",
    "DeletedTask",
    "Outcome",
    "SharedReads",
    "StatusChange",
    "WorkspaceIndex",
    "WorkspaceNotFound",
    "count_set_usage",
    "count_stack_stories",
    "count_tasks_holding",
    "deleted_by_marker",
    "find_tasks_by_marker",
    "find_workspace",
    "matching_records",
    "read_live",
    "read_status_history",
    "read_status_sets",
    "read_tasks",
    "read_workspace_index",
    "status_set_from",
    "stories_by_marker",
    "task_from_api",
    "workspace_by_id",
    "workspace_from_api",
    "workspace_not_found",
    "workspaces_matching",
]
