"""The plan as ONE pull-request comment on GitHub, created once and then updated in place.

    pr = pull_request_from_env(os.environ, number=None)
    with GitHubClient(pr.api_url, token_from_env(os.environ)) as github:
        posted = upsert_comment(github, pr, body)    # Posted("created" | "updated" | ...)

The comment kxplan wrote before is the one whose first line is the hidden marker of the
same stack and workspace; every other comment is left alone. What this relies on about
GitHub's REST API (endpoints, paging by the Link header, rate limits), with the official
pages, is in docs/ci.md ("What kxplan relies on about GitHub"). The token is sent in the
Authorization header only, to the API's own host, and never appears in a message.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from kxplan import __version__
from kxplan.errors import KxplanError, UsageError

DEFAULT_API_URL = "https://api.github.com"
#: Comments per page when listing (GitHub's largest page).
PER_PAGE = 100
#: Rate-limited answers retried at most this many times, each after the wait GitHub asks.
MAX_RETRIES = 3
#: Longer waits than this (seconds) are not slept: the error says when to re-run.
MAX_WAIT = 60.0
#: Waiting this long when GitHub says "secondary rate limit" without saying how long.
DEFAULT_WAIT = 60.0

_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

_PERMISSIONS = (
    "the workflow job needs `permissions: pull-requests: write` (a pull request from a fork "
    "gets a read-only token: comment from a `pull_request_target` or `workflow_run` job)"
)


class GitHubError(KxplanError):
    """GitHub refused a call or could not be reached: which call, why, and what to do."""


@dataclass(frozen=True, slots=True)
class PullRequest:
    """Where the comment goes."""

    api_url: str
    owner: str
    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"

    @property
    def path(self) -> str:
        return f"/repos/{quote(self.owner, safe='')}/{quote(self.repo, safe='')}"


@dataclass(frozen=True, slots=True)
class Posted:
    """What `upsert_comment` did: `action` is created, updated or unchanged."""

    action: str
    id: int
    url: str
    requests: int


# --------------------------------------------------------------------------- environment


def token_from_env(env: Mapping[str, str]) -> str:
    """GITHUB_TOKEN, or a UsageError saying how to pass it."""
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "GITHUB_TOKEN is not set: kxplan needs a token to comment on the pull request",
            hint="in the workflow step: `env: {GITHUB_TOKEN: ${{ github.token }}}`, and "
            + _PERMISSIONS,
        )
    return token


def pull_request_from_env(env: Mapping[str, str], number: int | None) -> PullRequest:
    """The pull request from GITHUB_REPOSITORY, GITHUB_API_URL and `number` (`--pr`), or
    else the pull request of the event in GITHUB_EVENT_PATH."""
    repository = env.get("GITHUB_REPOSITORY", "").strip()
    if not _REPOSITORY.fullmatch(repository):
        what = f"is {repository!r}" if repository else "is not set"
        raise UsageError(
            f"GITHUB_REPOSITORY {what}: it must name the repository as owner/name",
            hint="GitHub Actions sets it; elsewhere export GITHUB_REPOSITORY=owner/name",
        )
    api_url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    if urlsplit(api_url).scheme not in ("http", "https") or not urlsplit(api_url).hostname:
        raise UsageError(
            f"GITHUB_API_URL {api_url!r} is not an http(s) URL",
            hint=f"leave it unset for github.com ({DEFAULT_API_URL})",
        )
    owner, repo = repository.split("/")
    if number is None:
        number = _event_number(env)
    return PullRequest(api_url, owner, repo, number)


def _event_number(env: Mapping[str, str]) -> int:
    """The pull request number of the event that started the workflow run."""
    path = env.get("GITHUB_EVENT_PATH", "")
    name = env.get("GITHUB_EVENT_NAME") or "this"
    event: Any = {}
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                event = json.load(handle)
        except (OSError, ValueError) as err:
            raise UsageError(
                f"GITHUB_EVENT_PATH {path}: cannot read the event ({err})",
                hint="pass the pull request number with --pr N",
            ) from None
    number = _number_in(event)
    if number is None:
        raise UsageError(
            f"{name} event is not about a pull request: there is no pull request to comment on",
            hint="run `kxplan ci comment` on pull_request events, or pass --pr N "
            "(`kxplan ci summary` writes the job summary on any event)",
        )
    return number


def _number_in(event: Any) -> int | None:
    if not isinstance(event, dict):
        return None
    pull = event.get("pull_request")
    if isinstance(pull, dict) and isinstance(pull.get("number"), int):
        return int(pull["number"])
    issue = event.get("issue")  # issue_comment on a pull request
    if isinstance(issue, dict) and "pull_request" in issue and isinstance(issue.get("number"), int):
        return int(issue["number"])
    return None


# --------------------------------------------------------------------------- client


class GitHubClient:
    """A small GitHub REST client: bearer auth, rate-limit waits, paging by Link header.

    `transport`, `sleep` and `clock` are injected by tests (a fake server on loopback, no
    real waiting). `requests` counts the HTTP requests made.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._origin = _origin(self.api_url)
        self._http = httpx.Client(
            base_url=self.api_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"kxplan/{__version__}",
            },
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
        )
        self._sleep, self._clock = sleep, clock
        self.requests = 0

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, url: str, *, body: Any = None) -> httpx.Response:
        """One call (retried while rate-limited); a GitHubError for any 4xx/5xx."""
        shown = _shown(url)
        for attempt in range(MAX_RETRIES + 1):
            response = self._send(method, url, body, shown)
            wait = rate_limit_wait(response, self._clock())
            if wait is None:
                break
            if attempt == MAX_RETRIES or wait > MAX_WAIT:
                raise _rate_limited(method, shown, response, wait, attempt)
            self._sleep(wait)
        if response.status_code >= 400:
            raise _refused(method, shown, response)
        return response

    def _send(self, method: str, url: str, body: Any, shown: str) -> httpx.Response:
        try:
            response = self._http.request(method, url, json=body)
        except httpx.HTTPError as err:
            raise GitHubError(
                f"{method} {shown}: no answer from {self._origin} ({type(err).__name__})",
                hint="check GITHUB_API_URL and the network; re-running is safe (the comment "
                "is found by its marker, never posted twice on purpose)",
            ) from None
        finally:
            self.requests += 1
        return response

    def pages(self, path: str) -> Iterator[list[dict[str, Any]]]:
        """Every page of a listing, following the Link header's rel="next"."""
        url: str | None = f"{path}?per_page={PER_PAGE}"
        seen: set[str] = set()
        while url is not None:
            seen.add(url)
            response = self.call("GET", url)
            page = _json(response, "GET", _shown(url))
            if not isinstance(page, list):
                raise GitHubError(f"GET {_shown(url)}: GitHub answered {type(page).__name__}")
            yield [c for c in page if isinstance(c, dict)]
            url = self._next(response, seen)

    def _next(self, response: httpx.Response, seen: set[str]) -> str | None:
        match = _NEXT.search(response.headers.get("link", ""))
        if match is None:
            return None
        url = match.group(1)
        # The token goes to the API's own host only, and a loop of pages is a server error.
        if _origin(url) != self._origin or url in seen:
            raise GitHubError(
                f"GitHub's next page {_shown(url)} is not a new page of {self._origin}",
                hint="check GITHUB_API_URL: it must be the API of the server that answers",
            )
        return url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _shown(url: str) -> str:
    """The path of `url`, without host and query, for messages."""
    return urlsplit(url).path or url


def _json(response: httpx.Response, method: str, shown: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GitHubError(
            f"{method} {shown}: GitHub's answer is not JSON (HTTP {response.status_code})",
            hint="check GITHUB_API_URL: it must be the REST API (https://api.github.com, or "
            "https://HOST/api/v3 on GitHub Enterprise Server)",
        ) from None


# --------------------------------------------------------------------------- errors


def rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait before retrying `response`, or None when it is not rate-limited.

    As GitHub documents: a 403 or 429 with `retry-after` (seconds), or with
    `x-ratelimit-remaining: 0` (wait until `x-ratelimit-reset`, epoch seconds), or whose
    message says "rate limit" (a secondary limit without a header: wait a minute).
    """
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    after = _number(headers.get("retry-after"))
    if after is not None:
        return max(after, 0.0)
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _number(headers.get("x-ratelimit-reset"))
        return max((reset or now) - now, 0.0) + 1.0
    if "rate limit" in _message(response).lower():
        return DEFAULT_WAIT
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    message = data.get("message", "") if isinstance(data, dict) else ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        details = [e.get("message") or e.get("code") for e in errors if isinstance(e, dict)]
        message += " (" + "; ".join(str(d) for d in details if d) + ")"
    return str(message)[:300]


def _rate_limited(
    method: str, shown: str, response: httpx.Response, wait: float, attempts: int
) -> GitHubError:
    when = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
    tried = f" after {attempts} retr{'y' if attempts == 1 else 'ies'}" if attempts else ""
    return GitHubError(
        f"{method} {shown}: GitHub's rate limit{tried} (HTTP {response.status_code}: "
        f"{_message(response) or 'rate limited'}); it asks to wait {wait:.0f} s",
        hint=f"re-run the job after {when}; the token's requests are shared by every job of "
        "the repository",
    )


def _refused(method: str, shown: str, response: httpx.Response) -> GitHubError:
    status, message = response.status_code, _message(response)
    what = f"{method} {shown}: GitHub answered {status}" + (f" ({message})" if message else "")
    if status == 401:
        return GitHubError(
            f"{what}: the token was refused",
            hint="check GITHUB_TOKEN (in a workflow: ${{ github.token }}); it may have expired",
        )
    if status == 403:
        return GitHubError(f"{what}: the token may not do this", hint=_PERMISSIONS)
    if status == 404:
        return GitHubError(
            f"{what}: no such repository or pull request, or the token cannot see it",
            hint="check GITHUB_REPOSITORY (owner/name), the pull request number (--pr) and "
            "that the token has access to the repository",
        )
    if status == 422:
        return GitHubError(f"{what}: GitHub refused the comment")
    return GitHubError(what, hint="GitHub may be having trouble: re-run the job later")


# --------------------------------------------------------------------------- the comment


def upsert_comment(github: GitHubClient, pr: PullRequest, body: str) -> Posted:
    """Update the comment whose first line is `body`'s first line (the marker), or create
    one. Of several such comments the newest is updated; no other comment is touched.
    An identical comment is left as it is (no write, no notification)."""
    marker = body.split("\n", 1)[0]
    if not marker.startswith("<!-- kxplan:"):
        raise ValueError("the comment body must start with kxplan's hidden marker")
    before = github.requests
    found = _find(github, pr, marker)
    if found is None:
        path = f"{pr.path}/issues/{pr.number}/comments"
        response = github.call("POST", path, body={"body": body})
        return _posted("created", response, github.requests - before)
    if found.get("body") == body:
        url = str(found.get("html_url", ""))
        return Posted("unchanged", int(found["id"]), url, github.requests - before)
    response = github.call(
        "PATCH", f"{pr.path}/issues/comments/{int(found['id'])}", body={"body": body}
    )
    return _posted("updated", response, github.requests - before)


def _find(github: GitHubClient, pr: PullRequest, marker: str) -> dict[str, Any] | None:
    """The newest comment whose first line is exactly `marker` (comments are listed oldest
    first, by ascending id)."""
    found = None
    for page in github.pages(f"{pr.path}/issues/{pr.number}/comments"):
        for comment in page:
            if _first_line(comment.get("body")) == marker and isinstance(comment.get("id"), int):
                found = comment
    return found


def _first_line(text: object) -> str | None:
    return text.split("\n", 1)[0].rstrip("\r") if isinstance(text, str) else None


def _posted(action: str, response: httpx.Response, requests: int) -> Posted:
    data = _json(response, response.request.method, _shown(str(response.request.url)))
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise GitHubError(f"GitHub's answer to the comment has no id: {str(data)[:200]}")
    return Posted(action, int(data["id"]), str(data.get("html_url", "")), requests)
