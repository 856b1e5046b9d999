"""Reading stories: the default filters, every documented filter, order, search and paging.

Everything here builds SQL over the `stories` table; nothing writes. The filters and their
defaults are listed in docs/sandbox.md ("What it serves") and docs/kantata-api.md.
"""

from __future__ import annotations

from kxplan.sandbox.context import Ctx
from kxplan.sandbox.errors import not_found
from kxplan.sandbox.params import Page, Params, csv, flag, int_param, order_sql, parse_page
from kxplan.sandbox.resources.filters import reference_filters, time_filters
from kxplan.sandbox.sql import Found, Where, select_page
from kxplan.sandbox.store import Row

ORDER_FIELDS = {
    "created_at": "stories.created_at",
    "updated_at": "stories.updated_at",
    "due_date": "stories.due_date",
    "start_date": "stories.start_date",
    "position": "stories.position",
    "parent_and_position": "COALESCE(stories.parent_id, 0)|stories.position",
    "priority_level": "CASE stories.priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2 "
    "WHEN 'normal' THEN 1 ELSE 0 END",
    # Most important first when ascending (the default direction): critical, high, normal,
    # low; then the id tie-breaker every order gets (docs/sandbox.md, "Fidelity").
    "importance": "CASE stories.priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "
    "WHEN 'normal' THEN 2 ELSE 3 END",
}
# Relevance (docs/sandbox.md, "Fidelity"): exact title, then prefix, then the rest.
RELEVANCE = (
    "CASE WHEN casefold(stories.title) = ? THEN 0 "
    "WHEN substr(casefold(stories.title), 1, length(?)) = ? THEN 1 ELSE 2 END"
)
TREE_FILTERS = (
    ("with_parent_id", "parent_id"),
    ("with_root_id", "root_id"),
    ("with_ancestry_depth", "ancestry_depth"),
)


class StoryQueries:
    """GET /stories and GET /stories/{id} (no writes)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def get(self, story_id: int, params: Params | None = None) -> Row:
        """One story as the show route sees it: default filters apply (404 when hidden)."""
        rows = self.query({**(params or {}), "only": str(story_id)}).rows
        if not rows:
            raise not_found()
        return rows[0]

    def row(self, story_id: int) -> Row | None:
        """The raw row of a story, deleted or not."""
        return self.ctx.store.by_id("stories", story_id)

    def query(self, params: Params) -> Found:
        """Matching stories (one page of them), the total count, and the page used."""
        page = parse_page(params)
        where = self._filters(params, page)
        order = order_sql(params, ORDER_FIELDS, "updated_at:desc", "stories")
        term = _search_term(params, page)
        if term and not params.get("order", "").strip():
            return select_page(
                self.ctx.store, "stories", where, f"{RELEVANCE}, {order}", page, [term] * 3
            )
        return select_page(self.ctx.store, "stories", where, order, page)

    def _filters(self, params: Params, page: Page) -> Where:
        where = Where()
        where.only(page, "stories.id")
        _visibility(params, where)
        _tree(params, where)
        time_filters(params, where, "stories")
        self._attributes(params, where)
        self._tags(params, where)
        reference_filters(params, where, "stories", "Story")
        term = _search_term(params, page)
        if term:
            where.add("instr(casefold(stories.title), ?) > 0", term)
        return where

    def _attributes(self, params: Params, where: Where) -> None:
        types = csv(params, "story_types") or csv(params, "story_type")
        if types:
            where.among("stories.story_type", types)
        statuses = csv(params, "by_status")
        if statuses and self._fold():
            lowered = "(" + ", ".join(["LOWER(?)"] * len(statuses)) + ")"
            where.add(f"LOWER(stories.status) IN {lowered}", *statuses)
        elif statuses:
            where.among("stories.status", statuses)
        priorities = csv(params, "priority")
        if priorities:
            where.among("stories.priority", priorities)
        if flag(params, "completed"):
            where.add("stories.state = 'completed'")
        if flag(params, "uncompleted"):
            where.add("stories.state != 'completed'")

    def _tags(self, params: Params, where: Where) -> None:
        tag_name = "LOWER(t.name) = LOWER(?)" if self._fold() else "t.name = ?"
        tag_sql = (
            "EXISTS (SELECT 1 FROM story_tags st JOIN tags t ON t.id = st.tag_id "
            f"WHERE st.story_id = stories.id AND {tag_name})"
        )
        for name in csv(params, "by_tag_name"):
            where.add(tag_sql, name)
        any_tags = csv(params, "by_any_tag")
        if any_tags:
            where.add("(" + " OR ".join([tag_sql] * len(any_tags)) + ")", *any_tags)

    def _fold(self) -> bool:
        return self.ctx.variants.name_match == "ignore_case"  # variant `name_match`


def _visibility(params: Params, where: Where) -> None:
    """Default filters (docs/kantata-api.md): deleted, archived, archived-workspace tasks
    and To Dos (`project_plan: false`, docs/sandbox.md) are hidden unless asked for."""
    if flag(params, "only_deleted"):
        where.add("stories.deleted_at IS NOT NULL")
    elif not flag(params, "show_deleted"):
        where.add("stories.deleted_at IS NULL")
    archived = params.get("archived", "").strip().lower()
    if flag(params, "only_archived") or archived == "only":
        where.add("stories.archived = 1")
    elif archived == "exclude" or (archived != "include" and not flag(params, "show_archived")):
        where.add("stories.archived = 0")
    if not flag(params, "show_from_archived_workspaces"):
        where.add("stories.workspace_id IN (SELECT id FROM workspaces WHERE archived = 0)")
    if flag(params, "only_todos"):
        where.add("stories.project_plan = 0")
    elif not flag(params, "show_todos"):
        where.add("stories.project_plan = 1")


def _tree(params: Params, where: Where) -> None:
    projects = [int(p) for p in csv(params, "with_projects") if p.isdigit()]
    where.equal("stories.workspace_id", int_param(params, "workspace_id"))
    if projects:
        where.among("stories.workspace_id", projects)
    for name, col in TREE_FILTERS:
        where.equal(f"stories.{col}", int_param(params, name))
    if flag(params, "parents_only"):
        where.add("stories.parent_id IS NULL")


def _search_term(params: Params, page: Page) -> str:
    """The casefolded `search` text; search does not apply to `only` requests (documented)."""
    if page.only is not None:
        return ""
    return params.get("search", "").strip().casefold()
