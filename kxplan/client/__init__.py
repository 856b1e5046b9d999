"""The Kantata OX HTTP client: auth, retries with backoff, an adaptive (AIMD) concurrency
limit, request counting and exact paging.

    from kxplan.client import KantataClient
    with KantataClient("https://api.mavenlink.com/api/v1", token) as client:
        stories = client.get_all("/stories", {"workspace_id": 42, "show_archived": True})

The errors a call raises are `kxplan.errors.ApiError` and its subclasses (re-exported here):

    ApiError                  any failed call: method, path, status, the server's message
    ├── NotFoundError         404
    ├── TransportError        no complete answer; `outcome_unknown` when a POST may have acted
    ├── ValidationError       422: the server refused the values (`errors` lists them)
    └── InconsistentReadError a listing contradicted itself on two reads in a row

What each private module does is in docs/client.md, "Where the code is".
"""

from kxplan.client._client import KantataClient
from kxplan.client._paging import Check, Records
from kxplan.client._retry import Backoff
from kxplan.errors import (
    ApiError,
    InconsistentReadError,
    NotFoundError,
    TransportError,
    ValidationError,
)

__all__ = [
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
