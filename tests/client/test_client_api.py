"""The client's public surface: the few names callers import from `kxplan.client`.

Internals (paging helpers, limits, URL checks) live in private modules and are imported from
there; this pins the curated list so that a new export is a decision, not an accident.
"""

from __future__ import annotations

import kxplan.client
from kxplan import errors

PUBLIC = [
    "ApiError",
    "Backoff",
    "Check",
    "InconsistentReadError",
    "KantataClient",
    "NotFoundError",
    "Records",
    "TransportError",
    "ValidationError",
]


def test_all_is_the_curated_list() -> None:
    assert kxplan.client.__all__ == PUBLIC


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from kxplan.client import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == PUBLIC


def test_internals_are_not_exported() -> None:
    for name in ("page_count", "collect", "check_base_url", "AdaptiveLimit", "redact", "body"):
        assert not hasattr(kxplan.client, name), name


def test_errors_are_the_ones_kxplan_raises() -> None:
    # Catching kxplan.client.ApiError catches what every command reports as an API error.
    assert kxplan.client.ApiError is errors.ApiError
    assert kxplan.client.TransportError is errors.TransportError
    assert issubclass(kxplan.client.InconsistentReadError, kxplan.client.ApiError)
