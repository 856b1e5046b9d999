"""Small HTTP helpers for the sandbox tests (a real loopback socket, httpx)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from kxplan.client import KantataClient
from kxplan.errors import TransportError
from kxplan.sandbox import SandboxServer

HTTP_TOKEN = "sandbox-test-token"


def api(server: SandboxServer, token: str | None = HTTP_TOKEN) -> httpx.Client:
    """An httpx client on the sandbox's API URL, authenticated unless `token` is None."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


def create(client: httpx.Client, ws: str, **fields: Any) -> dict[str, Any]:
    """POST one story; returns it (asserting a 200)."""
    r = client.post("/stories", json={"story": {"workspace_id": int(ws), **fields}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body["stories"][body["results"][0]["id"]]  # type: ignore[no-any-return]


def ids(body: dict[str, Any]) -> list[str]:
    """The ids of `results`, in order."""
    return [r["id"] for r in body["results"]]


class LosesPostAnswers:
    """A KantataClient whose POSTs (to `path` only, when given) reach Kantata and commit, but
    whose answer is lost (the connection drops after the server committed), the first time
    each body is sent; reads and other writes pass."""

    def __init__(self, inner: KantataClient, path: str | None = None) -> None:
        self.inner = inner
        self.path = path
        self.lost: list[str] = []

    def request(self, method: str, path: str, **kw: Any) -> Any:
        answer = self.inner.request(method, path, **kw)
        body = json.dumps([path, kw.get("json")], sort_keys=True)
        wanted = self.path is None or path == self.path
        if method == "POST" and wanted and body not in self.lost:
            self.lost.append(body)
            raise TransportError(f"POST {path}: the connection dropped", outcome_unknown=True)
        return answer

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
