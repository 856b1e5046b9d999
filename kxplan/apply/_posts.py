"""The manifest's posts: created, updated, deleted (docs/apply.md, "Posts").

The official `POST /posts` body has no `external_reference` (docs/kantata-api.md, "Posts"),
so a post gets the stack's marker in a second request, `POST
/external_references/create_or_update` (subject_type `Post`), which also holds kxplan's
memory of what it wrote (kxplan.planner.posts). That request is idempotent (one reference
per subject and service name), so it is simply sent again when its answer is lost.

A post create whose answer is lost goes through the applier's one `create_once`: before
anything is sent again, the workspace's newest unmarked top-level post with exactly this
message and task link, written by the token's user (when the server says who that is:
kxplan.live.posts.current_user_id), is taken as the one the lost create made, and it
gets the marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kxplan.apply._once import create_once
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run, about, delete_quietly
from kxplan.changes.base import Change, expect
from kxplan.changes.post import PostCreate, PostDelete, PostUpdate
from kxplan.errors import ApplyError, TransportError
from kxplan.ids import result_ids
from kxplan.live.posts import current_user_id
from kxplan.model import SERVICE_NAME
from kxplan.planner.posts import memory_text


def apply_posts(run: Run, changes: Sequence[Change]) -> None:
    """Creates and updates, in plan order."""
    for change in changes:
        if isinstance(change, PostCreate):
            _create(run, change)
        else:
            _update(run, expect(change, PostUpdate))


def delete_posts(run: Run, changes: Sequence[Change]) -> None:
    """DELETE each post (one already gone counts as deleted)."""
    for change in changes:
        delete = expect(change, PostDelete)
        with about(f"deleting post {delete.key!r}"):
            delete_quietly(run.client, f"/posts/{delete.id}")
        run.done((change,))


def _create(run: Run, create: PostCreate) -> None:
    after = create.after
    story_id = _story_id(run, create.key, after["task"], after["task_id"])
    body: dict[str, Any] = {"workspace_id": int(run.workspace_id), "message": after["message"]}
    if story_id is not None:
        body["story_id"] = int(story_id)
    with about(f"creating post {create.key!r}"):
        once = create_once(
            run,
            lambda _missing: run.client.post("/posts", json={"post": body}),
            lambda keys: _unmarked(run, keys, after["message"], story_id),
            [create.key],
            f"creating post {create.key!r}",
        )
        post_id = once.found.get(create.key) or _created_id(once.answer)
        write_marker(run, post_id, create.key, memory_text(after["message"], after["task"]))
    run.done((create,))


def _update(run: Run, update: PostUpdate) -> None:
    after = update.after
    message, task = after.get("message", ""), after.get("task")
    body: dict[str, Any] = {}
    if "message" in update.fields:
        body["message"] = message
    if "task" in update.fields:
        story_id = _story_id(run, update.key, task, after.get("task_id"))
        body["story_id"] = None if story_id is None else int(story_id)
    with about(f"updating post {update.key!r}"):
        if update.fields:  # none: a re-mark (kxplan.planner.posts.REMARKED) writes the marker only
            run.client.request("PUT", f"/posts/{update.id}", json={"post": body})
        write_marker(run, str(update.id), update.key, memory_text(message, task))
    run.done((update,))


def _story_id(run: Run, key: str, task: str | None, task_id: str | None) -> str | None:
    """The live id of the task a post is linked to (created earlier in this apply, or
    known to the plan); None for a post on the project."""
    if task is None:
        return None
    found = task_id or run.task_ids.get(task)
    if found is None:
        raise ApplyError(
            f"post {key!r} is linked to task {task!r}, which has no id in Kantata",
            hint="run `kxplan plan` again: the task should be created before the post",
        )
    return found


def _created_id(answer: Mapping[str, Any] | None) -> str:
    ids = result_ids(answer or {})
    if not ids:
        raise ApplyError("Kantata's answer to POST /posts did not name the post it created")
    return ids[0]


def _unmarked(run: Run, keys: list[str], message: str, story_id: str | None) -> dict[str, str]:
    """Key -> the newest unmarked top-level post with this message and task link."""
    run.count_extra()
    params = {
        "workspace_id": run.workspace_id,
        "parents_only": "true",
        "without_external_reference_service_name": SERVICE_NAME,
        "include": "external_references,user",
        "per_page": 200,
    }
    answer = run.client.get("/posts", params)
    posts = answer.get("posts") or {}
    same = [
        pid
        for pid in result_ids(answer)
        if _same(posts.get(pid) or {}, message, story_id)
        and not (posts.get(pid) or {}).get("external_reference_ids")
    ]
    if same:  # a person's post with the same words is not the one the lost create made
        run.count_extra()
        me = current_user_id(run.client, run.workspace_id)
        if me is not None:
            same = [pid for pid in same if str((posts.get(pid) or {}).get("user_id")) == me]
    newest = max(same, key=lambda pid: int(pid) if pid.isdigit() else 0, default=None)
    return {keys[0]: newest} if newest is not None and keys else {}


def _same(post: Mapping[str, Any], message: str, story_id: str | None) -> bool:
    story = post.get("story_id")
    linked = None if story in (None, "") else str(story)
    return post.get("message") == message and linked == story_id and not post.get("reply")


def write_marker(run: Run, post_id: str, ref: str, message: str, status: str | None = None) -> None:
    """create_or_update the stack's marker on a post (`ref`: its service_model_ref),
    sent again while its outcome is unknown (the write is idempotent)."""
    marker: dict[str, Any] = {
        "subject_type": "Post",
        "subject_id": int(post_id),
        "service_name": SERVICE_NAME,
        "service_model": run.stack,
        "service_model_ref": ref,
        "external_message": message,
    }
    if status is not None:
        marker["external_status"] = status
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        try:
            run.client.post(
                "/external_references/create_or_update", json={"external_reference": marker}
            )
            return
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
