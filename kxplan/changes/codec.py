"""The JSON boundary of changes: saved plans and `--format json`.

`to_json(change)` / `from_json(data)`: the envelope (`action kind key id parent before after
fields reason code wave depth path`, plus `origin` on task updates that know it) and each
type's own `before` / `after` / `fields` / `origin`, looked up through REGISTRY by (kind,
action). Saved plans written before `code` existed still load (their code is worked out
from the reason).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import cast

from kxplan.changes.base import Action, Change, Kind, ReasonCode
from kxplan.changes.checklist import CHECKLIST_CHANGES
from kxplan.changes.note import NOTE_CHANGES
from kxplan.changes.post import POST_CHANGES
from kxplan.changes.status import STATUS_CHANGES
from kxplan.changes.task import TASK_CHANGES
from kxplan.changes.workspace import WORKSPACE_CHANGES
from kxplan.errors import ApplyError

JsonObject = dict[str, object]

#: Every change type, in the order the contract lists them.
CHANGE_TYPES: tuple[type[Change], ...] = (
    *STATUS_CHANGES,
    *WORKSPACE_CHANGES,
    *TASK_CHANGES,
    *CHECKLIST_CHANGES,
    *POST_CHANGES,
    *NOTE_CHANGES,
)

#: (kind, action) -> the change type.
REGISTRY: Mapping[tuple[Kind, Action], type[Change]] = {(t.kind, t.action): t for t in CHANGE_TYPES}

#: What a change type may add to the envelope (all JSON-ready already).
VALUE_FIELDS = ("before", "after", "fields", "origin")


def to_json(change: Change) -> JsonObject:
    origin = _plain(getattr(change, "origin", None))
    return {
        "action": change.action.value,
        "kind": change.kind.value,
        "key": change.key,
        "id": change.id,
        "parent": change.parent,
        "before": _plain(getattr(change, "before", None)),
        "after": _plain(getattr(change, "after", None)),
        "fields": list(change.fields),
        "reason": change.reason,
        "code": change.code.value,
        "wave": change.wave,
        "depth": change.depth,
        "path": change.path or change.key,
        **({"origin": origin} if origin else {}),
    }


def from_json(data: Mapping[str, object]) -> Change:
    kind, action = Kind(str(data["kind"])), Action(str(data["action"]))
    cls = REGISTRY.get((kind, action))
    if cls is None:
        raise ApplyError(
            f"this kxplan cannot apply {action.value} of a {kind.value} ({data.get('key')!r})",
            hint="upgrade kxplan, or plan again with the version that will apply",
        )
    reason = str(data.get("reason") or "")
    values: JsonObject = {
        "key": str(data["key"]),
        "id": _text(data.get("id")),
        "parent": _text(data.get("parent")),
        "reason": reason,
        "code": _code(data.get("code"), kind, reason),
        "wave": int(cast(int, data.get("wave", 0))),
        "depth": int(cast(int, data.get("depth", 0))),
        "path": str(data.get("path") or ""),
    }
    own = {f.name: f for f in dataclasses.fields(cls) if f.name in VALUE_FIELDS}
    for name, spec in own.items():
        given = data.get(name)
        if name == "fields":
            values[name] = tuple(str(f) for f in cast(list[str], given or ()))
        elif name == "origin":
            values[name] = dict(cast(dict[str, str], given or {}))
        elif given is None and spec.default is not None:
            values[name] = {}  # a value the type always has
        else:
            values[name] = given
    factory: Callable[..., Change] = cls
    return factory(**values)


def _plain(value: object) -> object:
    """A JSON-ready copy of a change's values (TypedDicts, tuples)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _code(value: object, kind: Kind, reason: str) -> ReasonCode:
    if value is not None:
        return ReasonCode(str(value))
    # Saved before codes existed: the only one anything reads back is "unmanaged".
    if kind is Kind.NOTE and reason.startswith("unmanaged:"):
        return ReasonCode.UNMANAGED
    return ReasonCode.NONE


def values_of(change: Change) -> tuple[Mapping[str, object], Mapping[str, object]]:
    """A change's `before` and `after` as plain mappings ({} when it has none), for what
    shows every field alike (the renderers)."""
    before, after = getattr(change, "before", None), getattr(change, "after", None)
    return (
        before if isinstance(before, Mapping) else {},
        after if isinstance(after, Mapping) else {},
    )
