"""The Kantata OX HTTP client: auth, retries with backoff, an adaptive (AIMD) concurrency
limit, request counting and exact paging.

    from kxplan.client import KantataClient
    with KantataClient("https://api.mavenlink.com/api/v1", token) as client:
        stories = client.get_all("/stories", {"workspace_id": 42, "show_archived": True})
"""

from kxplan.client._core import (
    PAGE_SIZE,
    STABLE_ORDER,
    Check,
    KantataClient,
    Records,
    body,
    check_base_url,
    collect,
    encode_params,
    is_loopback,
    listing_problems,
    page_count,
)
from kxplan.client._errors import error_for, redact
from kxplan.client._limit import AdaptiveLimit, Slot
from kxplan.client._retry import Backoff, parse_retry_after

__all__ = [
    "PAGE_SIZE",
    "STABLE_ORDER",
    "AdaptiveLimit",
    "Backoff",
    "Check",
    "KantataClient",
    "Records",
    "Slot",
    "body",
    "check_base_url",
    "collect",
    "encode_params",
    "error_for",
    "is_loopback",
    "listing_problems",
    "page_count",
    "parse_retry_after",
    "redact",
]
