"""Rate limits nobody publishes: an apply of any size converges in one run, just slower.

The sandbox's token bucket plays the limit (10× faster than the issue's `rate 8/s, burst 4`
so the test is quick); 429s carry `Retry-After` or not (variant `retry_after`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kxplan.client import KantataClient
from kxplan.client._limit import AdaptiveLimit
from kxplan.live import count_set_usage
from kxplan.sandbox import Faults
from kxplan.sandbox.variants import Variants
from tests.support import kxplan

TOKEN = "rate-token"


def _write(path: Path, n: int, suffix: str = "") -> Path:
    tasks = [{"key": f"t{i}", "title": f"Task {i}{suffix}"} for i in range(n)]
    doc = {"version": 1, "name": "rl", "workspace": "Limited", "tasks": tasks}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("retry_after", ["present", "absent"])
def test_an_apply_of_250_changes_converges_in_one_run_under_a_tight_rate_limit(
    make_sandbox: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    retry_after: str,
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server = make_sandbox(variants=Variants(retry_after=retry_after))
    server.model.create_workspace("Limited")
    manifest = _write(tmp_path / "rl.yaml", 250)
    assert kxplan("apply", manifest, "--auto-approve", "--api-url", server.url).code == 0

    _write(manifest, 250, " (renamed)")  # 250 updates: one PUT each
    server.faults = Faults(rate_limit=80.0, burst=4, retry_after=0.1)
    result = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url)

    assert result.code == 0, result.text[-2000:]
    assert "250 changed" in result.out
    assert server.log.count(route="/stories/{id}") > 250  # the limit did bite
    assert any(e.status == 429 for e in server.log.entries)
    server.faults = Faults()
    assert kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode").code == 0


def test_the_adaptive_limit_goes_down_to_one_request_at_a_time() -> None:
    limit = AdaptiveLimit(8)
    for _ in range(5):
        limit.release(limit.acquire(), rate_limited=True)
    assert limit.limit == 1


def _workspace_pages(n: int) -> Callable[[httpx.Request], httpx.Response]:
    """A fake Kantata whose GET /workspaces answers 429 once, then pages `n` workspaces;
    it records how many /workspaces requests were in flight at once."""
    state = {"in_flight": 0, "peak": 0, "limited": False}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/workspaces"):
            with lock:
                state["in_flight"] += 1
                state["peak"] = max(state["peak"], state["in_flight"])
                first = not state["limited"]
                state["limited"] = True
            time.sleep(0.005)
            with lock:
                state["in_flight"] -= 1
            if first:
                return httpx.Response(429, json={"errors": [{"message": "Rate limit exceeded"}]})
            page = int(request.url.params["page"])
            ids = range((page - 1) * 200 + 1, min(page * 200, n) + 1)
            return httpx.Response(
                200,
                json={
                    "count": n,
                    "results": [{"key": "workspaces", "id": str(i)} for i in ids],
                    "workspaces": {str(i): {"id": str(i), "task_status_set_id": "7"} for i in ids},
                },
            )
        return httpx.Response(404, json={})

    handler.state = state  # type: ignore[attr-defined]
    return handler


def test_get_workspaces_has_its_own_limiter_one_page_at_a_time() -> None:
    handler = _workspace_pages(1000)
    client = KantataClient(
        "https://k.test/api/v1", TOKEN, transport=httpx.MockTransport(handler), sleep=lambda s: None
    )
    usage = count_set_usage(client, "1", ["7"])

    assert [(set_id, len(others)) for set_id, others in usage] == [("7", 999)]
    assert handler.state["peak"] == 1  # type: ignore[attr-defined]
    assert client.limit.limit == 8  # the 429 on /workspaces did not narrow story traffic
    assert client.requests == 6  # the 429, then 5 pages


def test_the_sandbox_limits_get_workspaces_on_its_own(make_sandbox: Callable[..., Any]) -> None:
    server = make_sandbox(faults=Faults(workspaces_rate_limit=1.0, workspaces_burst=1))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        codes = [http.get("/workspaces").status_code for _ in range(3)]
        others = [http.get("/stories").status_code for _ in range(3)]
    assert codes[0] == 200 and 429 in codes[1:]
    assert others == [200, 200, 200]


def test_429s_never_give_up_while_other_requests_of_the_limiter_get_through() -> None:
    """The 429 budget runs from the limiter's last success: one unlucky request among many
    that pass is slowed, not failed, however long it waits in total."""
    now = [0.0]
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ok"):
            return httpx.Response(200, json={"ok": True})
        calls["n"] += 1
        if calls["n"] <= 10:
            return httpx.Response(429, headers={"Retry-After": "10"}, json={})
        return httpx.Response(200, json={"done": True})

    opened: list[KantataClient] = []

    def sleep_while_others_succeed(seconds: float) -> None:
        now[0] += seconds
        opened[0].get("/ok")  # another request of the same limiter gets through meanwhile

    client = KantataClient(
        "https://k.test/api/v1", TOKEN, transport=httpx.MockTransport(handler),
        clock=lambda: now[0], sleep=sleep_while_others_succeed, rate_limit_budget=35.0,
    )  # fmt: skip
    opened.append(client)
    assert client.get("/stories") == {"done": True}
    assert now[0] > 100  # ten waits of 10 s: far past the 35 s budget, and still fine
