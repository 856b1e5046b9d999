"""The workspace itself (docs/manifest.md, "The workspace mapping form"): created when it
does not exist yet, its fields kept as the manifest's mapping sets them.

Pure: `plan_workspace(manifest, live)` -> the steps. A live workspace with id "" does not
exist: the caller (kxplan.cli.plan_options) only plans against one when creating it is
allowed (`create: true`, or `--sandbox`), so here it is always a create. Only the fields the
mapping sets are compared (description, start_date, due_date; title when the mapping names
the workspace by id): a field the manifest leaves out is Kantata's, never changed.

**Memory** (docs/manifest.md, "The workspace's memory"): what kxplan last wrote on the
workspace is kept on its marker, in `external_message`, in the shape of a task's memory
(kxplan.planner.memory: `kx1 t=… d=… s=… u=…`, a digest per field), written by the create
and by every `~ workspace` field update. With it a difference says where it comes from
(`workspace_origins`: "kantata" = changed in Kantata since kxplan wrote it, "manifest",
"both"), for the plan's reason and for `kxplan drift`. Public, pure:

    workspace_memory(live, stack)            -> Memory | None (what the marker remembers)
    workspace_origins(desired, live, stack)  -> {field: origin} (where differences come from)
    workspace_memory_text(values)            -> the text that remembers writing `values`
    remembered(desired, live)                -> the values a write's memory holds
    desired_values(desired)                  -> {field: value} the mapping manages
"""

from __future__ import annotations

from collections.abc import Mapping

from kxplan.changes import stages
from kxplan.changes.base import ReasonCode
from kxplan.changes.workspace import (
    WORKSPACE_FIELDS,
    NewWorkspace,
    WorkspaceCreate,
    WorkspaceUpdate,
    WorkspaceValues,
)
from kxplan.model import DesiredWorkspace, LiveState, LiveWorkspace, Manifest
from kxplan.planner.memory import (
    FIELD_CODES,
    TAG,
    Memory,
    Origin,
    decode,
    field_origins,
    origin_reason,
    value_digest,
)
from kxplan.planner.order import Step, place

#: Sorts the workspace's own change before every status set change of wave 0.


def plan_workspace(manifest: Manifest, live: LiveState) -> list[Step]:
    """`+ workspace` when it does not exist, `~ workspace` when a field it manages differs."""
    desired = manifest.desired_workspace
    if not live.workspace.id:
        return [place(stages.WORKSPACE_CREATE, _create(live.workspace.title, desired))]
    if desired is None:
        return []
    update = _update(desired, live.workspace, manifest.name)
    return [] if update is None else [place(stages.WORKSPACE_FIELDS, update)]


def desired_values(desired: DesiredWorkspace | None) -> dict[str, str | None]:
    """The workspace fields the mapping sets, with their values (title only when the
    mapping names the workspace by id: a title-named workspace is found by it)."""
    if desired is None:
        return {}
    values: dict[str, str | None] = {}
    if desired.id is not None and desired.title:
        values["title"] = desired.title
    for name in ("description", "start_date", "due_date"):
        if name in desired.fields:
            values[name] = getattr(desired, name)
    return values


def workspace_memory(live: LiveWorkspace, stack: str) -> Memory | None:
    """What `stack`'s workspace marker on `live` remembers kxplan wrote (field -> value
    digest, as a task's memory); None when the marker holds no memory."""
    return decode(live.message_for(stack))


def workspace_memory_text(values: Mapping[str, str | None]) -> str:
    """The memory text of writing `values` (field -> value; only workspace fields count),
    without the checklist part a task's memory has (a workspace has no checklist)."""
    digests = {n: value_digest(n, v) for n, v in values.items() if n in WORKSPACE_FIELDS}
    return " ".join([TAG, *(f"{FIELD_CODES[n]}={digests[n]}" for n in FIELD_CODES if n in digests)])


def remembered(desired: DesiredWorkspace | None, live: LiveWorkspace) -> dict[str, str | None]:
    """What the memory of a write holds: the fields the mapping manages, and always the
    title the workspace is known by (for a workspace named by title it is its identity,
    not a managed field, and lets an apply see that a person renamed a workspace it made:
    kxplan.apply._workspace)."""
    return {"title": live.title, **desired_values(desired)}


def workspace_origins(
    desired: DesiredWorkspace | None, live: LiveWorkspace, stack: str
) -> dict[str, Origin]:
    """field -> where the difference between the mapping and Kantata comes from, for each
    managed field whose origin the memory tells (see kxplan.planner.memory.field_origin):
    "kantata" (changed in Kantata since kxplan wrote it), "manifest" or "both"."""
    wanted = desired_values(desired)
    have = {name: getattr(live, name) for name in wanted}
    return field_origins(wanted, have, workspace_memory(live, stack))


def _create(title: str, desired: DesiredWorkspace | None) -> WorkspaceCreate:
    after: NewWorkspace = {"title": title}
    for name, v in desired_values(desired).items():
        if name != "title":
            after[name] = v  # type: ignore[literal-required]
    return WorkspaceCreate(key=title, path=title, after=after)


def _update(desired: DesiredWorkspace, live: LiveWorkspace, stack: str) -> WorkspaceUpdate | None:
    before: WorkspaceValues = {}
    after: WorkspaceValues = {}
    if stack not in live.marked:
        before["marker"], after["marker"] = None, stack
    for name, v in desired_values(desired).items():
        have = getattr(live, name)
        if _same(have, v):
            continue
        before[name] = have  # type: ignore[literal-required]
        after[name] = v  # type: ignore[literal-required]
    if not after:
        return None
    fields = tuple(n for n in (*WORKSPACE_FIELDS, "marker") if n in after)
    origin = {n: o for n, o in workspace_origins(desired, live, stack).items() if n in after}
    after["memory"] = workspace_memory_text(remembered(desired, live))
    return WorkspaceUpdate(
        key=live.id,
        id=live.id,
        path=live.title,
        before=before,
        after=after,
        fields=fields,
        reason=_why(fields, origin),
        code=ReasonCode.FIELD_ORIGIN if origin else ReasonCode.NONE,
        origin=origin,
    )


def _why(fields: tuple[str, ...], origin: Mapping[str, str]) -> str:
    if fields == ("marker",):
        return "the workspace the manifest manages gets this stack's workspace marker"
    why = "the manifest's workspace mapping sets these fields"
    return f"{why}; {origin_reason(origin)}" if origin else why


def _same(have: str | None, want: str | None) -> bool:
    """Kantata answers an unset description as "" or null: both are "no value"."""
    return (have or "") == (want or "")
