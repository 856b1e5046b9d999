"""The workspace itself: created (`POST /workspaces`) or its fields updated (`PUT
/workspaces/{id}`), first of all (docs/apply.md, "Order"), each carrying the stack's
workspace marker (docs/kantata-api.md, "Workspaces").

`creator_role` is required by the API but its documented values disagree (the OpenAPI enum
lists `client`/`consultant`, its description `maven`/`consultant` and `buyer`/`client`, older
docs `maven|buyer`): `consultant` is sent first; a 422 naming `creator_role` is answered by
one resend with `maven` (a create refused by validation wrote nothing).

A create whose answer was lost is looked up by its exact title (no workspace had it when
the plan was made, and the plan refuses to create a title that exists) before anything is
re-sent, so one create never makes two workspaces. This is the workspace's own
look-up-before-resend; tasks have theirs in `_creates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kxplan.apply._grace import look_again
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run, about
from kxplan.changes.base import Change, expect
from kxplan.changes.workspace import WORKSPACE_FIELDS, WorkspaceCreate, WorkspaceUpdate
from kxplan.errors import ApplyError, TransportError, ValidationError
from kxplan.ids import result_ids
from kxplan.live import find_workspace
from kxplan.model import SERVICE_NAME, WORKSPACE_MARKER_REF, LiveWorkspace

#: creator_role values, in the order they are tried (see the module docstring).
CREATOR_ROLES = ("consultant", "maven")


def workspace_marker(stack: str) -> dict[str, str]:
    """The stack's marker on a workspace it creates or manages."""
    return {
        "service_name": SERVICE_NAME,
        "service_model": stack,
        "service_model_ref": WORKSPACE_MARKER_REF,
    }


def create_workspace(run: Run, change: Change) -> None:
    """Create the planned workspace; the rest of the plan then runs in it."""
    create = expect(change, WorkspaceCreate)
    title = create.after["title"]
    with about(f"creating workspace {title!r}"):
        data = _create_once(run, create)
        found = _created(data)
        run.workspace_id = found.id
        if not _marked(data, found.id, run.stack):
            _write_marker(run, found.id)
    run.done((change,))


def update_workspace(run: Run, change: Change) -> None:
    """PUT the workspace fields the manifest's mapping sets, with the marker."""
    update = expect(change, WorkspaceUpdate)
    values: Mapping[str, Any] = update.after
    body: dict[str, Any] = {n: values.get(n) for n in update.fields if n in WORKSPACE_FIELDS}
    body["external_reference"] = workspace_marker(run.stack)
    with about(f"updating workspace {update.path or run.workspace_id!r}"):
        run.client.request("PUT", f"/workspaces/{run.workspace_id}", json={"workspace": body})
    run.done((change,))


def _create_once(run: Run, create: WorkspaceCreate) -> dict[str, Any]:
    """The create's answer: sent, re-sent with the other creator_role when the first is
    refused by name, looked up by title when an answer is lost."""
    title = create.after["title"]
    roles = list(CREATOR_ROLES)
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        try:
            return _post(run, create, roles[0])
        except ValidationError as err:
            if len(roles) < 2 or not _names_creator_role(err):
                raise
            roles.pop(0)
            run.count_extra()
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
            found = look_again(
                lambda keys: _titled(run, keys), [title], f"creating workspace {title!r}"
            ).get(title)
            if found is not None:
                run.count_recovered()
                return {"results": [], "found": found}
    raise ApplyError(f"creating workspace {title!r}: no answer after {MAX_UNKNOWN_ATTEMPTS} tries")


def _post(run: Run, create: WorkspaceCreate, role: str) -> dict[str, Any]:
    values: Mapping[str, Any] = create.after
    body = {
        **{k: v for k, v in values.items() if v is not None},
        "creator_role": role,
        "external_reference": workspace_marker(run.stack),
    }
    return run.client.request(
        "POST",
        "/workspaces",
        params={"include": "external_references"},
        json={"workspace": body},
    )


def _names_creator_role(err: ValidationError) -> bool:
    named = [str(e.get("field", "")) + " " + str(e.get("message", "")) for e in err.errors]
    return any("creator_role" in text for text in named) or "creator_role" in err.message


def _titled(run: Run, keys: list[str]) -> dict[str, LiveWorkspace]:
    run.count_extra()
    found = {k: find_workspace(run.client, k) for k in keys}
    return {k: w for k, w in found.items() if w is not None}


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


def _write_marker(run: Run, workspace_id: str) -> None:
    """create_or_update the marker (one reference per subject and service name: re-sending
    it after a lost answer writes the same reference again, never a second one)."""
    body = {"subject_type": "Workspace", "subject_id": int(workspace_id)}
    body.update(workspace_marker(run.stack))
    run.count_extra()
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        try:
            run.client.post(
                "/external_references/create_or_update", json={"external_reference": body}
            )
            return
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
