"""The workspace itself (docs/manifest.md, "The workspace mapping form"): created when it
does not exist yet, its fields kept as the manifest's mapping sets them.

Pure: `plan_workspace(manifest, live)` -> the steps. A live workspace with id "" does not
exist: the caller (kxplan.cli.plan_options) only plans against one when creating it is
allowed (`create: true`, or `--sandbox`), so here it is always a create. Only the fields the
mapping sets are compared (description, start_date, due_date; title when the mapping names
the workspace by id): a field the manifest leaves out is Kantata's, never changed.
"""

from __future__ import annotations

from kxplan.changes import stages
from kxplan.changes.workspace import (
    WORKSPACE_FIELDS,
    NewWorkspace,
    WorkspaceCreate,
    WorkspaceUpdate,
    WorkspaceValues,
)
from kxplan.model import DesiredWorkspace, LiveState, LiveWorkspace, Manifest
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
    return WorkspaceUpdate(
        key=live.id,
        id=live.id,
        path=live.title,
        before=before,
        after=after,
        fields=fields,
        reason=_why(after),
    )


def _why(after: WorkspaceValues) -> str:
    if set(after) == {"marker"}:
        return "the workspace the manifest manages gets this stack's workspace marker"
    return "the manifest's workspace mapping sets these fields"


def _same(have: str | None, want: str | None) -> bool:
    """Kantata answers an unset description as "" or null: both are "no value"."""
    return (have or "") == (want or "")
