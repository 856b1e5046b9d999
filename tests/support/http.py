"""Small HTTP helpers for the sandbox tests (a real loopback socket, httpx)."""

from __future__ import annotations

from typing import Any

import httpx

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
