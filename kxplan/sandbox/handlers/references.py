"""/external_references (kxplan's markers) and /story_state_changes (the audit trail)."""

from __future__ import annotations

from kxplan.sandbox import present
from kxplan.sandbox.handlers import base
from kxplan.sandbox.handlers.base import Response, Route, keyed, ok
from kxplan.sandbox.models import SandboxModel
from kxplan.sandbox.params import Page, Params
from kxplan.sandbox.resources.people import users_by_id
from kxplan.sandbox.store import Row


def _changes_body(
    model: SandboxModel, rows: list[Row], count: int, page: Page, params: Params
) -> Response:
    wanted = base.includes(params)
    maps: present.Maps = {"story_state_changes": keyed(rows, present.state_change)}
    if "user" in wanted:
        # The person each change was made as (docs/sandbox.md, "People and tokens").
        maps["users"] = users_by_id(model.store, (r["user_id"] for r in rows))
    if "story" in wanted:
        ids = sorted({r["story_id"] for r in rows})
        found = [s for i in ids if (s := model.store.by_id("stories", i)) is not None]
        maps["stories"] = keyed(found, present.story)
    return ok(present.envelope("story_state_changes", rows, count, page, maps))


_refs_body = base.plain_body("external_references", present.external_reference)
ROUTES: tuple[Route, ...] = (
    # `subject_type` is required
    (
        "GET",
        "/external_references",
        base.listing(SandboxModel.query_external_references, _refs_body),
    ),
    (
        "POST",
        "/external_references/create_or_update",
        base.creating("external_reference", SandboxModel.upsert_external_reference, _refs_body),
    ),
    ("DELETE", "/external_references/{id}", base.deleting(SandboxModel.delete_external_reference)),
    # `story_id` is required
    ("GET", "/story_state_changes", base.listing(SandboxModel.query_state_changes, _changes_body)),
    (
        "GET",
        "/story_state_changes/{id}",
        base.showing(SandboxModel.get_state_change, _changes_body),
    ),
)
