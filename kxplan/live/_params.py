"""The query parameters every read of stories sends, and the batch size of id lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Associations read with every story.
STORY_INCLUDES = ("parent", "tags", "story_tasks", "external_references")

#: Query parameters for every story read: archived stories too (kxplan manages them), also
#: in an archived workspace (hidden by default, so it would read as empty), never deleted
#: ones (the default filter hides them), and To Dos (`project_plan: false`), hidden by
#: default: kxplan creates project tasks, but a server whose default is a To Do must not
#: hide a task kxplan made, and people's To Dos are seen (unmanaged, so never changed).
STORY_PARAMS: Mapping[str, Any] = {
    "show_archived": True,
    "show_from_archived_workspaces": True,
    "show_todos": True,
    "include": ",".join(STORY_INCLUDES),
    "optional_fields": "custom_task_status_id",
}

#: Query parameters for reading one story's checklist items (`GET /story_tasks`): the items
#: of archived stories, and of stories in an archived workspace, are hidden by default.
ITEM_PARAMS: Mapping[str, Any] = {
    "show_archived": True,
    "show_from_archived_workspaces": True,
    "per_page": 200,
}

#: Archived stories, in archived workspaces too (for look-ups by id).
ARCHIVED_TOO: Mapping[str, Any] = {"show_archived": True, "show_from_archived_workspaces": True}

#: Most ids (or marker refs) per `only=` / `external_reference_service_model_refs=` request.
BATCH = 200


def chunks(items: Sequence[str], size: int = BATCH) -> list[Sequence[str]]:
    """`items` in slices of at most `size`, order kept."""
    return [items[i : i + size] for i in range(0, len(items), size)]
