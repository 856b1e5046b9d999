"""Sandbox errors, declared as data (moto's `exceptions.py`, flattened into a table).

Every error the sandbox can send is one row of `ERRORS`: a kind, the HTTP status and the
Kantata error `type`/message. The rules layer raises `SandboxError(kind, ...)`; the HTTP
layer turns it into `{"errors": [...]}` with the declared status, so bodies stay exactly
as docs/kantata-api.md documents them and no handler invents its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# kind -> (status, error type, default message). Messages for 401/404/400/429/503 are the
# ones seen in real traffic or Kantata's docs (docs/kantata-api.md); the 422 messages are assumed.
ERRORS: dict[str, tuple[int, str, str]] = {
    "unauthorized": (401, "oauth", "Invalid OAuth 2 Request"),
    "not_found": (404, "system", "Not found"),
    "missing_root": (
        400,
        "syntax",
        "Missing required parameters. Please see our documentation at "
        "http://developer.mavenlink.com",
    ),
    "bad_json": (400, "syntax", "The request body is not valid JSON"),
    "bad_param": (400, "system", "Invalid parameter"),
    "validation": (422, "validation", "Validation failed"),
    "rate_limited": (429, "system", "Rate limit exceeded"),
    "unavailable": (503, "system", "Service is unavailable"),
    "server_error": (500, "system", "A server error has occurred."),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One entry of a 422 body: which field of which object (bulk `index`) and why."""

    field: str
    message: str
    index: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "validation", "message": self.message, "field": self.field}
        if self.index is not None:
            body["index"] = self.index
        return body


class SandboxError(Exception):
    """An API error raised by the rules layer; `kind` is a key of `ERRORS`."""

    def __init__(
        self, kind: str, message: str | None = None, *, problems: tuple[Problem, ...] = ()
    ) -> None:
        status, etype, default = ERRORS[kind]
        super().__init__(message or default)
        self.kind = kind
        self.status = status
        self.etype = etype
        self.message = message or default
        self.problems = problems

    def body(self) -> dict[str, Any]:
        """The JSON body Kantata sends for this error."""
        if self.problems:
            return {"errors": [p.to_json() for p in self.problems]}
        return {"errors": [{"type": self.etype, "message": self.message}]}


def invalid(field: str, message: str, index: int | None = None) -> SandboxError:
    """A 422 with a single validation problem."""
    return SandboxError("validation", message, problems=(Problem(field, message, index),))


def not_found() -> SandboxError:
    """The 404 Kantata sends for a missing (or hidden by default filters) record."""
    return SandboxError("not_found")


def found(row: dict[str, Any] | None) -> dict[str, Any]:
    """`row`, or the 404 when there is none."""
    if row is None:
        raise not_found()
    return row
