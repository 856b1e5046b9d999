"""A faithful Kantata OX API on loopback, for trying templates and for tests (`kxplan sandbox`).

Shaped like moto: `server` (stdlib HTTP; `wire` for one request, `routes`) -> `handlers/`
(thin, one module per resource) -> `models.SandboxModel` (the facade) -> `resources/` (every
rule, no HTTP, one module per resource) -> `store` (SQLite); errors are data in `errors`,
JSON shapes in `present` and `includes`, fault injection in `faults`, the request log in
`log`. docs/sandbox.md ("How it is built") lists every module.

    with SandboxServer() as server:
        ws = server.model.create_workspace("Acme onboarding")
        httpx.get(server.url + "/stories", params={"workspace_id": ws["id"]},
                  headers={"Authorization": "Bearer anything"})
"""

from __future__ import annotations

from kxplan.sandbox.errors import SandboxError
from kxplan.sandbox.faults import Faults
from kxplan.sandbox.log import LogEntry, RequestLog
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.server import Exchange, SandboxServer
from kxplan.sandbox.variants import Variants

__all__ = [
    "Exchange",
    "Faults",
    "LogEntry",
    "RequestLog",
    "SandboxError",
    "SandboxModel",
    "SandboxServer",
    "Variants",
]
