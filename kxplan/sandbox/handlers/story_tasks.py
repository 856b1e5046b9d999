"""/story_tasks: a story's checklist items."""

from __future__ import annotations

from kxplan.sandbox import includes, present
from kxplan.sandbox.errors import not_found
from kxplan.sandbox.handlers import base
from kxplan.sandbox.handlers.base import ALL, Request, Response, Route, keyed, ok
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params
from kxplan.sandbox.store import Row


def _body(model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params) -> Response:
    maps: present.Maps = {"story_tasks": keyed(rows, present.story_task)}
    if "story" in base.includes(params):
        story_rows = includes.stories_by_ids(model.store, {r["story_id"] for r in rows})
        maps["stories"] = {str(s["id"]): present.story(s) for s in story_rows}
    return ok(present.envelope("story_tasks", rows, count, page, maps))


def show_story_task(model: SandboxModel, req: Request) -> Response:
    """GET /story_tasks/{id}: the list's default filters apply (404 when hidden)."""
    rows = model.query_story_tasks({**req.params, "only": str(req.oid)}).rows
    if not rows:
        raise not_found()
    return _body(model, rows, 1, ALL, req.params)


ROUTES: tuple[Route, ...] = (
    ("GET", "/story_tasks", base.listing(SandboxModel.query_story_tasks, _body)),
    ("POST", "/story_tasks", base.creating("story_task", SandboxModel.add_story_task, _body)),
    ("GET", "/story_tasks/{id}", show_story_task),
    (
        "PUT",
        "/story_tasks/{id}",
        base.updating("story_task", SandboxModel.update_story_task, _body),
    ),
    ("DELETE", "/story_tasks/{id}", base.deleting(SandboxModel.delete_story_task)),
)
