"""The GitHub client's own rules, through a fake transport: rate-limit waits as GitHub
documents them (slept through an injected clock, never for real), and the token sent only
to the API's own host."""

from __future__ import annotations

import httpx
import pytest

from kxplan.ci import GitHubClient, GitHubError, PullRequest, pull_request_from_env
from kxplan.ci.github import rate_limit_wait
from kxplan.errors import UsageError

API = "https://api.github.test"
PR = PullRequest(API, "acme", "plans", 7)
NOW = 1_900_000_000.0


def answer(status: int, message: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"message": message})


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        (answer(200), None),
        (answer(403, "Resource not accessible by integration"), None),
        (answer(404, "Not Found", **{"retry-after": "5"}), None),
        (answer(403, "secondary rate limit", **{"retry-after": "7"}), 7.0),
        (answer(429, "", **{"retry-after": "0"}), 0.0),
        (
            answer(
                403,
                "API rate limit exceeded",
                **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)},
            ),
            31.0,
        ),
        (answer(403, "You have exceeded a secondary rate limit"), 60.0),
    ],
)
def test_how_long_github_asks_to_wait(response: httpx.Response, wait: float | None) -> None:
    assert rate_limit_wait(response, NOW) == wait


def test_rate_limited_calls_are_retried_after_the_wait_github_asks() -> None:
    answers = [
        answer(403, "You have exceeded a secondary rate limit"),
        answer(429, "", **{"retry-after": "12"}),
        httpx.Response(200, json=[]),
    ]
    slept: list[float] = []
    transport = httpx.MockTransport(lambda request: answers.pop(0))
    with GitHubClient(API, "t", transport=transport, sleep=slept.append, clock=lambda: NOW) as gh:
        assert list(gh.pages(f"{PR.path}/issues/7/comments")) == [[]]
        assert gh.requests == 3
    assert slept == [60.0, 12.0]


def test_rate_limited_calls_give_up_after_three_retries() -> None:
    slept: list[float] = []
    transport = httpx.MockTransport(lambda r: answer(429, "slow down", **{"retry-after": "1"}))
    with GitHubClient(API, "t", transport=transport, sleep=slept.append) as gh:
        with pytest.raises(GitHubError, match="rate limit after 3 retries") as caught:
            gh.call("GET", "/x")
        assert gh.requests == 4
    assert slept == [1.0, 1.0, 1.0]
    assert "re-run the job after" in caught.value.format()


def test_the_token_never_follows_a_next_page_to_another_host() -> None:
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        link = '<https://evil.test/repos/acme/plans/issues/7/comments?page=2>; rel="next"'
        return httpx.Response(200, headers={"Link": link}, json=[{"id": 1, "body": "x"}])

    with GitHubClient(API, "t", transport=httpx.MockTransport(serve)) as gh:
        pages = gh.pages(f"{PR.path}/issues/7/comments")
        assert next(pages) == [{"id": 1, "body": "x"}]
        with pytest.raises(GitHubError, match=r"is not a new page of https://api\.github\.test"):
            next(pages)
    assert seen == [f"{API}/repos/acme/plans/issues/7/comments?per_page=100"]


def test_a_page_that_links_to_itself_is_an_error_not_a_loop() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        link = f'<{API}/repos/acme/plans/issues/7/comments?per_page=100&page=2>; rel="next"'
        return httpx.Response(200, headers={"Link": link}, json=[])

    with GitHubClient(API, "t", transport=httpx.MockTransport(serve)) as gh:
        with pytest.raises(GitHubError, match="not a new page"):
            list(gh.pages(f"{PR.path}/issues/7/comments"))
        assert gh.requests == 2


def test_no_answer_names_the_call_and_the_host_but_not_the_token() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport = httpx.MockTransport(serve)
    with GitHubClient(API, "sekret", transport=transport) as gh, pytest.raises(GitHubError) as err:
        gh.call("POST", "/repos/acme/plans/issues/7/comments", body={"body": "b"})
    caught = err
    text = caught.value.format()
    assert "POST /repos/acme/plans/issues/7/comments: no answer from https://api.github.test" in (
        text
    )
    assert "sekret" not in text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GITHUB_REPOSITORY": "acme"}, "GITHUB_REPOSITORY is 'acme': it must name"),
        (
            {"GITHUB_REPOSITORY": "acme/plans", "GITHUB_API_URL": "ftp://x"},
            "GITHUB_API_URL 'ftp://x' is not an http(s) URL",
        ),
        (
            {"GITHUB_REPOSITORY": "acme/plans", "GITHUB_EVENT_PATH": "/nonexistent/event.json"},
            "GITHUB_EVENT_PATH /nonexistent/event.json: cannot read the event",
        ),
    ],
)
def test_a_wrong_environment_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        pull_request_from_env(env, None)
    assert message in caught.value.message


def test_the_pull_request_defaults_to_github_com_and_takes_an_explicit_number() -> None:
    assert pull_request_from_env({"GITHUB_REPOSITORY": "acme/plans"}, 12) == PullRequest(
        "https://api.github.com", "acme", "plans", 12
    )


def test_github_enterprise_server_paths_keep_the_api_prefix() -> None:
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(201, json={"id": 5, "html_url": "https://ghe.test/c/5"})

    pr = pull_request_from_env(
        {"GITHUB_REPOSITORY": "acme/plans", "GITHUB_API_URL": "https://ghe.test/api/v3/"}, 7
    )
    with GitHubClient(pr.api_url, "t", transport=httpx.MockTransport(serve)) as gh:
        gh.call("POST", f"{pr.path}/issues/7/comments", body={"body": "b"})
    assert seen == ["https://ghe.test/api/v3/repos/acme/plans/issues/7/comments"]
