"""/posts: list, show, create (single or bulk), update, delete; replies are posts too."""

from __future__ import annotations

from collections.abc import Sequence

from kxplan.sandbox import present
from kxplan.sandbox.context import unwrap
from kxplan.sandbox.handlers import base
from kxplan.sandbox.handlers.base import ALL, Request, Response, Route, ok
from kxplan.sandbox.includes import stories as story_maps
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params
from kxplan.sandbox.resources.people import acting_user
from kxplan.sandbox.sql import in_clause
from kxplan.sandbox.store import SANDBOX_USER_ID, Row, Store

#: Post includes the sandbox serves -> the top-level key their objects go under. The
#: documented `attachments`, `google_documents` and `recipients` have nothing behind them
#: in the sandbox: their keys come back empty.
POST_INCLUDES = {
    "external_references": "external_references",
    "replies": "posts",
    "story": "stories",
    "user": "users",
    "workspace": "workspaces",
    "subject": "posts",
    "newest_reply": "posts",
    "newest_reply_user": "users",
    "attachments": "attachments",
    "google_documents": "google_documents",
    "recipients": "users",
}
_ID_FIELDS = {"attachments": "attachment_ids", "google_documents": "google_document_ids"}


def _body(model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params) -> Response:
    store = model.store
    wanted = [i for i in dict.fromkeys(base.includes(params)) if i in POST_INCLUDES]
    maps: present.Maps = {"posts": _present(store, rows)}
    for name in wanted:
        maps.setdefault(POST_INCLUDES[name], {})
    for name in wanted:
        _load(name, store, rows, maps)
    return ok(present.envelope("posts", rows, count, page, maps))


def _present(store: Store, rows: Sequence[Row]) -> dict[str, present.Obj]:
    counts: dict[int, int] = {}
    if rows:
        clause, args = in_clause(r["id"] for r in rows)
        for c in store.all(
            f"SELECT subject_id, COUNT(*) AS n FROM posts WHERE subject_id IN {clause} "
            "GROUP BY subject_id",
            args,
        ):
            counts[c["subject_id"]] = c["n"]
    return {str(r["id"]): present.post(r, counts.get(r["id"], 0)) for r in rows}


def _load(name: str, store: Store, rows: list[Row], maps: present.Maps) -> None:
    objs = maps["posts"]
    primary = [r for r in rows if str(r["id"]) in objs]
    if name in _ID_FIELDS:
        for r in primary:
            objs[str(r["id"])][_ID_FIELDS[name]] = []
    elif name == "external_references":
        _references(store, primary, maps)
    elif name == "replies":
        _replies(store, primary, maps)
    elif name in ("user", "newest_reply_user", "recipients"):
        _users(name, store, primary, maps)
    elif name == "story":
        ids = {r["story_id"] for r in primary if r["story_id"] is not None}
        story_rows = _rows(store, "stories", ids)
        maps["stories"].update(story_maps(store, story_rows, ()).get("stories", {}))
    elif name == "workspace":
        found = _rows(store, "workspaces", {r["workspace_id"] for r in primary})
        maps["workspaces"].update(present.workspaces(store, found))
    elif name == "subject":
        parents = _rows(store, "posts", {r["subject_id"] for r in primary if r["subject_id"]})
        _side(store, parents, maps)
    elif name == "newest_reply":
        _newest(store, primary, maps)


def _rows(store: Store, table: str, ids: set[int]) -> list[Row]:
    if not ids:
        return []
    clause, args = in_clause(ids)
    return store.all(f"SELECT * FROM {table} WHERE id IN {clause} ORDER BY id", args)


def _side(store: Store, rows: list[Row], maps: present.Maps) -> None:
    """Side-loaded posts join the `posts` map; a primary object is never replaced."""
    for key, obj in _present(store, rows).items():
        maps["posts"].setdefault(key, obj)


def _references(store: Store, rows: list[Row], maps: present.Maps) -> None:
    by_post: dict[int, list[str]] = {r["id"]: [] for r in rows}
    if rows:
        clause, args = in_clause(by_post)
        for ref in store.all(
            "SELECT * FROM external_references WHERE subject_type = 'Post' "
            f"AND subject_id IN {clause} ORDER BY id",
            args,
        ):
            by_post[ref["subject_id"]].append(str(ref["id"]))
            maps["external_references"][str(ref["id"])] = present.external_reference(ref)
    for post_id, ids in by_post.items():
        maps["posts"][str(post_id)]["external_reference_ids"] = ids


def _replies(store: Store, rows: list[Row], maps: present.Maps) -> None:
    by_post: dict[int, list[str]] = {r["id"]: [] for r in rows}
    replies: list[Row] = []
    if rows:
        clause, args = in_clause(by_post)
        replies = store.all(
            f"SELECT * FROM posts WHERE subject_id IN {clause} ORDER BY created_at, id", args
        )
    for reply in replies:
        by_post[reply["subject_id"]].append(str(reply["id"]))
    for post_id, ids in by_post.items():
        maps["posts"][str(post_id)]["reply_ids"] = ids
    _side(store, replies, maps)


def _newest(store: Store, rows: list[Row], maps: present.Maps) -> None:
    for r in rows:
        newest = store.one(
            "SELECT * FROM posts WHERE subject_id = ? ORDER BY created_at DESC, id DESC", [r["id"]]
        )
        newest_id = newest["id"] if newest else None
        maps["posts"][str(r["id"])]["newest_reply_id"] = present.sid(newest_id)
        if newest is not None:
            _side(store, [newest], maps)


def _users(name: str, store: Store, rows: list[Row], maps: present.Maps) -> None:
    """Every user is presented as the sandbox's one user, under their own id (a post a test
    wrote as someone else names that someone's id; docs/sandbox.md, "Fidelity")."""
    ids: set[int] = set()
    for r in rows:
        obj = maps["posts"][str(r["id"])]
        if name == "user":
            ids.add(r["user_id"])
        elif name == "recipients":
            recipients = [int(i) for i in r["recipient_ids"].split(",") if i]
            obj["recipient_ids"] = [str(i) for i in recipients]
            ids.update(recipients)
        else:
            newest = store.one(
                "SELECT user_id FROM posts WHERE subject_id = ? ORDER BY created_at DESC, id DESC",
                [r["id"]],
            )
            obj["newest_reply_user_id"] = present.sid(newest["user_id"] if newest else None)
            if newest is not None:
                ids.add(newest["user_id"])
    for user_id in ids:
        user = present.sandbox_user()
        if user_id != SANDBOX_USER_ID:
            user = {**user, "id": str(user_id), "full_name": f"User {user_id}"}
        maps["users"][str(user_id)] = user


def list_posts(model: SandboxModel, req: Request) -> Response:
    """GET /posts."""
    return _body(model, *model.query_posts(req.params), req.params)


def show_post(model: SandboxModel, req: Request) -> Response:
    """GET /posts/{id} (a post of an archived workspace: 404 unless asked for)."""
    return _body(model, [model.get_post(req.oid, req.params)], 1, ALL, req.params)


def create_posts(model: SandboxModel, req: Request) -> Response:
    """POST /posts with `{"post": {...}}` or `{"posts": [...]}` (at most 100, documented)."""
    body = req.body
    if isinstance(body, dict) and isinstance(body.get("posts"), list):
        ids = model.add_posts(body["posts"], user_id=acting_user())
    else:
        ids = model.add_posts([unwrap(body, "post")], user_id=acting_user())
    rows = [r for i in ids if (r := model.post_row(i)) is not None]
    return _body(model, rows, len(rows), ALL, req.params_with_body())


def update_post(model: SandboxModel, req: Request) -> Response:
    """PUT /posts/{id}: message and task link."""
    row = model.update_post(req.oid, unwrap(req.body, "post"))
    return _body(model, [row], 1, ALL, req.params_with_body())


ROUTES: tuple[Route, ...] = (
    ("GET", "/posts", list_posts),
    ("POST", "/posts", create_posts),
    ("GET", "/posts/{id}", show_post),
    ("PUT", "/posts/{id}", update_post),
    ("DELETE", "/posts/{id}", base.deleting(SandboxModel.delete_post)),
)
