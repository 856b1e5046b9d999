"""What every handler shares: `Request`, `Response`, and the handler makers for the usual
list / show / create / update / delete routes of a resource."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kxplan.sandbox import present
from kxplan.sandbox.context import unwrap
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params, csv
from kxplan.sandbox.sql import Found
from kxplan.sandbox.store import SANDBOX_USER_ID, Row


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler sees: method, route template, path id, query params and JSON body,
    and the user the request acts as (its token's person, docs/sandbox.md "People and
    tokens")."""

    method: str
    route: str
    params: Mapping[str, str]
    body: Any = None
    id: int | None = None
    user_id: int = SANDBOX_USER_ID

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
Route = tuple[str, str, Handler]  # (method, route template, handler)
# Presents rows of one resource: (model, rows, count, page, params) -> the response.
Body = Callable[[SandboxModel, list[Row], int, Page, Params], Response]
ALL = Page(limit=None)
NO_CONTENT = Response(204)


def ok(body: dict[str, Any]) -> Response:
    """A 200 with this body."""
    return Response(200, body)


def includes(params: Params) -> tuple[str, ...]:
    """The `include` list of a request."""
    return csv(params, "include")


def keyed(rows: list[Row], shape: Callable[[Row], present.Obj]) -> dict[str, present.Obj]:
    """A Brainstem map: each row presented by `shape`, under its string id."""
    return {str(r["id"]): shape(r) for r in rows}


def plain_body(key: str, shape: Callable[[Row], present.Obj]) -> Body:
    """The body of a resource without includes: its one map of objects."""

    def body(model: SandboxModel, rows: list[Row], count: int, page: Page, _: Params) -> Response:
        return ok(present.envelope(key, rows, count, page, {key: keyed(rows, shape)}))

    return body


def listing(query: Callable[[SandboxModel, Params], Found], body: Body) -> Handler:
    """GET /things: one page of the rows `query` finds."""

    def handle(model: SandboxModel, req: Request) -> Response:
        return body(model, *query(model, req.params), req.params)

    return handle


def showing(get: Callable[[SandboxModel, int], Row], body: Body) -> Handler:
    """GET /things/{id} (and PUT routes without a body): the row `get` returns."""

    def handle(model: SandboxModel, req: Request) -> Response:
        return body(model, [get(model, req.oid)], 1, ALL, req.params)

    return handle


def creating(
    root: str, create: Callable[[SandboxModel, dict[str, Any]], Row], body: Body
) -> Handler:
    """POST /things with `{root: {...}}`: the created row (includes may come in the body)."""

    def handle(model: SandboxModel, req: Request) -> Response:
        row = create(model, unwrap(req.body, root))
        return body(model, [row], 1, ALL, req.params_with_body())

    return handle


def updating(
    root: str, update: Callable[[SandboxModel, int, dict[str, Any]], Row], body: Body
) -> Handler:
    """PUT /things/{id} with `{root: {...}}`: the updated row."""

    def handle(model: SandboxModel, req: Request) -> Response:
        row = update(model, req.oid, unwrap(req.body, root))
        return body(model, [row], 1, ALL, req.params_with_body())

    return handle


def deleting(delete: Callable[[SandboxModel, int], None]) -> Handler:
    """DELETE /things/{id}: 204, no body."""

    def handle(model: SandboxModel, req: Request) -> Response:
        delete(model, req.oid)
        return NO_CONTENT

    return handle
