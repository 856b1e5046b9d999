"""Thin HTTP handlers: unwrap the body, call the rules, present the rows (moto's responses.py).

Each handler takes the model and a `Request` and returns a `Response`. They run inside one
store transaction (see `server.py`), so a handler never leaves a half-done write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kxplan.sandbox import present
from kxplan.sandbox.context import unwrap
from kxplan.sandbox.errors import SandboxError, found
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params, csv
from kxplan.sandbox.store import Row


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler sees: method, route template, path id, query params and JSON body."""

    method: str
    route: str
    params: Mapping[str, str]
    body: Any = None
    id: int | None = None

    def params_with_body(self) -> dict[str, str]:
        """Query params plus `include`/`optional_fields` sent in a write's body (see
        docs/kantata-api.md)."""
        merged = dict(self.params)
        if isinstance(self.body, dict):
            for key in ("include", "optional_fields"):
                value = self.body.get(key)
                if isinstance(value, list):
                    value = ",".join(str(v) for v in value)
                if isinstance(value, str) and key not in merged:
                    merged[key] = value
        return merged

    @property
    def oid(self) -> int:
        """The `{id}` of the path (routes with an id always have one)."""
        assert self.id is not None
        return self.id


@dataclass(frozen=True, slots=True)
class Response:
    """Status, JSON body (None: no body) and extra headers."""

    status: int
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[SandboxModel, Request], Response]
ALL = Page(limit=None)
NO_CONTENT = Response(204)


def _ok(body: dict[str, Any]) -> Response:
    return Response(200, body)


def _includes(params: Params) -> tuple[str, ...]:
    return csv(params, "include")


# ---- stories ---------------------------------------------------------------------------


def _stories_body(
    model: SandboxModel,
    rows: list[Row],
    count: int,
    page: Page,
    params: Params,
    *,
    only_query: bool = True,
) -> Response:
    # Show routes and write responses present their objects as `only` queries (Brainstem).
    optional = csv(params, "optional_fields")
    maps = present.stories(model.store, rows, _includes(params), optional, only_query=only_query)
    return _ok(present.envelope("stories", rows, count, page, maps))


def list_stories(model: SandboxModel, req: Request) -> Response:
    """GET /stories."""
    rows, count, page = model.stories.query(req.params)
    only = page.only is not None
    return _stories_body(model, rows, count, page, req.params, only_query=only)


def show_story(model: SandboxModel, req: Request) -> Response:
    """GET /stories/{id} (default filters apply: a deleted story is a 404)."""
    row = model.stories.get(req.oid, req.params)
    return _stories_body(model, [row], 1, ALL, req.params)


def create_stories(model: SandboxModel, req: Request) -> Response:
    """POST /stories with `{"story": {...}}` or `{"stories": [...]}` (≤ 300)."""
    body = req.body
    if isinstance(body, dict) and isinstance(body.get("stories"), list):
        ids = model.stories.create(body["stories"], bulk=True)
    else:
        ids = model.stories.create([unwrap(body, "story")])
    return _written_stories(model, model.stories.response_order(ids), req)


def _written_stories(model: SandboxModel, ids: list[int], req: Request) -> Response:
    rows = [r for i in ids if (r := model.stories.row(i)) is not None]
    return _stories_body(model, rows, len(rows), ALL, req.params_with_body())


def update_story(model: SandboxModel, req: Request) -> Response:
    """PUT /stories/{id}."""
    model.stories.update(req.oid, unwrap(req.body, "story"))
    return _written_stories(model, [req.oid], req)


def delete_story(model: SandboxModel, req: Request) -> Response:
    """DELETE /stories/{id}: soft delete, 204."""
    model.stories.delete(req.oid)
    return NO_CONTENT


# ---- story tasks -----------------------------------------------------------------------


def _story_tasks_body(
    model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params
) -> Response:
    maps: present.Maps = {"story_tasks": {str(r["id"]): present.story_task(r) for r in rows}}
    if "story" in _includes(params):
        story_rows = present._by_ids(model.store, {r["story_id"] for r in rows})
        maps["stories"] = {str(s["id"]): present.story(s) for s in story_rows}
    return _ok(present.envelope("story_tasks", rows, count, page, maps))


def list_story_tasks(model: SandboxModel, req: Request) -> Response:
    """GET /story_tasks."""
    rows, count, page = model.query_story_tasks(req.params)
    return _story_tasks_body(model, rows, count, page, req.params)


def show_story_task(model: SandboxModel, req: Request) -> Response:
    """GET /story_tasks/{id}."""
    rows, _, _ = model.query_story_tasks({**req.params, "only": str(req.oid)})
    if not rows:
        raise SandboxError("not_found")
    return _story_tasks_body(model, rows, 1, ALL, req.params)


def create_story_task(model: SandboxModel, req: Request) -> Response:
    """POST /story_tasks."""
    row = model.add_story_task(unwrap(req.body, "story_task"))
    return _story_tasks_body(model, [row], 1, ALL, req.params_with_body())


def update_story_task(model: SandboxModel, req: Request) -> Response:
    """PUT /story_tasks/{id}."""
    row = model.update_story_task(req.oid, unwrap(req.body, "story_task"))
    return _story_tasks_body(model, [row], 1, ALL, req.params_with_body())


def delete_story_task(model: SandboxModel, req: Request) -> Response:
    """DELETE /story_tasks/{id}."""
    model.delete_story_task(req.oid)
    return NO_CONTENT


# ---- workspaces ------------------------------------------------------------------------


def _workspaces_body(model: SandboxModel, rows: list[Row], count: int, page: Page) -> Response:
    maps: present.Maps = {"workspaces": present.workspaces(model.store, rows)}
    return _ok(present.envelope("workspaces", rows, count, page, maps))


def list_workspaces(model: SandboxModel, req: Request) -> Response:
    """GET /workspaces."""
    return _workspaces_body(model, *model.query_workspaces(req.params))


def show_workspace(model: SandboxModel, req: Request) -> Response:
    """GET /workspaces/{id}."""
    return _workspaces_body(model, [model.get_workspace(req.oid)], 1, ALL)


def create_workspace(model: SandboxModel, req: Request) -> Response:
    """POST /workspaces (title and creator_role required)."""
    return _workspaces_body(model, [model.add_workspace(unwrap(req.body, "workspace"))], 1, ALL)


def update_workspace(model: SandboxModel, req: Request) -> Response:
    """PUT /workspaces/{id}."""
    row = model.update_workspace(req.oid, unwrap(req.body, "workspace"))
    return _workspaces_body(model, [row], 1, ALL)


# ---- task status sets and custom statuses ----------------------------------------------


def _sets_body(
    model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params
) -> Response:
    maps: present.Maps = {"task_status_sets": {str(r["id"]): present.status_set(r) for r in rows}}
    if "custom_task_statuses" in _includes(params):
        maps["custom_task_statuses"] = {}
        for r in rows:
            statuses = model.store.all(
                "SELECT * FROM custom_task_statuses WHERE status_set_id = ? ORDER BY position, id",
                [r["id"]],
            )
            maps["task_status_sets"][str(r["id"])]["custom_task_status_ids"] = [
                str(s["id"]) for s in statuses
            ]
            maps["custom_task_statuses"].update(
                (str(s["id"]), present.custom_status(s)) for s in statuses
            )
    return _ok(present.envelope("task_status_sets", rows, count, page, maps))


def list_status_sets(model: SandboxModel, req: Request) -> Response:
    """GET /task_status_sets."""
    rows, count, page = model.query_status_sets(req.params)
    return _sets_body(model, rows, count, page, req.params)


def show_status_set(model: SandboxModel, req: Request) -> Response:
    """GET /task_status_sets/{id}."""
    return _sets_body(model, [model.statuses.get_set(req.oid)], 1, ALL, req.params)


def create_status_set(model: SandboxModel, req: Request) -> Response:
    """POST /task_status_sets: the set comes with the four default statuses."""
    row = model.statuses.create_set(unwrap(req.body, "task_status_set"))
    return _sets_body(model, [row], 1, ALL, req.params_with_body())


def update_status_set(model: SandboxModel, req: Request) -> Response:
    """PUT /task_status_sets/{id}."""
    row = model.statuses.update_set(req.oid, unwrap(req.body, "task_status_set"))
    return _sets_body(model, [row], 1, ALL, req.params_with_body())


def default_status_set(model: SandboxModel, req: Request) -> Response:
    """PUT /task_status_sets/{id}/update_account_default: the set new workspaces get."""
    row = model.statuses.make_account_default(req.oid)
    return _sets_body(model, [row], 1, ALL, req.params)


def delete_status_set(model: SandboxModel, req: Request) -> Response:
    """DELETE /task_status_sets/{id}: 422 while a workspace uses it."""
    model.statuses.delete_set(req.oid)
    return NO_CONTENT


def _statuses_body(
    model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params
) -> Response:
    maps: present.Maps = {
        "custom_task_statuses": {str(r["id"]): present.custom_status(r) for r in rows}
    }
    if "task_status_set" in _includes(params):
        sets = {r["status_set_id"] for r in rows}
        maps["task_status_sets"] = {
            str(s): present.status_set(model.statuses.get_set(s)) for s in sorted(sets)
        }
        for r in rows:
            obj = maps["custom_task_statuses"][str(r["id"])]
            obj["task_status_set_id"] = str(r["status_set_id"])
    return _ok(present.envelope("custom_task_statuses", rows, count, page, maps))


def list_statuses(model: SandboxModel, req: Request) -> Response:
    """GET /custom_task_statuses."""
    rows, count, page = model.query_custom_statuses(req.params)
    return _statuses_body(model, rows, count, page, req.params)


def show_status(model: SandboxModel, req: Request) -> Response:
    """GET /custom_task_statuses/{id}."""
    return _statuses_body(model, [model.statuses.get_status(req.oid)], 1, ALL, req.params)


def create_status(model: SandboxModel, req: Request) -> Response:
    """POST /custom_task_statuses."""
    row = model.statuses.create_status(unwrap(req.body, "custom_task_status"))
    return _statuses_body(model, [row], 1, ALL, req.params_with_body())


def update_status(model: SandboxModel, req: Request) -> Response:
    """PUT /custom_task_statuses/{id}."""
    row = model.statuses.update_status(req.oid, unwrap(req.body, "custom_task_status"))
    return _statuses_body(model, [row], 1, ALL, req.params_with_body())


def delete_status(model: SandboxModel, req: Request) -> Response:
    """DELETE /custom_task_statuses/{id}: its tasks fall back to the category."""
    model.statuses.delete_status(req.oid)
    return NO_CONTENT


def bulk_assign_sets(model: SandboxModel, req: Request) -> Response:
    """PUT /workspace_task_status_sets/bulk_update (all or nothing)."""
    if not isinstance(req.body, dict) or "workspace_task_status_sets" not in req.body:
        raise SandboxError("missing_root")
    rows = model.statuses.bulk_assign(req.body["workspace_task_status_sets"])
    maps: present.Maps = {
        "workspace_task_status_sets": {str(r["id"]): present.workspace_status_set(r) for r in rows}
    }
    return _ok(present.envelope("workspace_task_status_sets", rows, len(rows), ALL, maps))


# ---- external references and state changes ---------------------------------------------


def _refs_body(rows: list[Row], count: int, page: Page) -> Response:
    maps: present.Maps = {
        "external_references": {str(r["id"]): present.external_reference(r) for r in rows}
    }
    return _ok(present.envelope("external_references", rows, count, page, maps))


def list_references(model: SandboxModel, req: Request) -> Response:
    """GET /external_references?subject_type=..."""
    return _refs_body(*model.query_external_references(req.params))


def upsert_reference(model: SandboxModel, req: Request) -> Response:
    """POST /external_references/create_or_update."""
    row = model.upsert_external_reference(unwrap(req.body, "external_reference"))
    return _refs_body([row], 1, ALL)


def delete_reference(model: SandboxModel, req: Request) -> Response:
    """DELETE /external_references/{id}."""
    model.delete_external_reference(req.oid)
    return NO_CONTENT


def _state_changes_body(rows: list[Row], count: int, page: Page, params: Params) -> Response:
    maps: present.Maps = {
        "story_state_changes": {str(r["id"]): present.state_change(r) for r in rows}
    }
    if "user" in _includes(params):
        # Every change is made by the one sandbox user (docs/sandbox.md, "Fidelity").
        user = present.sandbox_user()
        maps["users"] = {user["id"]: user} if rows else {}
    return _ok(present.envelope("story_state_changes", rows, count, page, maps))


def list_state_changes(model: SandboxModel, req: Request) -> Response:
    """GET /story_state_changes?story_id=..."""
    rows, count, page = model.query_state_changes(req.params)
    return _state_changes_body(rows, count, page, req.params)


def show_state_change(model: SandboxModel, req: Request) -> Response:
    """GET /story_state_changes/{id}."""
    row = found(model.store.by_id("story_state_changes", req.oid))
    return _state_changes_body([row], 1, ALL, req.params)


# (method, route template, handler): the whole API surface of the sandbox.
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/workspaces", list_workspaces),
    ("POST", "/workspaces", create_workspace),
    ("GET", "/workspaces/{id}", show_workspace),
    ("PUT", "/workspaces/{id}", update_workspace),
    ("GET", "/stories", list_stories),
    ("POST", "/stories", create_stories),
    ("GET", "/stories/{id}", show_story),
    ("PUT", "/stories/{id}", update_story),
    ("DELETE", "/stories/{id}", delete_story),
    ("GET", "/story_tasks", list_story_tasks),
    ("POST", "/story_tasks", create_story_task),
    ("GET", "/story_tasks/{id}", show_story_task),
    ("PUT", "/story_tasks/{id}", update_story_task),
    ("DELETE", "/story_tasks/{id}", delete_story_task),
    ("GET", "/task_status_sets", list_status_sets),
    ("POST", "/task_status_sets", create_status_set),
    ("GET", "/task_status_sets/{id}", show_status_set),
    ("PUT", "/task_status_sets/{id}", update_status_set),
    ("DELETE", "/task_status_sets/{id}", delete_status_set),
    ("PUT", "/task_status_sets/{id}/update_account_default", default_status_set),
    ("GET", "/custom_task_statuses", list_statuses),
    ("POST", "/custom_task_statuses", create_status),
    ("GET", "/custom_task_statuses/{id}", show_status),
    ("PUT", "/custom_task_statuses/{id}", update_status),
    ("DELETE", "/custom_task_statuses/{id}", delete_status),
    ("PUT", "/workspace_task_status_sets/bulk_update", bulk_assign_sets),
    ("GET", "/external_references", list_references),
    ("POST", "/external_references/create_or_update", upsert_reference),
    ("DELETE", "/external_references/{id}", delete_reference),
    ("GET", "/story_state_changes", list_state_changes),
    ("GET", "/story_state_changes/{id}", show_state_change),
)
