"""Reading the workspace's posts that carry a stack's marker (docs/kantata-api.md, "Posts").

One listing, 200 a page: `GET /posts?workspace_id=..&parents_only=true` narrowed to posts
whose external reference names kxplan and the stack, with `include=external_references`.
The filters only save transfer: each post's marker is checked here from the references the
server returned, so a server that ignored a filter changes nothing. Replies are never
read (they are people's), and neither is any post without this stack's marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kxplan.client import KantataClient, Records
from kxplan.live._parsing import _marker
from kxplan.model import SERVICE_NAME, LiveMarker, LivePost, LiveState, Manifest

#: What every post listing asks for.
POST_PARAMS = {"parents_only": "true", "include": "external_references"}


def read_posts(client: KantataClient, workspace_id: str, stack: str) -> tuple[LivePost, ...]:
    """The workspace's top-level posts carrying `stack`'s marker, sorted by id."""
    params = {
        "workspace_id": workspace_id,
        **POST_PARAMS,
        "external_reference_service_name": SERVICE_NAME,
        "external_reference_service_model": stack,
    }
    records = client.get_all("/posts", params)
    return posts_from_records(records, stack)


def wants_posts(manifest: Manifest) -> bool:
    """Whether a plan of `manifest` reads the posts: it has a `posts:` list (even `[]`, which
    lets `--prune` delete the ones it dropped). A manifest without one does not manage
    posts, and its plans cost no request for them."""
    return manifest.manages_posts or bool(manifest.posts)


def posts_from_records(records: Records, stack: str) -> tuple[LivePost, ...]:
    """The posts of a listing that carry `stack`'s marker (pure)."""
    refs = records.included.get("external_references", {})
    found = []
    for obj in records:
        marker = _stack_marker(obj, refs, stack)
        if marker is not None and not obj.get("reply"):
            found.append(post_from_api(obj, marker))
    return tuple(sorted(found, key=lambda p: int(p.id) if p.id.isdigit() else 0))


def post_from_api(obj: Mapping[str, Any], marker: LiveMarker | None) -> LivePost:
    """One post object of Kantata's answer."""
    story = obj.get("story_id")
    return LivePost(
        id=str(obj["id"]),
        message=str(obj.get("message") or ""),
        story_id=None if story in (None, "") else str(story),
        marker=marker,
        replies=int(obj.get("reply_count") or 0),
        updated_at=str(obj.get("updated_at") or ""),
    )


def _stack_marker(
    obj: Mapping[str, Any], refs: Mapping[str, Mapping[str, Any]], stack: str
) -> LiveMarker | None:
    post_id = str(obj.get("id"))
    for ref_id in obj.get("external_reference_ids") or ():
        ref = refs.get(str(ref_id))
        if ref is None or str(ref.get("subject_id")) != post_id:
            continue
        if ref.get("subject_type") not in (None, "Post"):
            continue
        if ref.get("service_name") == SERVICE_NAME and ref.get("service_model") == stack:
            return _marker(ref)
    return None


def with_posts(client: KantataClient, manifest: Manifest, live: LiveState) -> LiveState:
    """`live` with the stack's posts read when a plan of `manifest` needs them (see
    `wants_posts`); a workspace that does not exist yet has none."""
    if not live.workspace.id:
        return replace(live, posts=())
    if not wants_posts(manifest):
        return live
    with client.tally() as tally:
        posts = read_posts(client, live.workspace.id, manifest.name)
        posts += unmarked_own_posts(client, live.workspace.id, manifest, posts)
    return replace(live, posts=posts, requests=live.requests + tally.requests)


def unmarked_own_posts(
    client: KantataClient, workspace_id: str, manifest: Manifest, marked: tuple[LivePost, ...]
) -> tuple[LivePost, ...]:
    """Posts an apply stopped between `POST /posts` and its marker may have left (docs/apply.md,
    "Posts"): the workspace's unmarked top-level posts whose message is that of a manifest
    post with no marked post yet, written by the token's own user (a person's post with the
    same words is never one). Costs nothing while every manifest post has its marked post;
    else one listing, and one workspace read only when a message matches."""
    have = {p.marker.service_model_ref for p in marked if p.marker is not None}
    messages = {p.message for p in manifest.posts if p.key not in have}
    if not messages:
        return ()
    params = {
        "workspace_id": workspace_id,
        **POST_PARAMS,
        "include": "external_references,user",
        "without_external_reference_service_name": SERVICE_NAME,
    }
    records = client.get_all("/posts", params)
    refs = records.included.get("external_references", {})
    same = [
        obj
        for obj in records
        if obj.get("message") in messages and not obj.get("reply") and not _kxplans(obj, refs)
    ]
    me = current_user_id(client, workspace_id) if same else None
    if me is None:
        return ()
    own = [post_from_api(obj, None) for obj in same if str(obj.get("user_id") or "") == me]
    return tuple(sorted(own, key=lambda p: int(p.id) if p.id.isdigit() else 0))


def _kxplans(obj: Mapping[str, Any], refs: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a post carries any kxplan reference (another stack's, a notification)."""
    for ref_id in obj.get("external_reference_ids") or ():
        ref = refs.get(str(ref_id))
        if ref is not None and ref.get("service_name") == SERVICE_NAME:
            return True
    return False


def current_user_id(client: KantataClient, workspace_id: str) -> str | None:
    """The id of the token's user, as the workspace's `current_user_participation` names it
    (docs/kantata-api.md, "Posts"); None when the answer does not say."""
    answer = client.get(f"/workspaces/{workspace_id}", {"include": "current_user_participation"})
    workspace = (answer.get("workspaces") or {}).get(str(workspace_id)) or {}
    pid = workspace.get("current_user_participation_id")
    if isinstance(pid, list):  # the OpenAPI's include text names `..._ids`
        pid = pid[0] if pid else None
    part = (answer.get("participations") or {}).get(str(pid)) if pid else None
    user = (part or {}).get("user_id")
    return str(user) if user not in (None, "") else None
