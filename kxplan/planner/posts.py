"""The manifest's posts against the stack's posts in Kantata (docs/manifest.md, "Posts").

Pure. A post is identified by its key, kept as its marker's `service_model_ref`; the posts
`apply --notify` writes (ref `notify:...`) and every post without this stack's marker are
never planned. kxplan's memory of what it wrote sits in the marker's `external_message`:

    kxp1 m=1a2b3c4d t=9f0e1d2c

(digests of the message and of the task key it linked; `t=-`: no task). With it a person's
edit in Kantata is told apart from a manifest change: a post whose message (or task link)
differs from the manifest is updated when the manifest changed since kxplan wrote it, and
kept as the person left it, with a note, when only Kantata changed. With no memory the
manifest wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kxplan.changes import stages
from kxplan.changes.base import ReasonCode
from kxplan.changes.note import Note
from kxplan.changes.post import (
    POST_FIELDS,
    LivePostValues,
    NewPost,
    PostCreate,
    PostDelete,
    PostKeep,
    PostUpdate,
    PostValues,
)
from kxplan.errors import PlanError
from kxplan.model import SERVICE_NAME, DesiredPost, LivePost, LiveTask, Manifest
from kxplan.planner.order import Step, place

#: The format tag every post memory starts with.
TAG = "kxp1"


def digest(text: str) -> str:
    """8 hex characters standing for `text` in the memory."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def memory_text(message: str, task: str | None) -> str:
    """The memory kxplan writes on a post's marker after writing `message` linked to `task`."""
    return f"{TAG} m={digest(message)} t={digest(task) if task else '-'}"


@dataclass(frozen=True, slots=True)
class Memory:
    """What a post's marker remembers: digests of the message and task key kxplan wrote."""

    message: str
    task: str  # "-": no task

    @classmethod
    def read(cls, text: str) -> Memory | None:
        parts = text.split()
        if not parts or parts[0] != TAG:
            return None
        values = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if "m" not in values or "t" not in values:
            return None
        return cls(values["m"], values["t"])


def plan_posts(
    manifest: Manifest,
    posts: tuple[LivePost, ...] | None,
    tasks: Mapping[str, LiveTask],
    *,
    prune: bool,
) -> list[Step]:
    """Steps for the manifest's posts against the stack's live posts (`posts` None: not
    read, which the caller does whenever the manifest has a `posts:` list); `tasks`: task
    key -> its live task (the tasks the plan matched)."""
    if posts is None:
        if manifest.posts:  # planning creates against posts never read would duplicate them
            raise PlanError(
                f"kxplan bug: the posts of stack {manifest.name!r} were not read before planning",
                hint="plan with `kxplan plan`, which reads them (kxplan.live.posts.with_posts)",
            )
        posts = ()
    live = {
        p.marker.service_model_ref: p
        for p in posts
        if p.marker is not None
        and (p.marker.service_name, p.marker.service_model) == (SERVICE_NAME, manifest.name)
        and not p.notification
    }
    if not manifest.posts and not live:
        return []  # no post to plan, none to drop
    task_keys = {t.id: k for k, t in tasks.items()}
    # Read only when a manifest post has no marked post (kxplan.live.posts.unmarked_own_posts).
    unmarked = [p for p in posts if p.marker is None]
    steps: list[Step] = []
    for rank, post in enumerate(manifest.posts):
        found = live.get(post.key)
        left = _left_unmarked(post, unmarked, tasks) if found is None else None
        if left is not None:
            unmarked.remove(left)
            steps.append(place(stages.POSTS, _remark(post, left, tasks), rank=rank))
        elif found is None:
            steps.append(place(stages.POSTS, _create(post, tasks), rank=rank))
        else:
            steps.extend(_compare(post, found, tasks, task_keys, rank))
    wanted = {p.key for p in manifest.posts}
    dropped = sorted((k, p) for k, p in live.items() if k not in wanted)
    for rank, (key, gone) in enumerate(dropped):
        values: LivePostValues = {
            "message": gone.message,
            "task": task_keys.get(gone.story_id or ""),
        }
        if prune and not gone.replies:
            reason = "not in the manifest's posts (--prune)"
            delete = PostDelete(
                key=key, id=gone.id, path=key, before=values, reason=reason, code=ReasonCode.PRUNED
            )
            steps.append(place(stages.POST_DELETES, delete, rank=rank))
        else:
            keep = PostKeep(key=key, id=gone.id, path=key, before=values, **_kept(gone, prune))
            steps.append(place(stages.KEPT, keep, position=rank))
    return steps


def _kept(post: LivePost, prune: bool) -> dict[str, Any]:
    """Why a post the manifest dropped stays: no --prune, or replies people wrote to it
    (deleting a post deletes its thread, and what people write is never lost)."""
    if not prune:
        return {
            "reason": "not in the manifest's posts; kept (deleted only with --prune)",
            "code": ReasonCode.REMOVED_KEPT,
        }
    n = post.replies
    return {
        "reason": f"not in the manifest's posts, but {n} repl{'ies' if n != 1 else 'y'} people "
        "wrote would go with it: kept (delete the thread in Kantata if it may go)",
        "code": ReasonCode.DELETE_BLOCKED,
    }


def _task_id(post: DesiredPost, tasks: Mapping[str, LiveTask]) -> str | None:
    live = tasks.get(post.task) if post.task else None
    return live.id if live is not None else None


#: Why a post the token's user wrote, unmarked, with a manifest post's words, gets the marker.
REMARKED = "re-marked: an earlier apply was stopped before it marked it"


def _left_unmarked(
    post: DesiredPost, unmarked: list[LivePost], tasks: Mapping[str, LiveTask]
) -> LivePost | None:
    """The newest unmarked post of the token's user with this post's message and task link:
    the one an apply stopped between `POST /posts` and the marker created."""
    want_id = _task_id(post, tasks)
    if post.task is not None and want_id is None:
        return None  # its task does not exist yet: no earlier apply created this post
    same = [p for p in unmarked if p.message == post.message and p.story_id == want_id]
    return max(same, key=lambda p: int(p.id) if p.id.isdigit() else 0, default=None)


def _remark(post: DesiredPost, left: LivePost, tasks: Mapping[str, LiveTask]) -> PostUpdate:
    """Only the marker is written (no field changes: `fields` is empty)."""
    task_id = _task_id(post, tasks)
    after: PostValues = {"message": post.message, "task": post.task, "task_id": task_id}
    return PostUpdate(
        key=post.key, id=left.id, path=post.key, before={}, after=after, reason=REMARKED
    )


def _create(post: DesiredPost, tasks: Mapping[str, LiveTask]) -> PostCreate:
    after: NewPost = {"message": post.message, "task": post.task, "task_id": _task_id(post, tasks)}
    return PostCreate(key=post.key, path=post.key, after=after)


def _compare(
    post: DesiredPost,
    live: LivePost,
    tasks: Mapping[str, LiveTask],
    task_keys: Mapping[str, str],
    rank: int,
) -> list[Step]:
    live_task = task_keys.get(live.story_id or "") if live.story_id else None
    want_id = _task_id(post, tasks)
    differs = {
        "message": live.message != post.message,
        # A task created in this plan has no id yet: the post moves to it.
        "task": (live.story_id or None) != want_id or (post.task is not None and want_id is None),
    }
    if not any(differs.values()):
        return []
    memory = Memory.read(live.marker.message if live.marker else "")
    written = {
        "message": memory.message if memory else None,
        "task": memory.task if memory else None,
    }
    wanted = {"message": digest(post.message), "task": digest(post.task) if post.task else "-"}
    edited = [
        name
        for name in POST_FIELDS
        if differs[name] and memory is not None and written[name] == wanted[name]
    ]
    fields = tuple(n for n in POST_FIELDS if differs[n] and n not in edited)
    steps: list[Step] = []
    if edited:
        steps.append(place(stages.NOTES, _edited_note(post, live, edited), rank=rank))
    if fields:
        before: PostValues = {}
        if "message" in fields:
            before["message"] = live.message
        if "task" in fields:
            before["task"] = (
                live_task if live_task else (f"#{live.story_id}" if live.story_id else None)
            )
        # Both values, whatever changes: the memory written after is of both (a field kept
        # as a person edited it keeps its memory, which already is the manifest's value).
        after: PostValues = {"message": post.message, "task": post.task, "task_id": want_id}
        update = PostUpdate(
            key=post.key,
            id=live.id,
            path=post.key,
            before=before,
            after=after,
            fields=fields,
            reason=_why(fields, memory, written, live, tasks),
            code=ReasonCode.FIELD_ORIGIN if memory else ReasonCode.NONE,
        )
        steps.append(place(stages.POSTS, update, rank=rank))
    return steps


def _why(
    fields: tuple[str, ...],
    memory: Memory | None,
    written: Mapping[str, str | None],
    live: LivePost,
    tasks: Mapping[str, LiveTask],
) -> str:
    if memory is None:
        return "the manifest's post differs (no memory of what kxplan wrote: the manifest wins)"
    kantata = digest(live.message) != written["message"] and "message" in fields
    if kantata:
        return "the manifest's message changed; it replaces an edit made in Kantata since"
    return "the manifest changed since kxplan wrote the post"


def _edited_note(post: DesiredPost, live: LivePost, fields: list[str]) -> Note:
    what = " and ".join("message" if f == "message" else "task link" for f in fields)
    reason = (
        f"its {what} was edited in Kantata since kxplan wrote it; kept as it is (change the "
        "post in the manifest to replace it)"
    )
    return Note(
        key=f"post {post.key}",
        id=live.id,
        path=f"post {post.key}",
        reason=reason,
        code=ReasonCode.EDITED_IN_KANTATA,
    )
