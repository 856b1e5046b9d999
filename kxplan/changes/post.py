"""Post changes (kind `post`; key = the post's key in the manifest's `posts:`, parent None,
path = the key). Only posts carrying this stack's marker are ever planned: people's posts,
replies and the posts `apply --notify` writes never are (docs/manifest.md, "Posts").

- `PostCreate`: after {"message", "task", "task_id"}: `task` is the key of the task the post
  is linked to (None: the project), `task_id` its live id when the task exists already
  (None: created in this plan, or no task). `POST /posts`, then the marker (wave 4, after
  the tasks exist).
- `PostUpdate`: `fields` ⊆ {"message", "task"}; before holds the live values of those
  fields, after the manifest's values of both (plus "task_id"), so the applier writes the
  post and its memory whole. `PUT /posts/{id}`, then the marker's memory.
- `PostDelete`: before {"message", "task"}: a post of this stack the manifest no longer
  lists, with prune (wave 5). `DELETE /posts/{id}`.
- `PostKeep`: the same without prune; no call.
"""

from dataclasses import dataclass
from typing import ClassVar, NotRequired, TypedDict

from kxplan.changes.base import Action, Change, Kind

#: The post fields kxplan manages.
POST_FIELDS = ("message", "task")


class NewPost(TypedDict):
    message: str
    task: str | None
    task_id: str | None


class PostValues(TypedDict):
    message: NotRequired[str]
    task: NotRequired[str | None]
    task_id: NotRequired[str | None]


class LivePostValues(TypedDict):
    message: str
    task: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostCreate(Change):
    kind: ClassVar[Kind] = Kind.POST
    action: ClassVar[Action] = Action.CREATE
    after: NewPost


@dataclass(frozen=True, slots=True, kw_only=True)
class PostUpdate(Change):
    kind: ClassVar[Kind] = Kind.POST
    action: ClassVar[Action] = Action.UPDATE
    before: PostValues
    after: PostValues
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PostDelete(Change):
    kind: ClassVar[Kind] = Kind.POST
    action: ClassVar[Action] = Action.DELETE
    before: LivePostValues


@dataclass(frozen=True, slots=True, kw_only=True)
class PostKeep(Change):
    kind: ClassVar[Kind] = Kind.POST
    action: ClassVar[Action] = Action.KEEP
    before: LivePostValues


POST_CHANGES: tuple[type[Change], ...] = (PostCreate, PostUpdate, PostDelete, PostKeep)


def post_writes(change: Change) -> int:
    """The requests the applier sends for one post change (kxplan.apply._posts): a create or
    an update is the post, then its marker (the post body has no external reference); a
    delete, or a re-mark, is one request. The estimate counts with this (kxplan.planner.order)."""
    if change.action is Action.DELETE:
        return 1
    if isinstance(change, PostUpdate) and not change.fields:
        return 1  # a re-mark: the marker only (kxplan.planner.posts.REMARKED)
    return 2
