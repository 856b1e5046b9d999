"""Notes (kind `note`, action `warn`): informational, never a call. `reason` says what,
`code` what sort: drift Kantata makes itself (roll-ups, positions), unmanaged tasks
(ReasonCode.UNMANAGED), order drift, duplicate markers.

- `Note`: key names what it is about (a task key or title, or DUPLICATES_KEY); the duplicate
  note carries before {"copies": [...]}, every story that carries another task's marker
  (kxplan.planner.duplicates.Copy).
"""

from dataclasses import dataclass
from typing import ClassVar, TypedDict

from kxplan.changes.base import Action, Change, Kind


class CopyJson(TypedDict):
    key: str
    id: str
    task_id: str
    title: str
    work: list[str]
    deleted: bool


class Copies(TypedDict):
    copies: list[CopyJson]


@dataclass(frozen=True, slots=True, kw_only=True)
class Note(Change):
    kind: ClassVar[Kind] = Kind.NOTE
    action: ClassVar[Action] = Action.WARN
    before: Copies | None = None


NOTE_CHANGES: tuple[type[Change], ...] = (Note,)
