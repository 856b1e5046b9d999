"""The sandbox's model facade: one object the handlers (and tests) call, with no HTTP.

`SandboxModel` is what tests reach as `server.model`. It owns the store and the variants
in play, and holds one rules object per resource (`kxplan.sandbox.resources`); each method
here hands its call to one of them. Methods take plain Python values and return rows
(dicts) or raise `SandboxError`; `present.py` and `includes.py` turn rows into Kantata JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kxplan.sandbox import present
from kxplan.sandbox.constants import CREATOR_ROLE_RULES, MAX_BULK
from kxplan.sandbox.context import Ctx, _utcnow
from kxplan.sandbox.errors import found
from kxplan.sandbox.params import Params
from kxplan.sandbox.resources.people import register_user
from kxplan.sandbox.resources.posts import PostRules
from kxplan.sandbox.resources.references import ReferenceRules
from kxplan.sandbox.resources.set_assignment import SetAssignment
from kxplan.sandbox.resources.state_changes import query_state_changes
from kxplan.sandbox.resources.statuses import StatusRules
from kxplan.sandbox.resources.story_queries import StoryQueries
from kxplan.sandbox.resources.story_tasks import StoryTaskRules
from kxplan.sandbox.resources.story_writes import StoryWrites
from kxplan.sandbox.resources.workspaces import WorkspaceRules
from kxplan.sandbox.sql import Found
from kxplan.sandbox.store import SANDBOX_USER_ID, Row, Store
from kxplan.sandbox.variants import Variants


class SandboxModel:
    """All sandbox data and rules. Safe to call from any thread."""

    def __init__(
        self,
        data: str | Path | Store = ":memory:",
        *,
        clock: Callable[[], datetime] = _utcnow,
        variants: Variants | None = None,
    ) -> None:
        store = data if isinstance(data, Store) else Store(data)
        self.ctx = Ctx(store, clock, variants or Variants())
        self.store = store
        self.workspaces = WorkspaceRules(self.ctx)
        self.story_queries = StoryQueries(self.ctx)
        self.story_writes = StoryWrites(self.ctx)
        self.story_tasks = StoryTaskRules(self.ctx)
        self.statuses = StatusRules(self.ctx)
        self.set_assignment = SetAssignment(self.ctx)
        self.references = ReferenceRules(self.ctx)
        self.posts = PostRules(self.ctx)

    @property
    def variants(self) -> Variants:
        """The answers the sandbox plays to the questions Kantata leaves open."""
        return self.ctx.variants

    @variants.setter
    def variants(self, value: Variants) -> None:
        self.ctx.variants = value

    def reset(self) -> None:
        """Forget every object (ids restart)."""
        self.store.reset()

    # ---- convenience for tests, benches and `kxplan sandbox --seed-workspace` ----------

    def create_workspace(self, title: str, **attrs: Any) -> dict[str, Any]:
        """Create a workspace and return it as the API presents it (`id` is a string)."""
        with self.store.transaction():
            role = CREATOR_ROLE_RULES[self.ctx.variants.creator_role][0][0]
            row = self.add_workspace({"title": title, "creator_role": role, **attrs})
            return present.workspaces(self.store, [row])[str(row["id"])]

    def register_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a person (`full_name`, `token`, optional `email_address`, `id`) whose
        token then acts as them; returns them as the API presents users."""
        with self.store.transaction():
            row = register_user(self.ctx, body)
            return present.person(row)

    def create_stories(self, workspace_id: str | int, items: list[dict[str, Any]]) -> list[str]:
        """Create stories in a workspace directly (any number, MAX_BULK per transaction)."""
        ids: list[str] = []
        for start in range(0, len(items), MAX_BULK):
            chunk = [{"workspace_id": workspace_id, **i} for i in items[start : start + MAX_BULK]]
            with self.store.transaction():
                ids.extend(str(i) for i in self.story_writes.create(chunk, bulk=True))
        return ids

    def workspace_titled(self, title: str) -> dict[str, Any] | None:
        """The first workspace (archived or not) with exactly this title, as presented."""
        row = self.workspaces.titled(title)
        return None if row is None else present.workspaces(self.store, [row])[str(row["id"])]

    # ---- workspaces --------------------------------------------------------------------

    def get_workspace(self, workspace_id: int) -> Row:
        """One workspace, or 404 (archived ones are shown by id)."""
        return self.workspaces.get(workspace_id)

    def add_workspace(self, attrs: dict[str, Any]) -> Row:
        """POST /workspaces; the new workspace gets the account's default status set."""
        return self.workspaces.add(attrs, self.statuses.account_default())

    def update_workspace(self, workspace_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /workspaces/{id}: title, description, archived, dates."""
        return self.workspaces.update(workspace_id, attrs)

    def query_workspaces(self, params: Params) -> Found:
        """GET /workspaces."""
        return self.workspaces.query(params)

    # ---- stories -----------------------------------------------------------------------

    def query_stories(self, params: Params) -> Found:
        """GET /stories: default filters, every documented filter, order, search, paging."""
        return self.story_queries.query(params)

    def get_story(self, story_id: int, params: Params | None = None) -> Row:
        """GET /stories/{id}: default filters apply (404 when hidden)."""
        return self.story_queries.get(story_id, params)

    def story_row(self, story_id: int) -> Row | None:
        """The raw row of a story, deleted or not."""
        return self.story_queries.row(story_id)

    def add_stories(self, items: list[Any], *, bulk: bool = False) -> list[int]:
        """POST /stories: 1..MAX_BULK stories, all or nothing, ids in `results` order."""
        return self.story_writes.response_order(self.story_writes.create(items, bulk=bulk))

    def update_story(self, story_id: int, attrs: dict[str, Any]) -> None:
        """PUT /stories/{id}."""
        self.story_writes.update(story_id, attrs)

    def delete_story(self, story_id: int) -> None:
        """DELETE /stories/{id}: a soft delete (`delete_cascade` says what else goes)."""
        self.story_writes.delete(story_id)

    # ---- checklist items ---------------------------------------------------------------

    def get_story_task(self, item_id: int) -> Row:
        """One checklist item, or 404."""
        return self.story_tasks.get(item_id)

    def add_story_task(self, attrs: dict[str, Any]) -> Row:
        """POST /story_tasks."""
        return self.story_tasks.add(attrs)

    def update_story_task(self, item_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /story_tasks/{id}."""
        return self.story_tasks.update(item_id, attrs)

    def delete_story_task(self, item_id: int) -> None:
        """DELETE /story_tasks/{id}."""
        self.story_tasks.delete(item_id)

    def query_story_tasks(self, params: Params) -> Found:
        """GET /story_tasks."""
        return self.story_tasks.query(params)

    # ---- task status sets, custom statuses, assignments --------------------------------

    def query_status_sets(self, params: Params) -> Found:
        """GET /task_status_sets."""
        return self.statuses.query_sets(params)

    def get_status_set(self, set_id: int) -> Row:
        """One task status set, or 404."""
        return self.statuses.get_set(set_id)

    def add_status_set(self, attrs: dict[str, Any]) -> Row:
        """POST /task_status_sets: the set comes with the four default statuses."""
        return self.statuses.create_set(attrs)

    def update_status_set(self, set_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /task_status_sets/{id}: rename it."""
        return self.statuses.update_set(set_id, attrs)

    def make_default_status_set(self, set_id: int) -> Row:
        """PUT /task_status_sets/{id}/update_account_default: the set new workspaces get."""
        return self.statuses.make_account_default(set_id)

    def delete_status_set(self, set_id: int) -> None:
        """DELETE /task_status_sets/{id}: 422 while a workspace uses it."""
        self.statuses.delete_set(set_id)

    def query_custom_statuses(self, params: Params) -> Found:
        """GET /custom_task_statuses."""
        return self.statuses.query_statuses(params)

    def get_custom_status(self, status_id: int) -> Row:
        """One custom task status, or 404."""
        return self.statuses.get_status(status_id)

    def add_custom_status(self, attrs: dict[str, Any]) -> Row:
        """POST /custom_task_statuses: appended to its set; names are unique in a set."""
        return self.statuses.create_status(attrs)

    def update_custom_status(self, status_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /custom_task_statuses/{id}: rename or move (category and set are fixed)."""
        return self.statuses.update_status(status_id, attrs)

    def delete_custom_status(self, status_id: int) -> None:
        """DELETE /custom_task_statuses/{id}: its tasks go where `status_delete` says."""
        self.statuses.delete_status(status_id)

    def assign_status_sets(self, items: Any) -> list[Row]:
        """PUT /workspace_task_status_sets/bulk_update (all or nothing)."""
        return self.set_assignment.bulk_assign(items)

    # ---- external references, story state changes --------------------------------------

    def upsert_external_reference(self, attrs: dict[str, Any]) -> Row:
        """POST /external_references/create_or_update."""
        return self.references.upsert(attrs)

    def delete_external_reference(self, ref_id: int) -> None:
        """DELETE /external_references/{id}."""
        self.references.delete(ref_id)

    def query_external_references(self, params: Params) -> Found:
        """GET /external_references."""
        return self.references.query(params)

    def query_state_changes(self, params: Params) -> Found:
        """GET /story_state_changes."""
        return query_state_changes(self.ctx, params)

    def get_state_change(self, change_id: int) -> Row:
        """GET /story_state_changes/{id}."""
        return found(self.store.by_id("story_state_changes", change_id))

    # ---- posts ---------------------------------------------------------------------------

    def query_posts(self, params: Params) -> Found:
        """GET /posts."""
        return self.posts.query(params)

    def get_post(self, post_id: int, params: Params | None = None) -> Row:
        """GET /posts/{id}: 404 for a post of an archived workspace unless asked for."""
        return self.posts.get(post_id, params)

    def post_row(self, post_id: int) -> Row | None:
        """The raw row of a post."""
        return self.posts.row(post_id)

    def add_posts(self, items: list[Any], *, user_id: int = SANDBOX_USER_ID) -> list[int]:
        """POST /posts: 1..100 posts, all or nothing, ids in request order."""
        return self.posts.create(items, user_id=user_id)

    def update_post(self, post_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /posts/{id}: message and task link."""
        return self.posts.update(post_id, attrs)

    def delete_post(self, post_id: int) -> None:
        """DELETE /posts/{id}: the post and its replies."""
        self.posts.delete(post_id)

    def create_post(
        self, workspace_id: str | int, message: str, *, user_id: int = SANDBOX_USER_ID, **attrs: Any
    ) -> str:
        """Write a post (or, with `subject_id`, a reply) as user `user_id`: what a person
        does in Kantata's activity feed (tests, seeds). Returns its id."""
        item = {"workspace_id": workspace_id, "message": message, **attrs}
        if "subject_id" in attrs:
            item.setdefault("subject_type", "Post")
        with self.store.transaction():
            return str(self.posts.create([item], user_id=user_id)[0])
