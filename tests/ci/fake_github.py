"""A fake GitHub REST API on loopback: the issue-comment endpoints `kxplan ci comment` uses.

    with FakeGitHub(token="t", repository="acme/plans", pulls={7}) as gh:
        gh.url            # GITHUB_API_URL for the test
        gh.comments       # id -> {"id", "body", "user", "html_url"}
        gh.log            # [(method, path_with_query)], one per request
        gh.fail_next(403, {"retry-after": "0"}, "You have exceeded a secondary rate limit")

Like GitHub: bearer token or 401; an unknown repository or pull request is 404; a
read-only token gets 403 on writes; a body over 65,536 characters is 422; listings are
paged with per_page (at most 100) and `page`, with a Link header whose rel="next" is an
absolute URL; comments come oldest first (ascending id).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LIMIT = 65_536
BOT = {"login": "github-actions[bot]", "type": "Bot"}

_LIST = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")
_ONE = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$")


@dataclass
class Failure:
    status: int
    headers: dict[str, str]
    message: str


@dataclass
class FakeGitHub:
    token: str = "gh-test-token"
    repository: str = "acme/plans"
    pulls: set[int] = field(default_factory=lambda: {7})
    read_only: bool = False
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    #: Ids of comments on each pull request, oldest first.
    threads: dict[int, list[int]] = field(default_factory=dict)
    _failures: list[Failure] = field(default_factory=list)
    _next_id: int = 1000
    _server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ set-up

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, number: int, body: str, user: dict[str, str] | None = None) -> int:
        """A comment someone already wrote on pull request `number`; its id."""
        self._next_id += 1
        cid = self._next_id
        self.comments[cid] = {
            "id": cid,
            "body": body,
            "user": user or {"login": "octocat", "type": "User"},
            "html_url": f"https://github.example/{self.repository}/pull/{number}#issuecomment-{cid}",
        }
        self.threads.setdefault(number, []).append(cid)
        return cid

    def on(self, number: int) -> list[dict[str, Any]]:
        """The comments of pull request `number`, oldest first."""
        return [self.comments[c] for c in self.threads.get(number, [])]

    def fail_next(self, status: int, headers: dict[str, str], message: str, times: int = 1) -> None:
        self._failures += [Failure(status, headers, message)] * times

    def methods(self) -> list[str]:
        return [m for m, _ in self.log]

    # ------------------------------------------------------------------ handling

    def handle(self, method: str, target: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if self._failures:
            f = self._failures.pop(0)
            return f.status, f.headers, {"message": f.message}
        parts = urlsplit(target)
        listing, one = _LIST.match(parts.path), _ONE.match(parts.path)
        match = listing or one
        if match is None or f"{match[1]}/{match[2]}" != self.repository:
            return 404, {}, {"message": "Not Found"}
        if listing and method == "GET":
            return self._list(int(match[3]), parse_qs(parts.query))
        if method not in ("POST", "PATCH") or (listing and method != "POST"):
            return 404, {}, {"message": "Not Found"}
        if self.read_only:
            return 403, {}, {"message": "Resource not accessible by integration"}
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or len(text) > LIMIT:
            return 422, {}, {"message": "Validation Failed", "errors": [{"message": _too_long()}]}
        if listing:
            return self._create(int(match[3]), text)
        return self._update(int(match[3]), text)

    def _list(self, number: int, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if number not in self.pulls:
            return 404, {}, {"message": "Not Found"}
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        ids = self.threads.get(number, [])
        chunk = ids[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(ids):
            nxt = f"{self.url}/repos/{self.repository}/issues/{number}/comments"
            headers["Link"] = f'<{nxt}?per_page={per_page}&page={page + 1}>; rel="next"'
        return 200, headers, [self.comments[c] for c in chunk]

    def _create(self, number: int, text: str) -> tuple[int, dict[str, str], Any]:
        if number not in self.pulls:
            return 404, {}, {"message": "Not Found"}
        cid = self.add(number, text, BOT)
        return 201, {}, self.comments[cid]

    def _update(self, cid: int, text: str) -> tuple[int, dict[str, str], Any]:
        if cid not in self.comments:
            return 404, {}, {"message": "Not Found"}
        self.comments[cid]["body"] = text
        return 200, {}, self.comments[cid]


def _too_long() -> str:
    return f"Body is too long (maximum is {LIMIT} characters)"


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        gh = self.github
        gh.log.append((self.command, self.path))
        gh.headers_seen.append(dict(self.headers.items()))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Authorization") != f"Bearer {gh.token}":
            status, headers, data = 401, {}, {"message": "Bad credentials"}
        else:
            body = json.loads(raw) if raw else None
            status, headers, data = gh.handle(self.command, self.path, body)
        payload = json.dumps(data).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = _serve


def bodies(comments: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> list[str]:
    return [c["body"] for c in comments]
