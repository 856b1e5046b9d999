"""Task changes (kind `task`; key = task key, parent = parent task key or None).

- `TaskCreate`: `after` is a `NewTask`: "title", "type", "parent", "parent_id", and every
  field the manifest sets ("description", "start_date", "due_date", "priority", "status",
  "percentage_complete", "tags", "checklist": [{"name", "completed"}], "archived"), plus
  "protect": True when the marker is written protected. `parent_id` is the live id of an
  existing parent, else None (the parent is created earlier in this plan: resolve `parent`
  through the ids the creates returned).
- `TaskAdopt`: like an update, plus after["key"]: write this stack's marker on an unmanaged
  task (`fields` starts with "key"; before["key"] is None).
- `TaskUpdate`: `fields` ⊆ {"key"} ∪ TASK_FIELDS − {"parent", "checklist"}; `before` /
  `after` hold the old and new values of those fields. `origin` (field -> "kantata" |
  "manifest" | "both") says where each difference comes from when the task's memory tells
  (kxplan.planner.memory). "key" (renamed_from): rewrite the marker's service_model_ref.
  "protect": rewrite the marker's flag (external_status "protected"/"managed");
  after["marker"] = {"stack", "key"} names the marker to write. When the key is renamed or
  adopted too, the flag comes as a second update (one PUT: merged).
- `TaskMove`: before/after {"parent", "parent_id"} (parent_id None when the new parent is
  created in this plan).
- `TaskDelete`: before {"title", "parent"} (a duplicate copy: {"title", "copy_of"}, the id
  of the task it copies); deletes are ordered children first.
- `TaskKeep`: removed from the manifest but not deleted (no --prune); no call.
- `TaskBlocked`: would be deleted, but it (or a subtask at any depth) carries the protected
  flag on its marker, or something else stops it (`reason` says what); no call.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, NotRequired, TypedDict

from kxplan.changes.base import Action, Change, Kind

Origin = Literal["kantata", "manifest", "both"]


class ItemSpec(TypedDict):
    """A checklist item a task is created with."""

    name: str
    completed: bool


class MarkerRef(TypedDict):
    """The marker a protect update rewrites."""

    stack: str
    key: str


class _FieldValues(TypedDict, total=False):
    description: str | None
    start_date: str | None
    due_date: str | None
    priority: str | None
    status: str | None
    percentage_complete: int | None
    tags: list[str]
    checklist: list[ItemSpec]
    archived: bool | None
    protect: bool


class NewTask(_FieldValues):
    """What a task is created with (only the fields the manifest sets)."""

    title: str
    type: str
    parent: str | None
    parent_id: str | None


class TaskValues(_FieldValues, total=False):
    """Old or new values of the fields a task update changes."""

    key: str | None
    title: str
    type: str
    marker: MarkerRef


class Parentage(TypedDict):
    """Where a task sits: parent key and its live id (None: created in this plan)."""

    parent: str | None
    parent_id: str | None


class GoneTask(TypedDict):
    """A live task the plan deletes, keeps or blocks."""

    title: str
    parent: NotRequired[str | None]
    copy_of: NotRequired[str]  # a duplicate copy: the id of the task it copies


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCreate(Change):
    kind: ClassVar[Kind] = Kind.TASK
    action: ClassVar[Action] = Action.CREATE
    after: NewTask


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFieldChange(Change):
    """What a task update and an adoption share (the PUT that rewrites fields and marker)."""

    before: TaskValues
    after: TaskValues
    fields: tuple[str, ...] = ()
    #: field -> where the difference comes from, when kxplan's memory tells.
    origin: Mapping[str, Origin] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUpdate(TaskFieldChange):
    kind: ClassVar[Kind] = Kind.TASK
    action: ClassVar[Action] = Action.UPDATE


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskAdopt(TaskFieldChange):
    kind: ClassVar[Kind] = Kind.TASK
    action: ClassVar[Action] = Action.ADOPT


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskMove(Change):
    kind: ClassVar[Kind] = Kind.TASK
    action: ClassVar[Action] = Action.MOVE
    before: Parentage
    after: Parentage
    fields: tuple[str, ...] = ("parent",)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDelete(Change):
    kind: ClassVar[Kind] = Kind.TASK
    action: ClassVar[Action] = Action.DELETE
    before: GoneTask


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskKeep(Change):
    kind: ClassVar[Kind] = Kind.TASK
    action: ClassVar[Action] = Action.KEEP
    before: GoneTask


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskBlocked(Change):
    kind: ClassVar[Kind] = Kind.TASK
    action: ClassVar[Action] = Action.BLOCKED
    before: GoneTask


TASK_CHANGES: tuple[type[Change], ...] = (
    TaskCreate,
    TaskAdopt,
    TaskUpdate,
    TaskMove,
    TaskDelete,
    TaskKeep,
    TaskBlocked,
)


def set_field(values: NewTask | TaskValues, name: str, value: object) -> None:
    """values[name] = value for a field named by data (kxplan.model.TASK_FIELDS)."""
    values[name] = value  # type: ignore[literal-required]
