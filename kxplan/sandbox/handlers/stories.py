"""/stories: list, show, create (single or bulk), update, soft delete."""

from __future__ import annotations

from kxplan.sandbox import includes
from kxplan.sandbox.context import unwrap
from kxplan.sandbox.handlers import base
from kxplan.sandbox.handlers.base import ALL, Request, Response, Route, ok
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params, csv
from kxplan.sandbox.present import envelope
from kxplan.sandbox.store import Row


def _body(
    model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params, *, only: bool
) -> Response:
    # Show routes and write responses present their objects as `only` queries (Brainstem).
    optional = csv(params, "optional_fields")
    maps = includes.stories(model.store, rows, base.includes(params), optional, only_query=only)
    return ok(envelope("stories", rows, count, page, maps))


def list_stories(model: SandboxModel, req: Request) -> Response:
    """GET /stories."""
    rows, count, page = model.query_stories(req.params)
    return _body(model, rows, count, page, req.params, only=page.only is not None)


def show_story(model: SandboxModel, req: Request) -> Response:
    """GET /stories/{id} (default filters apply: a deleted story is a 404)."""
    return _body(model, [model.get_story(req.oid, req.params)], 1, ALL, req.params, only=True)


def create_stories(model: SandboxModel, req: Request) -> Response:
    """POST /stories with `{"story": {...}}` or `{"stories": [...]}` (at most `MAX_BULK`)."""
    body = req.body
    if isinstance(body, dict) and isinstance(body.get("stories"), list):
        ids = model.add_stories(body["stories"], bulk=True)
    else:
        ids = model.add_stories([unwrap(body, "story")])
    return _written(model, ids, req)


def update_story(model: SandboxModel, req: Request) -> Response:
    """PUT /stories/{id}."""
    model.update_story(req.oid, unwrap(req.body, "story"))
    return _written(model, [req.oid], req)


def _written(model: SandboxModel, ids: list[int], req: Request) -> Response:
    rows = [r for i in ids if (r := model.story_row(i)) is not None]
    return _body(model, rows, len(rows), ALL, req.params_with_body(), only=True)


ROUTES: tuple[Route, ...] = (
    ("GET", "/stories", list_stories),
    ("POST", "/stories", create_stories),
    ("GET", "/stories/{id}", show_story),
    ("PUT", "/stories/{id}", update_story),
    ("DELETE", "/stories/{id}", base.deleting(SandboxModel.delete_story)),  # soft delete, 204
)
