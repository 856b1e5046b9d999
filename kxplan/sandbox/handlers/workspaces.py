"""/workspaces: list, show, create, update (no delete: Kantata archives projects)."""

from __future__ import annotations

from kxplan.sandbox import present
from kxplan.sandbox.handlers import base
from kxplan.sandbox.handlers.base import Response, Route, ok
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params
from kxplan.sandbox.resources.people import acting_user
from kxplan.sandbox.store import Row


def _body(model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params) -> Response:
    objs = present.workspaces(model.store, rows)
    maps: present.Maps = {"workspaces": objs}
    wanted = {w.strip() for w in str(params.get("include", "")).split(",")}
    if "external_references" in wanted:
        maps["external_references"] = _references(model, rows, objs)
    if "current_user_participation" in wanted:
        maps["participations"] = _participations(rows, objs)
    return ok(present.envelope("workspaces", rows, count, page, maps))


def _references(
    model: SandboxModel, rows: list[Row], objs: dict[str, present.Obj]
) -> dict[str, present.Obj]:
    """`include=external_references`: each workspace's references (its locks, set records
    and markers), as the OpenAPI's include list offers them."""
    out: dict[str, present.Obj] = {}
    for row in rows:
        refs = model.store.all(
            "SELECT * FROM external_references WHERE subject_type = 'Workspace' "
            "AND subject_id = ? ORDER BY id",
            [row["id"]],
        )
        objs[str(row["id"])]["external_reference_ids"] = [str(r["id"]) for r in refs]
        out.update({str(r["id"]): present.external_reference(r) for r in refs})
    return out


def _participations(rows: list[Row], objs: dict[str, present.Obj]) -> dict[str, present.Obj]:
    """`include=current_user_participation`: the requesting token's user takes part in every
    workspace of the sandbox; its participation names that user (docs/sandbox.md, "People
    and tokens")."""
    out: dict[str, present.Obj] = {}
    user = str(acting_user())
    for row in rows:
        pid = f"{row['id']}{user}"
        objs[str(row["id"])]["current_user_participation_id"] = pid
        out[pid] = {"id": pid, "user_id": user, "workspace_id": str(row["id"]), "role": "maven"}
    return out


ROUTES: tuple[Route, ...] = (
    ("GET", "/workspaces", base.listing(SandboxModel.query_workspaces, _body)),
    # title required; creator_role as the `creator_role` variant says
    ("POST", "/workspaces", base.creating("workspace", SandboxModel.add_workspace, _body)),
    ("GET", "/workspaces/{id}", base.showing(SandboxModel.get_workspace, _body)),
    ("PUT", "/workspaces/{id}", base.updating("workspace", SandboxModel.update_workspace, _body)),
)
