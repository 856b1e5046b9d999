"""The client against httpx.MockTransport fakes: error mapping, retries, token safety."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import httpx
import pytest

from kxplan.client import KantataClient
from kxplan.client._encoding import body
from kxplan.client._urls import check_base_url
from kxplan.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UsageError,
    ValidationError,
)

TOKEN = "tok-SECRET-4f1c9e-do-not-print"
URL = "https://kantata.test/api/v1"

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps:
    """A fake `sleep` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make(handler: Handler, **kw: object) -> tuple[KantataClient, Sleeps]:
    sleeps = Sleeps()
    client = KantataClient(
        URL,
        TOKEN,
        transport=httpx.MockTransport(handler),
        sleep=sleeps,
        seed=1,
        **kw,  # type: ignore[arg-type]
    )
    return client, sleeps


def sequence(*responses: httpx.Response | Exception) -> Handler:
    """A handler answering with `responses` in turn (the last one repeats)."""
    it: Iterator[httpx.Response | Exception] = iter(responses)
    last: list[httpx.Response | Exception] = [responses[-1]]

    def handler(request: httpx.Request) -> httpx.Response:
        nxt = next(it, last[0])
        if isinstance(nxt, Exception):
            raise nxt
        return nxt

    return handler


def errors(*errs: dict[str, object]) -> dict[str, object]:
    return {"errors": list(errs)}


# ---------------------------------------------------------------- requests and bodies


def test_sends_bearer_token_json_body_and_comma_lists() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"count": 1, "results": []})

    client, _ = make(handler)
    client.post(
        "/stories",
        json=body("story", "stories", {"title": "A"}),
        params={"include": ["tags", "parent"], "archived": True},
    )
    req = seen[0]
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.url.path == "/api/v1/stories"
    assert req.url.params["include"] == "tags,parent"
    assert req.url.params["archived"] == "true"
    assert req.read() == b'{"story":{"title":"A"}}'


def test_plural_root_key_for_several_objects() -> None:
    assert body("story", "stories", [{"title": "A"}, {"title": "B"}]) == {
        "stories": [{"title": "A"}, {"title": "B"}]
    }


def test_204_gives_an_empty_dict() -> None:
    client, _ = make(sequence(httpx.Response(204)))
    assert client.delete("/stories/5") == {}
    assert client.requests_by_method == {"DELETE": 1}


def test_non_json_success_is_a_clear_error() -> None:
    client, _ = make(sequence(httpx.Response(200, text="<html>login</html>")))
    with pytest.raises(ApiError, match=r"GET /workspaces -> 200: the response was not a JSON"):
        client.get("/workspaces")


# ---------------------------------------------------------------- error mapping


def test_401_says_the_token_was_rejected_and_what_to_do() -> None:
    resp = httpx.Response(401, json=errors({"type": "oauth", "message": "Invalid OAuth 2 Request"}))
    client, sleeps = make(sequence(resp))
    with pytest.raises(AuthError) as info:
        client.get("/stories")
    assert info.value.status == 401
    text = info.value.format()
    assert "GET /stories -> 401: the token was rejected (Invalid OAuth 2 Request)" in text
    assert "KANTATA_TOKEN" in text
    assert sleeps.delays == []  # never retried


def test_422_lists_each_fields_message() -> None:
    resp = httpx.Response(
        422,
        json=errors(
            {"type": "validation", "field": "title", "message": "Title can't be blank"},
            {"type": "validation", "field": "due_date", "message": "Due date is invalid"},
        ),
    )
    client, _ = make(sequence(resp))
    with pytest.raises(ValidationError) as info:
        client.put("/stories/123", json={"story": {"title": ""}})
    assert str(info.value) == (
        "PUT /stories/123 -> 422: title: Title can't be blank; due_date: Due date is invalid"
    )
    assert [e["field"] for e in info.value.errors] == ["title", "due_date"]


@pytest.mark.parametrize(
    ("status", "payload", "kind", "text"),
    [
        (
            403,
            errors({"type": "system", "message": "No access"}),
            AuthError,
            "permission denied (No access)",
        ),
        (
            404,
            errors({"type": "system", "message": "Not found"}),
            NotFoundError,
            "-> 404: Not found",
        ),
        (400, {"error_message": "Bad things"}, ApiError, "-> 400: Bad things"),
        (500, "<h1>Oops</h1>", ServerError, "-> 500: <h1>Oops</h1>"),
    ],
)
def test_error_envelopes_map_to_typed_errors(
    status: int, payload: object, kind: type[ApiError], text: str
) -> None:
    resp = (
        httpx.Response(status, text=payload)
        if isinstance(payload, str)
        else httpx.Response(status, json=payload)
    )
    client, _ = make(sequence(resp))
    with pytest.raises(kind) as info:
        client.get("/stories/9")
    assert text in str(info.value)
    assert "GET /stories/9" in str(info.value)


# ---------------------------------------------------------------- retries


def test_503s_are_retried_then_succeed() -> None:
    unavailable = httpx.Response(
        503, json=errors({"type": "system", "message": "Service is unavailable"})
    )
    ok = httpx.Response(200, json={"count": 0, "results": []})
    client, sleeps = make(sequence(unavailable, unavailable, ok))
    assert client.get("/stories") == {"count": 0, "results": []}
    assert client.requests == 3
    assert client.retries == 2
    assert len(sleeps.delays) == 2


def test_always_failing_server_gives_a_clear_error_after_bounded_retries() -> None:
    unavailable = httpx.Response(
        503, json=errors({"type": "system", "message": "Service is unavailable"})
    )
    client, sleeps = make(sequence(unavailable), max_retries=4)
    with pytest.raises(ServerError) as info:
        client.get("/stories")
    assert client.requests == 5
    assert len(sleeps.delays) == 4
    assert "GET /stories -> 503: Service is unavailable (after 5 attempts)" in str(info.value)
    assert "try again later" in info.value.format()


def test_429s_are_retried_until_the_rate_limit_time_budget_not_an_attempt_count() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    resp = httpx.Response(
        429,
        headers={"Retry-After": "10"},
        json=errors({"type": "system", "message": "Rate limit exceeded"}),
    )
    client = KantataClient(
        URL, TOKEN, transport=httpx.MockTransport(sequence(resp)), sleep=sleep,
        clock=lambda: now[0], max_retries=2, rate_limit_budget=35.0,
    )  # fmt: skip
    with pytest.raises(RateLimitedError, match="429: rate limited"):
        client.get("/stories")
    assert client.requests == 4  # at 0, ~10, ~20, ~30 s; the next wait would pass 35 s
    assert now[0] <= 35.0


def test_429_honours_retry_after_and_narrows_the_limit() -> None:
    limited = httpx.Response(
        429,
        headers={"Retry-After": "2"},
        json=errors({"type": "system", "message": "Rate limit exceeded"}),
    )
    ok = httpx.Response(200, json={"ok": True})
    client, sleeps = make(sequence(limited, ok), max_concurrency=8)
    assert client.get("/stories") == {"ok": True}
    assert 2.0 <= sleeps.delays[0] <= 2.2
    assert client.limit.limit == 4


def test_connection_errors_are_retried_for_every_method() -> None:
    ok = httpx.Response(200, json={"id": "1"})
    client, _ = make(sequence(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), ok))
    assert client.post("/stories", json={"story": {"title": "A"}}) == {"id": "1"}
    assert client.requests_by_method == {"POST": 3}


def test_post_whose_outcome_is_unknown_is_not_retried() -> None:
    client, sleeps = make(sequence(httpx.ReadTimeout("read"), httpx.Response(200, json={})))
    with pytest.raises(TransportError) as info:
        client.post("/stories", json={"story": {"title": "A"}})
    assert info.value.outcome_unknown
    assert client.requests == 1
    assert sleeps.delays == []
    assert "look the object up" in info.value.format()


def test_put_after_a_dropped_connection_is_retried() -> None:
    drop = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    client, _ = make(sequence(drop, httpx.Response(200, json={"id": "7"})))
    assert client.put("/stories/7", json={"story": {"title": "B"}}) == {"id": "7"}
    assert client.requests == 2


def test_unreachable_server_is_a_transport_error_naming_the_next_step() -> None:
    client, _ = make(sequence(httpx.ConnectError("[Errno 111] Connection refused")), max_retries=2)
    with pytest.raises(TransportError) as info:
        client.get("/workspaces/1")
    assert not info.value.outcome_unknown
    assert "GET /workspaces/1: could not reach Kantata" in str(info.value)
    assert "after 3 attempts" in str(info.value)
    assert "--api-url" in info.value.format()


# ---------------------------------------------------------------- the token never leaks


def test_token_never_appears_in_errors_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    # A hostile server echoes the token back in every error body.
    def handler(request: httpx.Request) -> httpx.Response:
        echo = f"bad token {request.headers['Authorization']}"
        if request.url.path.endswith("/a"):
            return httpx.Response(401, json=errors({"type": "oauth", "message": echo}))
        if request.url.path.endswith("/b"):
            return httpx.Response(422, json=errors({"field": "title", "message": echo}))
        if request.url.path.endswith("/c"):
            raise httpx.ConnectError(echo)
        return httpx.Response(503, text=echo)

    caplog.set_level(logging.DEBUG)
    client, _ = make(handler, max_retries=1)
    texts = [repr(client)]
    for path in ("/a", "/b", "/c", "/d"):
        with pytest.raises(ApiError) as info:
            client.get(path)
        texts += [str(info.value), info.value.format(), repr(info.value)]
    texts.append(caplog.text)
    assert any("/d" in line for line in caplog.messages)  # debug tracing did log requests
    for text in texts:
        assert TOKEN not in text


def test_plain_http_is_refused_unless_loopback() -> None:
    with pytest.raises(UsageError, match=r"plain http to example\.com"):
        check_base_url("http://example.com/api/v1")
    for ok in ("http://127.0.0.1:8642/api/v1", "http://localhost/api/v1", "http://[::1]:1/api/v1"):
        assert check_base_url(ok + "/") == ok
    assert check_base_url("https://api.mavenlink.com/api/v1") == "https://api.mavenlink.com/api/v1"
    with pytest.raises(UsageError, match="not an http"):
        check_base_url("ftp://x/api")


# ---------------------------------------------------------------- map_concurrent


def test_map_concurrent_keeps_order_and_raises_the_first_failure() -> None:
    client, _ = make(sequence(httpx.Response(200, json={})), max_concurrency=4)
    assert client.map_concurrent(lambda n: n * n, range(20)) == [n * n for n in range(20)]

    def boom(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n

    with pytest.raises(ValueError, match="three"):
        client.map_concurrent(boom, range(10))
