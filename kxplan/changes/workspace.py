"""Workspace changes (kind `workspace`; key = workspace id, parent None).

- `WorkspaceUpdate`: the workspace's status set assignment. fields == ("status_set",),
  before {"status_set": name | None}, after {"status_set": name}.
"""

from dataclasses import dataclass
from typing import ClassVar, TypedDict

from kxplan.changes.base import Action, Change, Kind


class SetAssignment(TypedDict):
    status_set: str | None


class NewSetAssignment(TypedDict):
    status_set: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceUpdate(Change):
    kind: ClassVar[Kind] = Kind.WORKSPACE
    action: ClassVar[Action] = Action.UPDATE
    before: SetAssignment
    after: NewSetAssignment
    fields: tuple[str, ...] = ("status_set",)


WORKSPACE_CHANGES: tuple[type[Change], ...] = (WorkspaceUpdate,)
