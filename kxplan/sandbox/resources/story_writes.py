"""Writing stories: create (single and bulk), update, soft delete, and their side tables.

Every write is drafted first (`story_drafts`), so nothing is written unless all of it is
valid; positions and subtree counts are `story_tree`'s business.
"""

from __future__ import annotations

import random
from typing import Any

from kxplan.sandbox.constants import MAX_BULK
from kxplan.sandbox.context import Ctx, collect
from kxplan.sandbox.errors import SandboxError, invalid, not_found
from kxplan.sandbox.resources.people import acting_user
from kxplan.sandbox.resources.references import upsert_reference
from kxplan.sandbox.resources.state_changes import (
    custom_status,
    record_state_change,
    records_change,
)
from kxplan.sandbox.resources.story_drafts import Draft, StoryDrafts
from kxplan.sandbox.resources.story_tasks import insert_items
from kxplan.sandbox.resources.story_tree import StoryTree, placement, root_of
from kxplan.sandbox.store import Row


class StoryWrites:
    """POST, PUT and DELETE /stories (no HTTP)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.drafts = StoryDrafts(ctx)
        self.tree = StoryTree(ctx)

    def create(self, items: list[Any], *, bulk: bool = False) -> list[int]:
        """Create stories (1..MAX_BULK), all or nothing; returns their ids in request order.

        `bulk` (the plural `stories` key was used) makes each problem carry its `index`.
        The items are inserted one by one in request order, so each takes its place among
        its siblings (`new_siblings`) as if it had been created alone, after the ones before
        it. The order of the response is `response_order`'s business.
        """
        if not items:
            raise SandboxError("missing_root")
        if len(items) > MAX_BULK:
            raise invalid("base", f"Bulk create is limited to {MAX_BULK} objects per request")
        drafts = [self.drafts.for_create(item, i if bulk else None) for i, item in enumerate(items)]
        collect([p for d in drafts for p in d.problems])
        ids = [self._insert(d) for d in drafts]
        self.tree.recount({root_of(d.parent) for d in drafts})
        return ids

    def response_order(self, ids: list[int]) -> list[int]:
        """The ids of one create in the order its `results` list them (`results_order`)."""
        how = self.ctx.variants.results_order
        if how == "reversed":
            return ids[::-1]
        if how == "sorted":
            # The list default, updated_at desc: one request's stories share their timestamp
            # (seconds), and the newest id comes first among equals.
            rows = [r for i in ids if (r := self.ctx.store.by_id("stories", i)) is not None]
            rows.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=True)
            return [int(r["id"]) for r in rows]
        if how == "shuffled":
            shuffled = list(ids)
            random.Random(ids[0] if ids else 0).shuffle(shuffled)  # seeded: reproducible
            return shuffled
        return list(ids)

    def update(self, story_id: int, attrs: dict[str, Any]) -> None:
        """Update a story; a deleted story is not found."""
        current = self._live(story_id)
        draft = self.drafts.for_update(current, attrs)
        collect(draft.problems)
        now = self.ctx.now()
        changes = {k: v for k, v in draft.row.items() if current.get(k) != v}
        if "parent_id" in changes:
            self.tree.reparent(current, draft.parent)
            del changes["parent_id"]
        self._save_side_tables(story_id, draft, now)
        side = (draft.tags, draft.reference, draft.assignees)
        if changes or any(v is not None for v in side):
            self.ctx.store.update("stories", story_id, {**changes, "updated_at": now})
        after = {**current, **changes}
        if records_change(self.ctx, current, after):
            record_state_change(self.ctx, story_id, after["state"], now, custom_status(after))

    def delete(self, story_id: int) -> None:
        """Soft delete a story; its descendants too under `delete_cascade=cascade`.

        Under `none` only the story is marked deleted: its subtasks stay visible, their
        `parent_id` still naming the deleted story (a soft delete touches one row).
        """
        current = self._live(story_id)
        now = self.ctx.now()
        root = current["root_id"] or story_id
        if self.ctx.variants.delete_cascade == "cascade":
            self.ctx.store.run(
                "UPDATE stories SET deleted_at = ?, updated_at = ? WHERE deleted_at IS NULL AND "
                "(id = ? OR (root_id = ? AND ancestry LIKE ?))",
                [now, now, story_id, root, f"{current['ancestry']}{story_id}/%"],
            )
        else:
            self.ctx.store.update("stories", story_id, {"deleted_at": now, "updated_at": now})
        self.tree.recount({root})

    def _live(self, story_id: int) -> Row:
        """The row of a story that is not deleted, or 404."""
        current = self.ctx.store.by_id("stories", story_id)
        if current is None or current["deleted_at"] is not None:
            raise not_found()
        return current

    def _insert(self, draft: Draft) -> int:
        now = self.ctx.now()
        row = {**draft.row, **placement(draft.parent)}
        row.update(
            position=self.tree.next_position(row["workspace_id"], row["parent_id"]),
            created_at=now,
            updated_at=now,
            creator_id=acting_user(),
        )
        story_id = self.ctx.store.insert("stories", row)
        self._save_side_tables(story_id, draft, now)
        record_state_change(self.ctx, story_id, row["state"], now, custom_status(row))
        return story_id

    def _save_side_tables(self, story_id: int, draft: Draft, now: str) -> None:
        if draft.checklist:
            insert_items(self.ctx, story_id, draft.checklist, now)
        if draft.tags is not None:
            self._set_tags(story_id, draft.tags)
        if draft.assignees is not None:
            self.ctx.store.run("DELETE FROM story_assignees WHERE story_id = ?", [story_id])
            for user_id in draft.assignees:
                self.ctx.store.run("INSERT INTO story_assignees VALUES (?, ?)", [story_id, user_id])
        if draft.reference is not None:
            ref = {**draft.reference, "subject_type": "Story", "subject_id": story_id}
            upsert_reference(self.ctx, ref)

    def _set_tags(self, story_id: int, names: list[str]) -> None:
        """`tag_list` replaces the whole tag set of the story; an existing tag is reused
        (found ignoring case under variant `name_match=ignore_case`, keeping its spelling)."""
        store = self.ctx.store
        store.run("DELETE FROM story_tags WHERE story_id = ?", [story_id])
        fold = self.ctx.variants.name_match == "ignore_case"
        sql = "SELECT id FROM tags WHERE " + ("LOWER(name) = LOWER(?)" if fold else "name = ?")
        for name in names:
            tag_id = store.scalar(sql + " ORDER BY id LIMIT 1", [name])
            if tag_id is None:
                tag_id = store.insert("tags", {"name": name})
            store.run("INSERT OR IGNORE INTO story_tags VALUES (?, ?)", [story_id, tag_id])
