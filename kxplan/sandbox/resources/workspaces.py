"""Workspaces (Kantata's projects): created, updated, shown and listed with `matching` and
`search` (docs/sandbox.md, "Fidelity")."""

from __future__ import annotations

import re
from typing import Any

from kxplan.sandbox.constants import CREATOR_ROLE_RULES
from kxplan.sandbox.context import Ctx, as_bool, as_date, collect
from kxplan.sandbox.errors import Problem, found, invalid
from kxplan.sandbox.params import Page, Params, flag, order_sql, parse_page
from kxplan.sandbox.resources.references import check_reference, upsert_reference
from kxplan.sandbox.sql import Found, Where
from kxplan.sandbox.store import Row

ORDER_FIELDS = {
    "updated_at": "workspaces.updated_at",
    "created_at": "workspaces.created_at",
    "title": "workspaces.title",
    "start_date": "workspaces.start_date",
    "due_date": "workspaces.due_date",
    "task_status_set": "workspaces.status_set_id",
}
DATES = ("start_date", "due_date")
TITLE_NEEDED = "Please give your project a title"
#: The words `matching` ignores, as the Workspaces API lists them.
_STOP_WORDS_TEXT = (
    "a an and are as at be but by for if in into is it no not "
    "of on or such that the their then there these they this to was with"
)
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_FIELD_TERM = re.compile(r"(\w+):'([^']*)'")


class WorkspaceRules:
    """Workspaces (no HTTP). New ones get the account's default status set, if any."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def get(self, workspace_id: int) -> Row:
        """One workspace, or 404 (archived ones are shown by id)."""
        return found(self.ctx.store.by_id("workspaces", workspace_id))

    def add(self, attrs: dict[str, Any], status_set_id: int | None) -> Row:
        """POST /workspaces: title and creator_role are required (messages from the docs)."""
        title, role = _check_new(attrs, self.ctx.variants.creator_role)
        reference = _reference(attrs)
        now = self.ctx.now()
        row = {
            "title": title,
            "description": attrs.get("description"),
            "creator_role": role,
            "archived": int(as_bool(attrs.get("archived", False), "archived")),
            **{name: as_date(attrs.get(name), name) for name in DATES},
            "status_set_id": status_set_id,
            "created_at": now,
            "updated_at": now,
        }
        workspace_id = self.ctx.store.insert("workspaces", row)
        if reference is not None:
            upsert_reference(
                self.ctx, {**reference, "subject_type": "Workspace", "subject_id": workspace_id}
            )
        return self.get(workspace_id)

    def update(self, workspace_id: int, attrs: dict[str, Any]) -> Row:
        """PUT /workspaces/{id}: title, description, archived, dates."""
        self.get(workspace_id)
        changes: dict[str, Any] = {}
        if "title" in attrs:
            if not isinstance(attrs["title"], str) or not attrs["title"].strip():
                raise invalid("title", TITLE_NEEDED)
            changes["title"] = attrs["title"].strip()
        if "description" in attrs:
            changes["description"] = attrs["description"]
        if "archived" in attrs:
            changes["archived"] = int(as_bool(attrs["archived"], "archived"))
        changes.update({name: as_date(attrs[name], name) for name in DATES if name in attrs})
        reference = _reference(attrs)
        self.ctx.store.update("workspaces", workspace_id, {**changes, "updated_at": self.ctx.now()})
        if reference is not None:
            upsert_reference(
                self.ctx, {**reference, "subject_type": "Workspace", "subject_id": workspace_id}
            )
        return self.get(workspace_id)

    def titled(self, title: str) -> Row | None:
        """The first workspace (archived or not) with exactly this title."""
        return self.ctx.store.one("SELECT * FROM workspaces WHERE title = ? ORDER BY id", [title])

    def query(self, params: Params) -> Found:
        """GET /workspaces: archived hidden by default; `matching` is word-prefix search."""
        page = parse_page(params)
        where = Where()
        where.only(page, "id")
        archived = params.get("archived", "").strip().lower()
        if archived == "only":
            where.add("archived = 1")
        elif archived != "include" and not flag(params, "include_archived"):
            where.add("archived = 0")
        order = order_sql(params, ORDER_FIELDS, "updated_at:desc", "workspaces")
        rows = self.ctx.store.all(
            f"SELECT * FROM workspaces WHERE {where.sql()} ORDER BY {order}", where.args
        )
        matching = params.get("matching", "").strip()
        if matching:
            rows = [r for r in rows if _matches(r["title"], matching)]
        search = params.get("search", "").strip()
        if search and page.only is None:  # search does not apply to `only` (documented)
            rows = _search(rows, search, params.get("order", "").strip())
        return Found(_slice(rows, page), len(rows), page)


def _check_new(attrs: dict[str, Any], variant: str) -> tuple[str, str]:
    """The title and creator role of a workspace to create, or every problem with its
    required fields (422). Which roles are taken is the `creator_role` variant."""
    problems = []
    title = attrs.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem("title", TITLE_NEEDED))
    accepted, default = CREATOR_ROLE_RULES[variant]
    role = attrs.get("creator_role", default)
    if role not in accepted:
        problems.append(Problem("creator_role", "Please select a role for this project"))
    collect(problems)
    assert isinstance(title, str) and isinstance(role, str)
    return title.strip(), role


def _reference(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The `external_reference` a workspace create or update carries (the OpenAPI lists it
    on both), checked; None when there is none."""
    if "external_reference" not in attrs:
        return None
    return check_reference(attrs["external_reference"], None, subject=False)


def _matches(title: str, query: str) -> bool:
    """Kantata's `matching`: each query word that is not a stop word starts some word of the
    title ("starts with" per word, not case sensitive; the Workspaces API, `matching`)."""
    words = title.casefold().split()
    wanted = [w for w in query.casefold().split() if w not in _STOP_WORDS]
    return all(any(t.startswith(w) for t in words) for w in wanted)


def _text(row: Row, name: str) -> str:
    return str(row.get(name) or "").casefold()


def _search(rows: list[Row], search: str, order: str) -> list[Row]:
    """`search`: every term must match (docs/sandbox.md, "Fidelity"). A plain word matches
    the id, or is contained in the title or description; `title:'x'` / `description:'x'`
    search that field only; other documented fields match nothing (the sandbox has none).
    With no `order`, or `order=search`, title matches come first (relevance)."""
    fields = [(f.casefold(), v.casefold()) for f, v in _FIELD_TERM.findall(search)]
    words = _FIELD_TERM.sub(" ", search).casefold().split()

    def hit(row: Row) -> bool:
        plain = all(
            w == str(row["id"]) or w in _text(row, "title") or w in _text(row, "description")
            for w in words
        )
        return plain and all(
            f in ("title", "description") and v in _text(row, f) for f, v in fields
        )

    found = [r for r in rows if hit(r)]
    if order in ("", "search") or order.startswith("search:"):
        in_title = [v for f, v in fields if f == "title"] + words
        found.sort(key=lambda r: not all(w in _text(r, "title") for w in in_title))
    return found


def _slice(rows: list[Row], page: Page) -> list[Row]:
    if page.limit is None:
        return rows
    return rows[page.offset : page.offset + page.limit]
