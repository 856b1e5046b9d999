"""/workspaces: list, show, create, update (no delete: Kantata archives projects)."""

from __future__ import annotations

from kxplan.sandbox import present
from kxplan.sandbox.handlers import base
from kxplan.sandbox.handlers.base import Response, Route, ok
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params
from kxplan.sandbox.store import Row


def _body(model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params) -> Response:
    maps: present.Maps = {"workspaces": present.workspaces(model.store, rows)}
    return ok(present.envelope("workspaces", rows, count, page, maps))


ROUTES: tuple[Route, ...] = (
    ("GET", "/workspaces", base.listing(SandboxModel.query_workspaces, _body)),
    # title and creator_role are required
    ("POST", "/workspaces", base.creating("workspace", SandboxModel.add_workspace, _body)),
    ("GET", "/workspaces/{id}", base.showing(SandboxModel.get_workspace, _body)),
    ("PUT", "/workspaces/{id}", base.updating("workspace", SandboxModel.update_workspace, _body)),
)
