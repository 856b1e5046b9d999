"""The whole API surface of the sandbox: (method, route template, handler) per route, and
matching a request path to its route."""

from __future__ import annotations

import re

from kxplan.sandbox.handlers import posts, references, statuses, stories, story_tasks, workspaces
from kxplan.sandbox.handlers.base import Handler, Route

ROUTES: tuple[Route, ...] = (
    *workspaces.ROUTES,
    *stories.ROUTES,
    *story_tasks.ROUTES,
    *statuses.ROUTES,
    *references.ROUTES,
    *posts.ROUTES,
)


def _compile(template: str) -> re.Pattern[str]:
    return re.compile("^" + template.replace("{id}", r"(?P<id>\d+)") + "$")


_PATTERNS = tuple((m, t, _compile(t), h) for m, t, h in ROUTES)


def match_route(method: str, path: str) -> tuple[str, Handler | None, int | None]:
    """(route template, handler, path id) for an API path without the prefix or `.json`.

    A known path with another method gives the path and no handler; an unknown one gives
    `(unknown)`."""
    known_path = False
    for m, template, pattern, handler in _PATTERNS:
        found = pattern.match(path)
        if found:
            known_path = True
            if m == method:
                oid = found.groupdict().get("id")
                return template, handler, int(oid) if oid else None
    return (path if known_path else "(unknown)"), None, None
