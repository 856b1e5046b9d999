"""kxplan's memory of what it wrote on a task, kept on the task's own marker (no state file).

The marker's `external_message` (the external reference's free-text "optional message about
the external object", docs/apply.md "The marker's memory") holds, compactly:

    kx1 t=1a2b d=9f0e u=77c1 g=03aa c=5e1f0a,b2c3d4

- `kx1` names this format (a message without it is no memory: the task was written before
  kxplan kept one, or by something else);
- `<code>=<4 hex>`: for each managed field kxplan last wrote, a digest of the value it wrote
  (normalised as the planner compares, so a cosmetic difference is no difference);
- `c=`: 6-hex digests of the names of the checklist items kxplan created (or manages).

Kantata documents no length limit for `external_message`; kxplan keeps the text under
MAX_LENGTH (255, the usual limit of a Kantata string column). When the item digests do not
fit, the `c=` part is written as `c=*` ("too many to remember"): the task is then treated like
one with no checklist memory (conservative: nothing unknown is deleted without --prune).

Pure: no I/O. `field_origin` / `field_origins` tell "changed in Kantata since kxplan wrote it"
from "changed in the manifest" (used by the planner and by `kxplan drift`; pure).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kxplan.planner.normalize import norm_date, norm_text, unique_tags

#: The format tag every memory starts with.
TAG = "kx1"

#: Longest memory text kxplan writes.
MAX_LENGTH = 255

#: Managed task field -> its one-letter code in the memory.
FIELD_CODES: dict[str, str] = {
    "title": "t",
    "type": "y",
    "description": "d",
    "start_date": "s",
    "due_date": "u",
    "priority": "p",
    "status": "a",
    "percentage_complete": "n",
    "tags": "g",
    "archived": "r",
}
_FIELDS_BY_CODE = {code: name for name, code in FIELD_CODES.items()}

#: Where a difference between the manifest and Kantata comes from.
Origin = Literal["kantata", "manifest", "both"]


@dataclass(frozen=True, slots=True)
class Memory:
    """What kxplan last wrote on a task: field -> value digest, and the digests of the names
    of its checklist items (`items` None: not known, treat every item as of unknown origin)."""

    fields: Mapping[str, str] = field(default_factory=dict)
    items: frozenset[str] | None = frozenset()

    def created_item(self, name: str) -> bool | None:
        """Whether kxplan created (manages) the item `name`; None when it cannot tell."""
        if self.items is None:
            return None
        return item_digest(name) in self.items


def canonical(name: str, value: Any) -> str:
    """`value` of field `name` as text, under the planner's comparison rules
    (kxplan.planner.normalize.same): equal values give equal text."""
    if name in ("title", "description"):
        return norm_text(value)
    if name in ("start_date", "due_date"):
        return norm_date(value) or ""
    if name == "tags":
        return json.dumps(sorted({t.casefold() for t in unique_tags(value or ())}))
    if name in ("priority", "type"):
        return str(value or "").casefold()
    return json.dumps(value, sort_keys=True)


def value_digest(name: str, value: Any) -> str:
    """4 hex digits for a field value (the memory only needs to tell values apart)."""
    return _hex(f"{name}\0{canonical(name, value)}", 4)


def item_digest(name: str) -> str:
    """6 hex digits for a checklist item name."""
    return _hex(name, 6)


def _hex(text: str, width: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:width]


def remember(values: Mapping[str, Any], items: Iterable[str]) -> Memory:
    """The memory of writing `values` (field -> value) and managing the items named `items`."""
    fields = {n: value_digest(n, v) for n, v in values.items() if n in FIELD_CODES}
    return Memory(fields, frozenset(item_digest(i) for i in items))


def encode(memory: Memory) -> str:
    """The marker text for `memory` (at most MAX_LENGTH characters)."""
    parts = [TAG]
    parts += [f"{FIELD_CODES[n]}={memory.fields[n]}" for n in FIELD_CODES if n in memory.fields]
    head = " ".join(parts)
    if memory.items is None:
        return f"{head} c=*"
    items = "c=" + ",".join(sorted(memory.items))
    if len(head) + 1 + len(items) > MAX_LENGTH:
        return f"{head} c=*"
    return f"{head} {items}"


def decode(text: object) -> Memory | None:
    """The memory in a marker's `external_message`; None when it holds none (no text, or
    text this kxplan did not write). Unknown parts are ignored (a newer kxplan may add some)."""
    words = str(text or "").split()
    if not words or words[0] != TAG:
        return None
    fields: dict[str, str] = {}
    items: frozenset[str] | None = frozenset()
    for word in words[1:]:
        code, _, value = word.partition("=")
        if code == "c":
            items = None if value == "*" else frozenset(v for v in value.split(",") if v)
        elif code in _FIELDS_BY_CODE:
            fields[_FIELDS_BY_CODE[code]] = value
    return Memory(fields, items)


def field_origin(name: str, desired: Any, live: Any, memory: Memory | None) -> Origin | None:
    """Where a difference in field `name` comes from: "kantata" (changed in Kantata since
    kxplan wrote it; the manifest still says what was written), "manifest" (the manifest
    changed; Kantata still holds what was written), "both"; None when kxplan has no memory of
    the field (or the values do not differ)."""
    if memory is None or name not in memory.fields:
        return None
    written = memory.fields[name]
    live_moved = value_digest(name, live) != written
    manifest_moved = value_digest(name, desired) != written
    if live_moved and manifest_moved:
        return "both"
    if live_moved:
        return "kantata"
    if manifest_moved:
        return "manifest"
    return None


def field_origins(
    desired: Mapping[str, Any], live: Mapping[str, Any], memory: Memory | None
) -> dict[str, Origin]:
    """field -> origin for every field of `desired` whose origin is known (see field_origin)."""
    out: dict[str, Origin] = {}
    for name, want in desired.items():
        origin = field_origin(name, want, live.get(name), memory)
        if origin is not None:
            out[name] = origin
    return out


#: How each origin reads in a change's reason.
ORIGIN_TEXT: dict[str, str] = {
    "kantata": "changed in Kantata since kxplan wrote it",
    "manifest": "changed in the manifest",
    "both": "changed in Kantata and in the manifest",
}


def origin_reason(origins: Mapping[str, str]) -> str:
    """Human text for a change's origins: "changed in Kantata since kxplan wrote it: due_date"."""
    groups: dict[str, list[str]] = {}
    for name, origin in origins.items():
        groups.setdefault(origin, []).append(name)
    return "; ".join(
        f"{ORIGIN_TEXT[o]}: {', '.join(groups[o])}" for o in ORIGIN_TEXT if o in groups
    )
