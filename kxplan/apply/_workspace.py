"""The workspace itself: created (`POST /workspaces`) or its fields updated (`PUT
/workspaces/{id}`), first of all (docs/apply.md, "Order"), each carrying the stack's
workspace marker (docs/kantata-api.md, "Workspaces").

`creator_role` is required by the API but its documented values disagree (the OpenAPI enum
lists `client`/`consultant`, its description `maven`/`consultant` and `buyer`/`client`, older
docs `maven|buyer`): `consultant` is sent first; a 422 naming `creator_role` is answered by
one resend with `maven` (a create refused by validation wrote nothing).

A create whose answer was lost is looked up by its exact title (no workspace had it when
the plan was made, and the plan refuses to create a title that exists) before anything is
re-sent, so one create never makes two workspaces (the applier's one `create_once`).

Two applies that create the same workspace at once (docs/apply.md, "Two applies create one
workspace"): there is no workspace to lock before it exists, so after its create each apply
lists the workspaces with that title (`GET /workspaces?matching=<title>`, exact titles kept)
and the oldest (lowest id) is the one to use. An apply whose own is not the oldest stands
down before writing anything in it: it archives the workspace it made, renames it (so the
title names one workspace again) and deletes its marker (so a fleet by marker does not find
it), then stops with an error naming the workspace to use. Ids grow with creation, so the
apply that created first sees no older one and goes on; each later one sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kxplan.apply._once import create_once
from kxplan.apply._payload import (
    created_workspace_memory,
    workspace_create,
    workspace_marker,
    workspace_reference,
    workspace_update,
)
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run, about, delete_quietly
from kxplan.changes.base import Change, expect
from kxplan.changes.workspace import WorkspaceCreate, WorkspaceUpdate
from kxplan.client import Records
from kxplan.errors import ApplyError, TransportError, ValidationError
from kxplan.ids import id_order, result_ids
from kxplan.live import matching_records, workspace_by_id, workspaces_matching
from kxplan.model import LiveWorkspace
from kxplan.planner.memory import decode, value_digest

#: creator_role values, in the order they are tried (see the module docstring).
CREATOR_ROLES = ("consultant", "maven")


def create_workspace(run: Run, change: Change) -> None:
    """Create the planned workspace; the rest of the plan then runs in it."""
    create = expect(change, WorkspaceCreate)
    title = create.after["title"]
    with about(f"creating workspace {title!r}"):
        _refuse_made_before(run, title)
        data = _create_once(run, create)
        found = _created(data)
        if not _marked(data, found.id, run.stack):
            _write_marker(run, found.id, created_workspace_memory(create.after))
        _settle(run, title, found.id)
        run.workspace_id = found.id
    run.done((change,))


def update_workspace(run: Run, change: Change) -> None:
    """PUT the workspace fields the manifest's mapping sets, with the marker."""
    update = expect(change, WorkspaceUpdate)
    body = workspace_update(update.after, update.fields, run.stack)
    with about(f"updating workspace {update.path or run.workspace_id!r}"):
        run.client.request("PUT", f"/workspaces/{run.workspace_id}", json=body)
    run.done((change,))


def _create_once(run: Run, create: WorkspaceCreate) -> dict[str, Any]:
    """The create's answer (or, when an answer was lost, `{"found": workspace}`): through
    the applier's one create-once helper, the workspace found by its exact title."""
    title = create.after["title"]
    roles = list(CREATOR_ROLES)  # a role refused once is not tried again on a resend
    once = create_once(
        run,
        lambda _missing: _post(run, create, roles),
        lambda keys: _titled(run, keys),
        [title],
        f"creating workspace {title!r}",
    )
    if once.answer is not None:
        return once.answer
    return {"results": [], "found": once.found[title]}


def _post(run: Run, create: WorkspaceCreate, roles: list[str]) -> dict[str, Any]:
    """POST the workspace with the first of `roles`; a refusal naming creator_role drops
    that role and is answered by one resend with the next (see the module docstring)."""
    while True:
        try:
            return _send(run, create, roles[0])
        except ValidationError as err:
            if len(roles) < 2 or not _names_creator_role(err):
                raise
            roles.pop(0)
            run.count_extra()


def _send(run: Run, create: WorkspaceCreate, role: str) -> dict[str, Any]:
    body = workspace_create(create.after, role, run.stack)
    params = {"include": "external_references"}
    return run.client.request("POST", "/workspaces", params=params, json=body)


def _names_creator_role(err: ValidationError) -> bool:
    named = [str(e.get("field", "")) + " " + str(e.get("message", "")) for e in err.errors]
    return any("creator_role" in text for text in named) or "creator_role" in err.message


def _titled(run: Run, keys: list[str]) -> dict[str, LiveWorkspace]:
    """Title -> the workspace a lost create made: the oldest with the exact title that
    carries this stack's marker (another apply may have created one too: `_settle` then
    says which one both use)."""
    found: dict[str, LiveWorkspace] = {}
    for title in keys:
        run.count_extra()
        same = [w for w in workspaces_matching(run.client, title) if w.title == title]
        marked = [w for w in same if run.stack in w.marked]
        if marked:
            found[title] = marked[0]
    return found


def _refuse_made_before(run: Run, title: str) -> None:
    """Stop before creating `title` when this stack already made a workspace under that
    title that is not archived: a person renamed it since (or another apply created it
    since the plan). Found through this stack's workspace markers, whose memory holds the
    title each workspace was made or managed under (one `GET /external_references`)."""
    run.count_extra()
    for wid in _made_under(run, title):
        run.count_extra()
        found = workspace_by_id(run.client, wid)
        if found is None or found.archived:
            continue
        if found.title == title:
            raise ApplyError(
                f"workspace {title!r} exists since the plan was made (id {wid}, with this "
                "stack's marker): another apply created it",
                hint="run `kxplan plan` again: it plans against that workspace",
            )
        raise ApplyError(
            f"this stack made workspace {wid} as {title!r}, and it is titled "
            f"{found.title!r} now (renamed in Kantata): creating {title!r} would make a second",
            hint=f"name it by id in the manifest (workspace: {{id: {wid}}}), or rename it back "
            f"to {title!r} in Kantata; archive it to have kxplan create a new one",
        )


def _made_under(run: Run, title: str) -> list[str]:
    """Ids of the workspaces whose marker of this stack remembers `title` (in id order)."""
    params = {"subject_type": "Workspace", **workspace_marker(run.stack)}
    want = workspace_marker(run.stack)
    digest = value_digest("title", title)
    ids = set()
    for ref in run.client.get_all("/external_references", params):
        memory = decode(ref.get("external_message"))
        same = all(str(ref.get(k)) == v for k, v in want.items())
        if same and memory is not None and memory.fields.get("title") == digest:
            ids.add(str(ref.get("subject_id")))
    return sorted(ids, key=id_order)


#: What the workspace an apply made and then gave up is renamed to (see the module docstring).
DUPLICATE_TITLE = "{title} (duplicate of {winner}, archived by kxplan)"


def _settle(run: Run, title: str, mine: str) -> None:
    """Go on when `mine` is the oldest workspace titled `title`; else stand down (archive,
    rename and unmark it) and stop with an ApplyError naming the one to use."""
    run.count_extra()
    records = matching_records(run.client, title)
    same = sorted({str(w["id"]) for w in records if w.get("title") == title} | {mine}, key=id_order)
    if same[0] == mine:
        return
    winner = same[0]
    renamed = DUPLICATE_TITLE.format(title=title, winner=winner)
    _stand_down(run, mine, renamed, _marker_ids(records, mine, run.stack))
    raise ApplyError(
        f"another apply created workspace {title!r} at the same time: workspace {winner} "
        f"(the oldest with this title) is the one to use; this apply wrote nothing in it",
        hint=f"the workspace this apply created, {mine}, is archived, renamed {renamed!r} "
        f"and unmarked (nothing was written in it; delete it in Kantata if you like). Run "
        f"`kxplan plan` again: it plans against workspace {winner}",
    )


def _stand_down(run: Run, mine: str, renamed: str, markers: list[str]) -> None:
    """Archive and rename the workspace this apply made, and delete its marker."""
    run.count_extra(1 + len(markers))
    body = {"workspace": {"archived": True, "title": renamed}}
    run.client.request("PUT", f"/workspaces/{mine}", json=body)
    for ref_id in markers:
        delete_quietly(run.client, f"/external_references/{ref_id}")


def _marker_ids(records: Records, workspace_id: str, stack: str) -> list[str]:
    """Ids of this stack's workspace markers on `workspace_id`, from a listing's includes."""
    want = workspace_marker(stack)
    refs = records.included.get("external_references") or {}
    return sorted(
        (
            ref_id
            for ref_id, ref in refs.items()
            if str(ref.get("subject_id")) == workspace_id
            and all(str(ref.get(k)) == v for k, v in want.items())
        ),
        key=id_order,
    )


def _created(data: Mapping[str, Any]) -> LiveWorkspace:
    """The workspace the create made (or the look-up found)."""
    found = data.get("found")
    if isinstance(found, LiveWorkspace):
        return found
    from kxplan.live import workspace_from_api

    ids = result_ids(data)
    obj = (data.get("workspaces") or {}).get(ids[0]) if ids else None
    if obj is None:
        raise ApplyError("Kantata's answer to POST /workspaces did not include the workspace")
    return workspace_from_api(obj, data.get("external_references"))


def _marked(data: Mapping[str, Any], workspace_id: str, stack: str) -> bool:
    """Whether the create's answer shows the marker on the new workspace (when it does not
    say, one more request writes it: the create may have ignored `external_reference`)."""
    want = workspace_marker(stack)
    for ref in (data.get("external_references") or {}).values():
        same = all(str(ref.get(k)) == v for k, v in want.items())
        if same and str(ref.get("subject_id")) == workspace_id:
            return True
    return False


def _write_marker(run: Run, workspace_id: str, memory: str) -> None:
    """create_or_update the marker, with its memory (one reference per subject and service
    name: re-sending it after a lost answer writes the same reference again, never a
    second one)."""
    body = workspace_reference(workspace_id, run.stack, memory)
    run.count_extra()
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        try:
            run.client.post("/external_references/create_or_update", json=body)
            return
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
