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
    return replace(live, posts=posts, requests=live.requests + tally.requests)
