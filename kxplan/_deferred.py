"""Imports a command needs only after its first request, made while it waits on the network.

`kxplan plan` and `kxplan apply` need the CLI, the manifest loader, the client,
`kxplan.live` and `kxplan.lock` to send their first request; the planner, the renderers,
the writers and the rest are imported where they are first used (function-level and
`TYPE_CHECKING` imports). A command names the modules it will need with `warm_up`, and once
the client has written the first request to the network (`request_sent`, called by the
client's own transport) a daemon thread imports them while the main thread waits for the
answer with the GIL released, so those imports overlap the round trips instead of delaying
the first of them (docs/client.md, "What a run costs before and besides its requests").

    warm_up("kxplan.planner", "kxplan.render")   # at import of the command's module

Nothing depends on the warm-up having run: a module it has not imported yet is imported by
its first use, as always (Python's per-module import locks make two threads importing one
module safe; the one that comes second waits for it). A failing import is left to that use
to report.
"""

from __future__ import annotations

import importlib
import threading

_lock = threading.Lock()
_pending: list[str] = []


def warm_up(*modules: str) -> None:
    """Import `modules` on a background thread after the first request has been sent."""
    with _lock:
        _pending.extend(m for m in modules if m not in _pending)


def request_sent() -> None:
    """The client has written a request: start importing what `warm_up` named (once)."""
    if not _pending:  # the common case: nothing (left) to import, no lock taken
        return
    with _lock:
        names = list(_pending)
        _pending.clear()
    if names:
        threading.Thread(target=_import, args=(names,), name="kxplan-warm-up", daemon=True).start()


def _import(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # its first use imports it again and says why
            continue
