"""Who changed a task's status, and when: the story state changes of a few stories.

    history = read_status_history(client, {"500123": live_task, ...})

`GET /story_state_changes?story_id=<id>&include=user&order=created_at:desc&per_page=200`
(Kantata's Story State Changes API, https://developer.kantata.com/tag/Story-State-Changes:
`story_id` is required, one story per request; `include=user` side-loads the user each
change belongs to). ONE request per story, sent concurrently through the client's limiter;
none when no story is asked for. docs/kantata-api.md, "Story state changes", says what
kxplan relies on.

A state change records the new `state` (the status category) and `formatted_state`; it names
no custom status, and whether a new custom status inside one category records one at all is
not documented (the sandbox's variant `state_changes` plays both). So the change that set a
task's status is the newest one whose `formatted_state` is the task's status name (`exact`),
else the newest one whose `state` is the task's category (`category`: it moved the task into
that category; a later change of status inside it may have left no trace). No such change:
None (the history does not say).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from kxplan.client import KantataClient, Records
from kxplan.ids import id_order, result_ids
from kxplan.live._lookups import _marker_params
from kxplan.live._params import chunks
from kxplan.live._parsing import task_from_api
from kxplan.model import LiveTask

#: How sure kxplan is that a change set the task's current status.
Match = Literal["exact", "category"]

HISTORY_PATH = "/story_state_changes"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The state change that set a task's current status: when (`at`, UTC), by whom
    (`user_id`, and `user_name` when the `users` include gave one), what it recorded."""

    story_id: str
    at: str
    state: str
    formatted_state: str
    user_id: str | None
    user_name: str | None
    match: Match

    def when(self) -> str:
        """`at` for people: "2026-11-30 14:02 UTC" (the raw text when it is no datetime)."""
        return utc_text(self.at)

    def who(self) -> str:
        """ "Jane Doe (#42)", "user #42" without a name, "an unknown user" without an id."""
        if self.user_id is None:
            return "an unknown user"
        return f"{self.user_name} (#{self.user_id})" if self.user_name else f"user #{self.user_id}"


def utc_text(at: str) -> str:
    """A timestamp for people, in UTC: "2026-11-30 14:02 UTC" (`at` as it is when it is no
    ISO 8601 datetime)."""
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def read_status_history(
    client: KantataClient, tasks: Mapping[str, LiveTask], sole: Collection[str] = ()
) -> dict[str, StatusChange | None]:
    """story id -> the change that set its current status (None: the history does not say),
    for each task of `tasks` (story id -> its live task): one request each, concurrently.
    `sole`: status names (casefolded) that are the only status of their category in their
    workspace's set, so a change into the category set exactly that status."""
    ids = sorted(tasks, key=id_order)
    answers = client.map_concurrent(lambda sid: _changes_of(client, sid), ids)
    return {sid: setter(tasks[sid], body, sole) for sid, body in zip(ids, answers, strict=True)}


def _changes_of(client: KantataClient, story_id: str) -> dict[str, Any]:
    params = {"story_id": story_id, "include": "user", "order": "created_at:desc", "per_page": 200}
    return client.get(HISTORY_PATH, params)


def setter(
    task: LiveTask, body: Mapping[str, Any], sole: Collection[str] = ()
) -> StatusChange | None:
    """The change in one `GET /story_state_changes` answer that set `task`'s status (pure)."""
    changes = [c for _, c in _changes(body)]
    status = (task.status or "").casefold()
    exact = [c for c in changes if str(c.get("formatted_state") or "").casefold() == status]
    if exact:
        return _change(task.id, exact[0], body, "exact")
    state = task.state.casefold()
    same = [c for c in changes if str(c.get("state") or "").casefold() == state]
    if not same:
        return None
    return _change(task.id, same[0], body, "exact" if status in sole else "category")


def _changes(body: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(id, change) of the answer, newest first (by created_at, then id), whatever order
    the server listed them in."""
    objects = body.get("story_state_changes") or {}
    rows = [(i, objects[i]) for i in result_ids(body) if isinstance(objects.get(i), Mapping)]
    rows.sort(key=lambda r: (_moment(r[1].get("created_at")), id_order(r[0])), reverse=True)
    return rows


def _moment(text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _change(
    story_id: str, row: Mapping[str, Any], body: Mapping[str, Any], match: Match
) -> StatusChange:
    user_id = row.get("user_id")
    users = body.get("users") or {}
    user = users.get(str(user_id)) if user_id is not None else None
    name = user.get("full_name") if isinstance(user, Mapping) else None
    return StatusChange(
        story_id=story_id,
        at=str(row.get("created_at") or ""),
        state=str(row.get("state") or ""),
        formatted_state=str(row.get("formatted_state") or ""),
        user_id=str(user_id) if user_id is not None else None,
        user_name=str(name) if name else None,
        match=match,
    )


@dataclass(frozen=True, slots=True)
class DeletedTask:
    """A soft-deleted story carrying a task's marker: its id, and when it was deleted."""

    id: str
    deleted_at: str


def deleted_by_marker(
    client: KantataClient, workspace_id: str, stack: str, keys: Collection[str]
) -> dict[str, DeletedTask]:
    """Key -> the newest deleted story carrying this stack's marker for it, for the keys of
    manifest tasks no live story carries: were they deleted in Kantata, or never applied?

    Deletes are soft (Stories API: "Soft deletes a task ... You can view soft deleted tasks
    by fetching a list of tasks with the `only_deleted` filter set to `true`"), and a deleted
    story keeps its external references. `GET /stories?only_deleted=true` with the marker
    filters, 200 keys a request, concurrently; none when no key is given. The filters are a
    convenience: each story's marker is checked here too."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}

    def batch(chunk: Sequence[str]) -> Records:
        refs = {"external_reference_service_model_refs": ",".join(chunk), "only_deleted": True}
        return client.get_all("/stories", {**_marker_params(workspace_id, stack), **refs})

    found: dict[str, DeletedTask] = {}
    for records in client.map_concurrent(batch, chunks(wanted)):
        for story in records:
            when = story.get("deleted_at")
            key = task_from_api(story, records.included).key_for(stack)
            if key is None or key not in keys or not when:
                continue
            mine = DeletedTask(str(story["id"]), str(when))
            if key not in found or id_order(found[key].id) < id_order(mine.id):
                found[key] = mine
    return found
