"""The envelope every planned change shares, and the words it is made of.

A change type is a frozen dataclass deriving from `Change`, one per (kind, action): its
`kind` and `action` are fixed on the class, its own fields carry exactly what that change
needs (the modules of this package, one per kind, say what). `wave` orders execution (see
WAVES); inside a wave, changes are sorted deterministically (kxplan.planner.order). `path`
is display only: the key path from the top-level task ("discovery/kickoff").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

if TYPE_CHECKING:
    from kxplan.changes.codec import JsonObject


class Action(enum.StrEnum):
    """What a change does. `symbol` is what the text renderer prints."""

    CREATE = "create"
    UPDATE = "update"
    MOVE = "move"
    DELETE = "delete"
    ADOPT = "adopt"
    REPLACE = "replace"
    KEEP = "keep"
    BLOCKED = "blocked"
    WARN = "warn"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def makes_calls(self) -> bool:
        return self not in (Action.KEEP, Action.BLOCKED, Action.WARN)


_SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.MOVE: "→",
    Action.DELETE: "-",
    Action.ADOPT: "=",
    Action.REPLACE: "±",
    Action.KEEP: "#",
    Action.BLOCKED: "!",
    Action.WARN: "!",
}


class Kind(enum.StrEnum):
    STATUS_SET = "status_set"
    STATUS = "status"
    WORKSPACE = "workspace"
    TASK = "task"
    CHECKLIST_ITEM = "checklist_item"
    POST = "post"
    NOTE = "note"


class ReasonCode(enum.StrEnum):
    """Why a change is planned, for programs: the machine-readable twin of `reason` (which
    is for people and may say more). "" when the change needs no explanation."""

    NONE = ""
    # tasks
    SUSPECTED_RENAME = "suspected_rename"  # create that looks like a kept/deleted task
    ADOPTED = "adopted"  # an unmanaged task gets this stack's marker
    KEY_RENAMED = "key_renamed"  # renamed_from: the marker is rewritten
    RELEASED = "released"  # protect removed
    SET_SWITCH = "set_switch"  # the status is set again after a status set switch
    FIELD_ORIGIN = "field_origin"  # the memory tells where a difference comes from
    NEW_PARENT_FIRST = "new_parent_first"  # move under a parent created in this plan
    REMOVED_KEPT = "removed_kept"  # not in the manifest, kept (no --prune)
    PRUNED = "pruned"  # not in the manifest, deleted (--prune)
    PROTECTED = "protected"  # would be deleted, but it or a subtask is protected
    DELETE_BLOCKED = "delete_blocked"  # would be deleted, but something stops it
    DUPLICATE_COPY = "duplicate_copy"  # a copy carrying another task's marker
    # statuses and status sets
    NEW_SET_DEFAULT = "new_set_default"  # a default status of a set created in this plan
    CATEGORY_CHANGED = "category_changed"  # category is immutable: replaced
    SHARED_SET = "shared_set"  # the set is used by other workspaces
    USE_SET = "use_set"  # the workspace is switched to the manifest's set
    # posts
    EDITED_IN_KANTATA = "edited_in_kantata"  # a post kxplan wrote was edited by a person
    # notes
    UNMANAGED = "unmanaged"  # a live task without a kxplan marker
    DUPLICATES = "duplicates"  # stories carrying the marker of another task
    ROLLED_UP = "rolled_up"  # Kantata rolls the field up from the subtasks
    ORDER_DRIFT = "order_drift"  # sibling order differs from the manifest
    NOTE = "note"  # any other observation


#: Execution waves, in order (docs/apply.md).
WAVES: tuple[str, ...] = (
    "status_set",  # 0: set and statuses
    "workspace",  # 1: the workspace's set assignment
    "create",  # 2: task creates (by depth inside the wave) and adoptions
    "update",  # 3: task updates and moves
    "checklist",  # 4: checklist items
    "delete",  # 5: deletes, children first (statuses after tasks)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One planned change: the envelope. Subclasses fix `kind` and `action` and add what
    that change carries. `key` is the identity inside its owner, `parent` names the owner,
    `id` is the live id when the object exists."""

    kind: ClassVar[Kind]
    action: ClassVar[Action]

    key: str
    id: str | None = None
    parent: str | None = None
    reason: str = ""
    code: ReasonCode = ReasonCode.NONE
    wave: int = 0
    depth: int = 0
    path: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields an update changes (() for every other change)."""
        return ()

    def to_json(self) -> JsonObject:
        """This change as saved plans and `--format json` hold it (kxplan.changes.codec)."""
        from kxplan.changes.codec import to_json

        return to_json(self)


C = TypeVar("C", bound=Change)


def expect(change: Change, cls: type[C]) -> C:
    """`change` as a `cls`: the handlers' narrowing of what their table entry hands them. A
    change of another type there is a bug in kxplan, named."""
    if not isinstance(change, cls):
        raise TypeError(
            f"kxplan bug: {type(change).__name__} {change.key!r} given where a {cls.__name__} "
            "is handled"
        )
    return change
