"""Posts: the messages of a workspace's activity feed (/posts), replies among them.

A post belongs to a workspace and may be linked to one of its tasks (`story_id`). A reply is
a post whose subject is another post (`subject_type: "Post"`, `subject_id`): it lives in its
parent's workspace. Posts of archived workspaces are hidden from the list and the show route
unless `from_archived_workspaces=true` (documented). What the documents leave open, and the
sandbox assumes, is listed in docs/sandbox.md ("Posts").
"""

from __future__ import annotations

from typing import Any

from kxplan.sandbox.constants import MAX_BULK_POSTS, MAX_MESSAGE
from kxplan.sandbox.context import Ctx, as_id, collect
from kxplan.sandbox.errors import Problem, SandboxError, invalid, not_found
from kxplan.sandbox.params import Page, Params, csv, flag, int_param, order_sql, parse_page
from kxplan.sandbox.resources.filters import reference_filters, time_filters
from kxplan.sandbox.sql import Found, Where, select_page
from kxplan.sandbox.store import SANDBOX_USER_ID, Row

ORDER_FIELDS = {"newest_reply_at": "COALESCE(posts.newest_reply_at, posts.created_at)"}
DEFAULT_ORDER = "newest_reply_at:desc"  # documented
MESSAGE_NEEDED = "Message can't be blank"


class PostRules:
    """The /posts routes (no HTTP)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def get(self, post_id: int, params: Params | None = None) -> Row:
        """GET /posts/{id}: a post of an archived workspace is a 404 unless
        `from_archived_workspaces=true` (documented)."""
        rows = self.query({**(params or {}), "only": str(post_id)}).rows
        if not rows:
            raise not_found()
        return rows[0]

    def row(self, post_id: int) -> Row | None:
        """The raw row of a post."""
        return self.ctx.store.by_id("posts", post_id)

    def create(self, items: list[Any], *, user_id: int = SANDBOX_USER_ID) -> list[int]:
        """POST /posts: one post, or up to MAX_BULK_POSTS (`{"posts": [...]}`), all or
        nothing; `user_id`: who writes them (the token's user; tests may say another)."""
        if len(items) > MAX_BULK_POSTS:
            raise invalid("posts", f"At most {MAX_BULK_POSTS} posts can be created at once")
        index = None if len(items) == 1 else 0
        checked = []
        for i, item in enumerate(items):
            checked.append(self._new(item, None if index is None else i))
        return [self._insert(row, user_id) for row in checked]

    def update(self, post_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /posts/{id}: `message` and `story_id` (the task link; null unlinks)."""
        post = self.row(post_id)
        if post is None:
            raise not_found()
        changes: dict[str, Any] = {}
        if "message" in attrs:
            changes["message"] = _message(attrs["message"], None)
        if "story_id" in attrs:
            changes["story_id"] = self._story(attrs["story_id"], post["workspace_id"], None)
        self.ctx.store.update("posts", post_id, {**changes, "updated_at": self.ctx.now()})
        row = self.row(post_id)
        assert row is not None
        return row

    def delete(self, post_id: int) -> None:
        """DELETE /posts/{id}: the post, its replies and their external references go
        (assumed: docs/sandbox.md, "Posts")."""
        post = self.row(post_id)
        if post is None:
            raise not_found()
        store = self.ctx.store
        ids = [post_id, *(r["id"] for r in store.all(_REPLIES, [post_id]))]
        marks = ",".join("?" * len(ids))
        store.run(f"DELETE FROM posts WHERE id IN ({marks})", ids)
        store.run(
            f"DELETE FROM external_references WHERE subject_type = 'Post' "
            f"AND subject_id IN ({marks})",
            ids,
        )
        if post["subject_id"] is not None:
            self._refresh_newest(post["subject_id"])

    def query(self, params: Params) -> Found:
        """GET /posts: every documented filter, `order`, paging."""
        page = parse_page(params)
        where = _filters(params, page)
        order = order_sql(params, ORDER_FIELDS, DEFAULT_ORDER, "posts")
        return select_page(self.ctx.store, "posts", where, order, page)

    # ---- creating ---------------------------------------------------------------------

    def _new(self, item: Any, index: int | None) -> Row:
        if not isinstance(item, dict):
            raise invalid("post", "Post must be an object", index)
        problems = []
        if item.get("workspace_id") in (None, "") and item.get("subject_id") in (None, ""):
            problems.append(Problem("workspace_id", "Workspace can't be blank", index))
        if not isinstance(item.get("message"), str) or not item["message"].strip():
            problems.append(Problem("message", MESSAGE_NEEDED, index))
        collect(problems)
        parent = self._subject(item, index)
        workspace_id = (
            parent["workspace_id"] if parent else as_id(item["workspace_id"], "workspace_id", index)
        )
        workspace = self.ctx.store.by_id("workspaces", workspace_id)
        if workspace is None:
            raise invalid("workspace_id", f"Workspace {workspace_id} not found", index)
        recipients = [as_id(r, "recipient_ids", index) for r in item.get("recipient_ids") or []]
        return {
            "workspace_id": workspace_id,
            "story_id": self._story(item.get("story_id"), workspace_id, index),
            "subject_id": parent["id"] if parent else None,
            "message": _message(item["message"], index),
            "private": int(bool(recipients)),
            "recipient_ids": ",".join(str(r) for r in recipients),
        }

    def _subject(self, item: dict[str, Any], index: int | None) -> Row | None:
        """The post a reply answers (`subject_type: "Post"`, documented), or None."""
        if item.get("subject_id") in (None, "") and item.get("subject_type") in (None, ""):
            return None
        if item.get("subject_type") != "Post":
            raise invalid("subject_type", "Subject type must be Post", index)
        if item.get("subject_id") in (None, ""):
            raise invalid("subject_id", "Subject can't be blank", index)
        parent = self.row(as_id(item["subject_id"], "subject_id", index))
        if parent is None:
            raise invalid("subject_id", f"Post {item['subject_id']} not found", index)
        if parent["subject_id"] is not None:
            # Assumed: replies are one level deep; a reply to a reply joins its thread.
            top = self.row(parent["subject_id"])
            return top if top is not None else parent
        return parent

    def _story(self, value: Any, workspace_id: int, index: int | None) -> int | None:
        if value in (None, ""):
            return None
        story_id = as_id(value, "story_id", index)
        story = self.ctx.store.by_id("stories", story_id)
        if story is None or story["deleted_at"] is not None:
            raise invalid("story_id", f"Task {story_id} not found", index)
        if story["workspace_id"] != workspace_id:
            raise invalid("story_id", f"Task {story_id} is not in this project", index)
        return story_id

    def _insert(self, row: Row, user_id: int) -> int:
        now = self.ctx.now()
        post_id = self.ctx.store.insert(
            "posts", {**row, "user_id": user_id, "created_at": now, "updated_at": now}
        )
        if row["subject_id"] is not None:
            self._refresh_newest(row["subject_id"])
        return post_id

    def _refresh_newest(self, post_id: int) -> None:
        newest = self.ctx.store.scalar(
            "SELECT MAX(created_at) FROM posts WHERE subject_id = ?", [post_id]
        )
        self.ctx.store.update("posts", post_id, {"newest_reply_at": newest})


_REPLIES = "SELECT id FROM posts WHERE subject_id = ?"


def _message(value: Any, index: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("message", MESSAGE_NEEDED, index)
    if len(value) > MAX_MESSAGE:
        raise invalid(
            "message", f"Message is too long (maximum is {MAX_MESSAGE} characters)", index
        )
    return value


def _filters(params: Params, page: Page) -> Where:
    where = Where()
    where.only(page, "posts.id")
    if not flag(params, "from_archived_workspaces"):
        where.add("posts.workspace_id IN (SELECT id FROM workspaces WHERE archived = 0)")
    where.equal("posts.workspace_id", int_param(params, "workspace_id"))
    where.equal("posts.story_id", int_param(params, "story_id"))
    story_ids = csv(params, "story_ids")
    if story_ids:
        if not all(s.isdigit() for s in story_ids):
            raise SandboxError("bad_param", "story_ids must be a comma-separated list of ids")
        where.among("posts.story_id", [int(s) for s in story_ids])
    if flag(params, "parents_only"):
        where.add("posts.subject_id IS NULL")
    if flag(params, "private"):
        where.add("posts.private = 1")
    time_filters(params, where, "posts")
    reference_filters(
        params,
        where,
        "posts",
        "Post",
        extra=(("external_reference_external_message", "external_message"),),
        most_refs=200,
    )
    term = "" if page.only is not None else params.get("search", "").strip().casefold()
    if term:
        where.add("instr(casefold(posts.message), ?) > 0", term)
    return where
