"""The control endpoints under `/__sandbox` (no token, never faulted): stats, reset, faults,
variants, seeding a workspace, and registering a person. See docs/sandbox.md, "Control
endpoints"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kxplan.sandbox.errors import SandboxError
from kxplan.sandbox.faults import Faults
from kxplan.sandbox.handlers.base import Response
from kxplan.sandbox.variants import Variants

if TYPE_CHECKING:
    from kxplan.sandbox.server import SandboxServer

NOT_FOUND = Response(404, {"errors": [{"type": "system", "message": "Not found"}]})


def bad_request(message: str) -> Response:
    """The 400 a control endpoint answers to a body it cannot use."""
    return Response(400, {"errors": [{"type": "system", "message": message}]})


def control(server: SandboxServer, method: str, path: str, body: Any) -> Response:
    """Answer one `/__sandbox{path}` request."""
    if method == "GET" and path == "/stats":
        settings = {"faults": server.faults.to_json(), "variants": server.variants.to_json()}
        return Response(200, {**server.log.stats(), **settings})
    if path == "/variants" and method in ("GET", "PUT"):
        return _variants(server, method, body)
    if method == "POST" and path == "/reset":
        server.model.reset()
        server.log.reset()
        return Response(200, {"reset": True})
    if method == "PUT" and path == "/faults":
        try:
            server.faults = Faults.from_json(body or {})
        except (TypeError, ValueError) as err:
            return bad_request(str(err))
        return Response(200, {"faults": server.faults.to_json()})
    if method == "POST" and path == "/workspaces" and isinstance(body, dict):
        return _seed_workspace(server, body)
    if method == "POST" and path == "/users" and isinstance(body, dict):
        return _register_user(server, body)
    return NOT_FOUND


def _variants(server: SandboxServer, method: str, body: Any) -> Response:
    if method == "PUT":
        try:
            server.variants = Variants.from_json(body or {})
        except (TypeError, ValueError) as err:
            return bad_request(str(err))
    return Response(200, {"variants": server.variants.to_json()})


def _seed_workspace(server: SandboxServer, body: dict[str, Any]) -> Response:
    try:
        ws = server.model.create_workspace(str(body.get("title", "")))
    except SandboxError as err:
        return Response(err.status, err.body())
    return Response(200, {"workspace": ws})


def _register_user(server: SandboxServer, body: dict[str, Any]) -> Response:
    try:
        user = server.model.register_user(body)
    except SandboxError as err:
        return Response(err.status, err.body())
    return Response(200, {"user": user})
