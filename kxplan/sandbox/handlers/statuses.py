"""/task_status_sets, /custom_task_statuses and /workspace_task_status_sets/bulk_update."""

from __future__ import annotations

from kxplan.sandbox import present
from kxplan.sandbox.errors import SandboxError
from kxplan.sandbox.handlers import base
from kxplan.sandbox.handlers.base import ALL, Request, Response, Route, keyed, ok
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params
from kxplan.sandbox.resources.statuses import set_statuses
from kxplan.sandbox.store import Row


def _sets(model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params) -> Response:
    maps: present.Maps = {"task_status_sets": keyed(rows, present.status_set)}
    if "custom_task_statuses" in base.includes(params):
        maps["custom_task_statuses"] = {}
        for r in rows:
            statuses = set_statuses(model.ctx, r["id"])
            ids = [str(s["id"]) for s in statuses]
            maps["task_status_sets"][str(r["id"])]["custom_task_status_ids"] = ids
            maps["custom_task_statuses"].update(
                (str(s["id"]), present.custom_status(s)) for s in statuses
            )
    return ok(present.envelope("task_status_sets", rows, count, page, maps))


def _statuses(
    model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params
) -> Response:
    maps: present.Maps = {"custom_task_statuses": keyed(rows, present.custom_status)}
    if "task_status_set" in base.includes(params):
        sets = sorted({r["status_set_id"] for r in rows})
        maps["task_status_sets"] = {
            str(s): present.status_set(model.get_status_set(s)) for s in sets
        }
        for r in rows:
            obj = maps["custom_task_statuses"][str(r["id"])]
            obj["task_status_set_id"] = str(r["status_set_id"])
    return ok(present.envelope("custom_task_statuses", rows, count, page, maps))


def bulk_assign_sets(model: SandboxModel, req: Request) -> Response:
    """PUT /workspace_task_status_sets/bulk_update (all or nothing)."""
    if not isinstance(req.body, dict) or "workspace_task_status_sets" not in req.body:
        raise SandboxError("missing_root")
    rows = model.assign_status_sets(req.body["workspace_task_status_sets"])
    maps: present.Maps = {"workspace_task_status_sets": keyed(rows, present.workspace_status_set)}
    return ok(present.envelope("workspace_task_status_sets", rows, len(rows), ALL, maps))


M = SandboxModel  # keeps the route table one line a route
SET = "task_status_set"
STATUS = "custom_task_status"
_SET_ID = "/task_status_sets/{id}"
_STATUS_ID = "/custom_task_statuses/{id}"
ROUTES: tuple[Route, ...] = (
    ("GET", "/task_status_sets", base.listing(M.query_status_sets, _sets)),
    # a new set comes with the four default statuses
    ("POST", "/task_status_sets", base.creating(SET, M.add_status_set, _sets)),
    ("GET", _SET_ID, base.showing(M.get_status_set, _sets)),
    ("PUT", _SET_ID, base.updating(SET, M.update_status_set, _sets)),
    # 422 while a workspace uses it
    ("DELETE", _SET_ID, base.deleting(M.delete_status_set)),
    # the set new workspaces get (no body)
    ("PUT", f"{_SET_ID}/update_account_default", base.showing(M.make_default_status_set, _sets)),
    ("GET", "/custom_task_statuses", base.listing(M.query_custom_statuses, _statuses)),
    ("POST", "/custom_task_statuses", base.creating(STATUS, M.add_custom_status, _statuses)),
    ("GET", _STATUS_ID, base.showing(M.get_custom_status, _statuses)),
    ("PUT", _STATUS_ID, base.updating(STATUS, M.update_custom_status, _statuses)),
    # its tasks go where variant `status_delete` says
    ("DELETE", _STATUS_ID, base.deleting(M.delete_custom_status)),
    ("PUT", "/workspace_task_status_sets/bulk_update", bulk_assign_sets),
)
