"""Map Kantata's error envelope to kxplan's typed errors, with a next step for the user.

Kantata answers errors as `{"errors": [{"type", "message", "field"?, "index"?}]}`; older
endpoints use `{"error_message": "..."}`, and a proxy may answer with HTML. Every message
names the method, path and status, and is scrubbed of the token.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from kxplan.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)

_MAX_BODY = 200


def redact(text: str, token: str) -> str:
    """`text` with every occurrence of the token replaced by `***`."""
    return text.replace(token, "***") if token else text


def error_details(response: httpx.Response) -> tuple[str, list[dict[str, Any]]]:
    """The server's message(s) as one line, and the raw `errors` list (may be empty)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = " ".join(response.text.split())[:_MAX_BODY]
        return (text or response.reason_phrase or "no message"), []
    if not isinstance(body, dict):
        return str(body)[:_MAX_BODY], []
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    parts = [_one_error(e) for e in errors]
    if not parts and body.get("error_message"):
        parts = [str(body["error_message"])]
    return ("; ".join(parts) or response.reason_phrase or "no message"), errors


def _one_error(error: dict[str, Any]) -> str:
    message = str(error.get("message", "")).strip() or str(error.get("type", "error"))
    field = error.get("field")
    where = f"{field}: " if field and field != "base" else ""
    if error.get("index") is not None:
        where = f"[{error['index']}] {where}"
    return where + message


def error_for(
    response: httpx.Response, method: str, path: str, *, token: str, attempts: int = 1
) -> ApiError:
    """The typed error for a non-2xx `response` to `method path`."""
    message, errors = error_details(response)
    message = redact(message, token)
    status = response.status_code
    kw: dict[str, Any] = {"method": method, "path": path, "status": status}
    if status == 401:
        return AuthError(
            f"the token was rejected ({message})",
            hint="check KANTATA_TOKEN or the file given to --token-file",
            **kw,
        )
    if status == 403:
        return AuthError(
            f"permission denied ({message})",
            hint="the token's user needs access to this workspace; ask a Kantata admin",
            **kw,
        )
    if status == 404:
        return NotFoundError(
            message,
            hint="the object was deleted, or a default filter (archived, deleted) hides it",
            **kw,
        )
    if status == 422:
        return ValidationError(message, errors=errors, **kw)
    if status == 429:
        return RateLimitedError(
            f"rate limited ({message}) after {attempts} attempts",
            hint="Kantata kept rate-limiting; wait a minute and try again",
            **kw,
        )
    if status >= 500:
        return ServerError(
            f"{message} (after {attempts} attempts)",
            hint="Kantata is having trouble; try again later",
            **kw,
        )
    return ApiError(message, **kw)
