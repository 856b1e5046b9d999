"""Checklist item changes (kind `checklist_item`; key = item name, parent = task key; only
for tasks that exist). All of them, deletes included, run in wave 4: deletes, then updates,
then creates.

- `ChecklistItemCreate`: after {"name", "completed", "position", "task_id"}: `id` is None
  and task_id is the owning task's live id.
- `ChecklistItemUpdate`: `fields` ⊆ {"name", "position", "completed"}, before/after hold the
  old and new values.
- `ChecklistItemDelete`: before {"name", "completed"}: only items kxplan created (or, with no
  memory, of unknown origin), and only with prune; people's items are never planned.
- `ChecklistItemKeep`: an item kxplan created (or of unknown origin) the manifest dropped; no
  call.
"""

from dataclasses import dataclass
from typing import ClassVar, TypedDict

from kxplan.changes.base import Action, Change, Kind


class NewItem(TypedDict):
    name: str
    completed: bool
    position: int
    task_id: str


class ItemFields(TypedDict, total=False):
    name: str
    position: int
    completed: bool


class LiveItem(TypedDict):
    name: str
    completed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecklistItemCreate(Change):
    kind: ClassVar[Kind] = Kind.CHECKLIST_ITEM
    action: ClassVar[Action] = Action.CREATE
    after: NewItem


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecklistItemUpdate(Change):
    kind: ClassVar[Kind] = Kind.CHECKLIST_ITEM
    action: ClassVar[Action] = Action.UPDATE
    before: ItemFields
    after: ItemFields
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecklistItemDelete(Change):
    kind: ClassVar[Kind] = Kind.CHECKLIST_ITEM
    action: ClassVar[Action] = Action.DELETE
    before: LiveItem


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecklistItemKeep(Change):
    kind: ClassVar[Kind] = Kind.CHECKLIST_ITEM
    action: ClassVar[Action] = Action.KEEP
    before: LiveItem


CHECKLIST_CHANGES: tuple[type[Change], ...] = (
    ChecklistItemCreate,
    ChecklistItemUpdate,
    ChecklistItemDelete,
    ChecklistItemKeep,
)
