"""Status set and status changes.

kind `status_set` (key = set name, parent None)
- `StatusSetCreate`: after {"name"}; POST /task_status_sets (the set comes with 4 defaults).

kind `status` (key = status name, parent = set name)
- `StatusCreate`: after {"name", "category", "position"}.
- `StatusUpdate`: `fields` ⊆ {"name", "position"}: rename (renamed_from) and/or reorder;
  `before` holds the old values and always the old "name". `id` is None when the status is
  one of the 4 defaults of a set created in this plan: find it by after["default_of"] (its
  category) in the new set; before {"name": None, "category"}.
- `StatusReplace`: before {"name", "category"}, after {"name", "category", "position",
  "task_ids"}: the ids of the tasks on the old status (category is immutable: the old status
  is deleted and a new one created; tasks are put back on the name).
- `StatusDelete`: before {"name", "category"}; wave 5, after the task deletes; only with
  prune, or a default of a set created in this plan (before {"name": None, "category",
  "default_of"}).
- `StatusKeep`: a status the manifest dropped, without prune; no call.
"""

from dataclasses import dataclass
from typing import ClassVar, NotRequired, TypedDict

from kxplan.changes.base import Action, Change, Kind


class SetName(TypedDict):
    name: str


class StatusValues(TypedDict):
    """A status as the manifest places it."""

    name: str
    category: str
    position: int


class StatusBefore(TypedDict):
    """What a status update read: the old name (None: a new set's default), and the old
    values of the fields it changes."""

    name: str | None
    category: NotRequired[str]
    position: NotRequired[int]


class StatusFields(TypedDict, total=False):
    """New values of what a status update changes."""

    name: str
    category: str
    position: int
    default_of: str  # a default status of a set created in this plan: its category


class Replacement(StatusValues):
    task_ids: list[str]


class LiveStatusNames(TypedDict):
    """A live status the plan deletes or keeps (name None: a new set's default)."""

    name: str | None
    category: str
    default_of: NotRequired[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusSetCreate(Change):
    kind: ClassVar[Kind] = Kind.STATUS_SET
    action: ClassVar[Action] = Action.CREATE
    after: SetName


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusCreate(Change):
    kind: ClassVar[Kind] = Kind.STATUS
    action: ClassVar[Action] = Action.CREATE
    after: StatusValues


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate(Change):
    kind: ClassVar[Kind] = Kind.STATUS
    action: ClassVar[Action] = Action.UPDATE
    before: StatusBefore
    after: StatusFields
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReplace(Change):
    kind: ClassVar[Kind] = Kind.STATUS
    action: ClassVar[Action] = Action.REPLACE
    before: LiveStatusNames
    after: Replacement
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusDelete(Change):
    kind: ClassVar[Kind] = Kind.STATUS
    action: ClassVar[Action] = Action.DELETE
    before: LiveStatusNames


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusKeep(Change):
    kind: ClassVar[Kind] = Kind.STATUS
    action: ClassVar[Action] = Action.KEEP
    before: LiveStatusNames


STATUS_CHANGES: tuple[type[Change], ...] = (
    StatusSetCreate,
    StatusCreate,
    StatusUpdate,
    StatusReplace,
    StatusDelete,
    StatusKeep,
)
