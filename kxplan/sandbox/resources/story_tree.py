"""Where a story sits: its position among siblings, its ancestry, and its tree's counts.

Ancestry is stored materialised (`/12/34/` = the ids above a story), with `root_id` and
`ancestry_depth` beside it, as Kantata's `ancestry` gem presents them.
"""

from __future__ import annotations

from typing import Any

from kxplan.sandbox.constants import FIRST_POSITION, POSITION_STEP
from kxplan.sandbox.context import Ctx
from kxplan.sandbox.store import Row


def root_of(parent: Row | None) -> int | None:
    """The root id of a tree a story joins under `parent` (None: it is a top-level story)."""
    return (parent["root_id"] or parent["id"]) if parent else None


def placement(parent: Row | None) -> dict[str, Any]:
    """The tree columns of a story placed under `parent` (or at the top level)."""
    return {
        "root_id": root_of(parent),
        "ancestry": f"{parent['ancestry']}{parent['id']}/" if parent else "/",
        "ancestry_depth": parent["ancestry_depth"] + 1 if parent else 0,
    }


class StoryTree:
    """Positions, nesting and the subtree counts of stories."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def next_position(self, workspace_id: int, parent_id: int | None) -> int:
        """The position of a story joining these siblings: before them all (`new_siblings`
        = first: the lowest position minus a step) or after them all (last: the highest plus
        a step). Deleted siblings count, as they keep their rows."""
        first = self.ctx.variants.new_siblings == "first"
        agg = "MIN" if first else "MAX"
        # `= ?` / `IS NULL` (not `IS ?`) so SQLite uses the (workspace, parent, position) index.
        sql = f"SELECT {agg}(position) FROM stories WHERE workspace_id = ? AND parent_id "
        if parent_id is None:
            end = self.ctx.store.scalar(sql + "IS NULL", [workspace_id])
        else:
            end = self.ctx.store.scalar(sql + "= ?", [workspace_id, parent_id])
        if end is None:
            return FIRST_POSITION
        return int(end) - POSITION_STEP if first else int(end) + POSITION_STEP

    def reparent(self, current: Row, parent: Row | None) -> None:
        """Move a story (with its subtree) under a new parent, or to the top level."""
        moved = placement(parent)
        parent_id = parent["id"] if parent else None
        position = self.next_position(current["workspace_id"], parent_id)
        self.ctx.store.update(
            "stories", current["id"], {"parent_id": parent_id, **moved, "position": position}
        )
        new_root = moved["root_id"] or current["id"]
        self._move_descendants(current, moved["ancestry"], new_root)
        self.recount({current["root_id"] or current["id"], new_root})

    def _move_descendants(self, current: Row, new_ancestry: str, new_root: int) -> None:
        store = self.ctx.store
        old_prefix = f"{current['ancestry']}{current['id']}/"
        for d in store.all(
            "SELECT id, ancestry FROM stories WHERE root_id = ? AND ancestry LIKE ?",
            [current["root_id"] or current["id"], old_prefix + "%"],
        ):
            ancestry = new_ancestry + f"{current['id']}/" + d["ancestry"][len(old_prefix) :]
            depth = ancestry.count("/") - 1
            store.update(
                "stories",
                d["id"],
                {"ancestry": ancestry, "root_id": new_root, "ancestry_depth": depth},
            )

    def recount(self, roots: set[int | None]) -> None:
        """Refresh sub_story_count and subtree_depth in the given trees."""
        for root in roots - {None}:
            tree = self.ctx.store.all(
                "SELECT id, ancestry, ancestry_depth, sub_story_count, subtree_depth "
                "FROM stories WHERE (id = ? OR root_id = ?) AND deleted_at IS NULL",
                [root, root],
            )
            for r, fresh in zip(tree, _counts(tree), strict=True):
                if (r["sub_story_count"], r["subtree_depth"]) != tuple(fresh.values()):
                    self.ctx.store.update("stories", r["id"], fresh)


def _counts(tree: list[Row]) -> list[dict[str, int]]:
    """Per row of a tree (in its order): how many live descendants, and how deep below."""
    counts = {r["id"]: 0 for r in tree}
    heights = {r["id"]: 0 for r in tree}
    for r in tree:
        ancestors = [int(a) for a in r["ancestry"].strip("/").split("/") if a]
        for level, anc in enumerate(ancestors):
            if anc in counts:
                counts[anc] += 1
                heights[anc] = max(heights[anc], r["ancestry_depth"] - level)
    return [{"sub_story_count": counts[r["id"]], "subtree_depth": heights[r["id"]]} for r in tree]
