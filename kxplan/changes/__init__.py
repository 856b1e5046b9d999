"""The plan's changes, typed: one frozen dataclass per (kind, action).

The contract between the planner (which builds them) and the applier and renderers (which
read them). One module per kind says what each of its changes carries:

- `base`: the envelope every change shares (`Change`: key, id, parent, reason, code, wave,
  depth, path), `Action`, `Kind`, `ReasonCode`, `WAVES`;
- `status` (status sets and statuses), `workspace`, `task`, `checklist` (checklist items),
  `note` (warnings, never a call);
- `codec`: the JSON boundary (saved plans, `--format json`), REGISTRY (kind, action) -> type.

A new kind of change (workspaces, posts, dependencies...) goes in a new module here,
`kxplan/changes/<kind>.py`, listed in `codec.CHANGE_TYPES`, plus its stage in the one
table of the apply order (`stages.STAGES`: wave, types, sort inside the stage) and that
stage's handler in the applier (`kxplan.apply._core.HANDLERS`), and its `kind` in
schemas/plan.schema.json
(tests/changes/test_change_types.py checks the schema against the types).
"""

from kxplan.changes.base import WAVES, Action, Change, Kind, ReasonCode
from kxplan.changes.checklist import (
    ChecklistItemCreate,
    ChecklistItemDelete,
    ChecklistItemKeep,
    ChecklistItemUpdate,
)
from kxplan.changes.note import Note
from kxplan.changes.post import PostCreate, PostDelete, PostKeep, PostUpdate
from kxplan.changes.status import (
    StatusCreate,
    StatusDelete,
    StatusKeep,
    StatusReplace,
    StatusSetCreate,
    StatusUpdate,
)
from kxplan.changes.task import (
    TaskAdopt,
    TaskBlocked,
    TaskCreate,
    TaskDelete,
    TaskKeep,
    TaskMove,
    TaskUpdate,
)
from kxplan.changes.workspace import WorkspaceCreate, WorkspaceUpdate

__all__ = [
    "WAVES",
    "Action",
    "Change",
    "ChecklistItemCreate",
    "ChecklistItemDelete",
    "ChecklistItemKeep",
    "ChecklistItemUpdate",
    "Kind",
    "Note",
    "PostCreate",
    "PostDelete",
    "PostKeep",
    "PostUpdate",
    "ReasonCode",
    "StatusCreate",
    "StatusDelete",
    "StatusKeep",
    "StatusReplace",
    "StatusSetCreate",
    "StatusUpdate",
    "TaskAdopt",
    "TaskBlocked",
    "TaskCreate",
    "TaskDelete",
    "TaskKeep",
    "TaskMove",
    "TaskUpdate",
    "WorkspaceCreate",
    "WorkspaceUpdate",
]
