"""Workspace changes (kind `workspace`; parent None).

- `WorkspaceCreate`: the workspace itself, created (`POST /workspaces`) because the
  manifest's `workspace:` mapping says `create: true` (or `--sandbox`) and no workspace has
  its title. key = path = the title; `after` is a `NewWorkspace`: "title", and each of
  "description", "start_date", "due_date" the manifest sets. Runs first (wave 0, before the
  status set): the rest of the plan is applied in the workspace it creates.
- `WorkspaceUpdate`: key = id = the workspace id. Either the status set assignment
  (fields == ("status_set",), before {"status_set": name | None}, after {"status_set":
  name}; wave 1), or the workspace's own fields the manifest's mapping sets (fields ⊆
  WORKSPACE_FIELDS, path = the title; `PUT /workspaces/{id}`; wave 0, before the status set),
  and "marker" (before None, after the stack) when it does not carry the stack's workspace
  marker yet (the PUT writes it: every field update carries it). A field update's `after`
  also holds "memory" (not a field): the text the PUT writes in the marker's
  `external_message`, kxplan's memory of every field the mapping manages
  (kxplan.planner.workspace); `origin` says, per field, where a difference comes from when
  that memory tells ("kantata", "manifest", "both"), as on task updates.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, NotRequired, TypedDict

from kxplan.changes.base import Action, Change, Kind

#: The workspace fields the mapping form manages (docs/manifest.md, "The workspace mapping form").
WORKSPACE_FIELDS = ("title", "description", "start_date", "due_date")


class NewWorkspace(TypedDict):
    title: str
    description: NotRequired[str | None]
    start_date: NotRequired[str | None]
    due_date: NotRequired[str | None]


class WorkspaceValues(TypedDict, total=False):
    status_set: str | None
    title: str | None
    description: str | None
    start_date: str | None
    due_date: str | None
    marker: str | None
    memory: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceCreate(Change):
    kind: ClassVar[Kind] = Kind.WORKSPACE
    action: ClassVar[Action] = Action.CREATE
    after: NewWorkspace


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceUpdate(Change):
    kind: ClassVar[Kind] = Kind.WORKSPACE
    action: ClassVar[Action] = Action.UPDATE
    before: WorkspaceValues
    after: WorkspaceValues
    fields: tuple[str, ...] = ("status_set",)
    #: field -> where the difference comes from, when kxplan's memory tells.
    origin: Mapping[str, Literal["kantata", "manifest", "both"]] = field(default_factory=dict)

    @property
    def assigns_set(self) -> bool:
        """The status set assignment (else: the workspace's own fields)."""
        return "status_set" in self.fields


WORKSPACE_CHANGES: tuple[type[Change], ...] = (WorkspaceCreate, WorkspaceUpdate)
