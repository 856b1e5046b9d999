"""The request log: every request the sandbox saw, with counters tests and benches read."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One request. `route` is the template ("/stories/{id}"); `outcome` says how it ended."""

    method: str
    route: str
    path: str
    status: int | None  # None when the connection was dropped
    duration_ms: float
    outcome: str = "ok"  # ok | error | 429 | 503 | dropped_before | dropped_after | unauthorized


class RequestLog:
    """Thread-safe list of `LogEntry`s with counters by method and route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []

    def add(self, entry: LogEntry) -> None:
        """Record a request."""
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> tuple[LogEntry, ...]:
        """Every request so far, oldest first."""
        with self._lock:
            return tuple(self._entries)

    def count(self, method: str | None = None, route: str | None = None) -> int:
        """How many requests matched a method and/or route template (e.g. "/stories")."""
        m = method.upper() if method else None
        return sum(
            1
            for e in self.entries
            if (m is None or e.method == m) and (route is None or e.route == route)
        )

    def reset(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, Any]:
        """Counters as JSON: total, by method, by "METHOD /route", by outcome."""
        entries = self.entries
        return {
            "requests": len(entries),
            "by_method": dict(sorted(Counter(e.method for e in entries).items())),
            "by_route": dict(sorted(Counter(f"{e.method} {e.route}" for e in entries).items())),
            "by_outcome": dict(sorted(Counter(e.outcome for e in entries).items())),
        }
