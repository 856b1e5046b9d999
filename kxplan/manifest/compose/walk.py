"""The walk that ties composition together: a task list is expanded item by item onto the
output, each node placed where it was written.

For one item, `for_each` is expanded first (one copy per item), then `when` (so
`when: ${each.enabled}` works), then the item is an include (the included file's tasks,
walked the same way) or a task (its `${...}` substituted, its children walked).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kxplan.jsontypes import JsonObject, JsonValue
from kxplan.manifest.compose.for_each import copies, for_each_items
from kxplan.manifest.compose.includes import OpenFiles, read_include
from kxplan.manifest.compose.record import Record, Spot
from kxplan.manifest.compose.scope import Scope
from kxplan.manifest.compose.when import when_holds
from kxplan.manifest.yaml_loader import YamlPath


@dataclass(frozen=True, slots=True)
class Into:
    """Where expanded items go: the output list, and its path in the composed document."""

    path: YamlPath
    items: list[JsonValue]


class Walk:
    """Expands task lists, recording places and problems in `record`."""

    def __init__(self, record: Record) -> None:
        self.record = record

    def items(
        self, spot: Spot, items: list[JsonValue], into: Into, scope: Scope, files: OpenFiles
    ) -> None:
        """Expand the task list `items` (at `spot`) onto `into`."""
        self.record.places.setdefault(into.path, (spot.src, *spot.point()))
        for index, raw in enumerate(items):
            self.item(spot.at(index), raw, into, scope, files)

    def item(self, spot: Spot, raw: JsonValue, into: Into, scope: Scope, files: OpenFiles) -> None:
        """One item, or one copy of it per for_each item (each seeing its `${each}`)."""
        if not isinstance(raw, dict) or "for_each" not in raw:
            self.one(spot, raw, into, scope, files)
            return
        items = for_each_items(self.record, spot.at("for_each"), raw["for_each"], scope)
        rest = {k: v for k, v in raw.items() if k != "for_each"}
        for src, each in copies(spot.at("for_each"), items or ()):
            self.one(replace(spot, src=src), rest, into, replace(scope, each=each), files)

    def one(self, spot: Spot, raw: JsonValue, into: Into, scope: Scope, files: OpenFiles) -> None:
        """An item after for_each: nothing when its `when` is false, else an include or a task."""
        if isinstance(raw, dict) and "when" in raw:
            if not when_holds(self.record, spot.at("when"), raw["when"], scope):
                return
            raw = {k: v for k, v in raw.items() if k != "when"}
        if isinstance(raw, dict) and "include" in raw:
            included = read_include(self.record, spot, raw, scope, files)
            if included is not None:
                top = Spot(included.doc, included.src, ("tasks",))
                self.items(top, included.tasks, into, included.scope, included.files)
            return
        self.record.count_task(spot)
        self.task(spot, raw, into, scope, files)

    def task(self, spot: Spot, raw: JsonValue, into: Into, scope: Scope, files: OpenFiles) -> None:
        """A task: its values substituted and placed, its children walked as a task list."""
        path = (*into.path, len(into.items))
        if not isinstance(raw, dict):  # not a task: the schema pass says so, at its place
            into.items.append(self.value(spot, raw, path, scope))
            return
        self.record.place(spot, path)
        task: JsonObject = {}
        for key, value in raw.items():
            self.record.place_key(spot.at(key), (*path, key))
            if key == "children" and isinstance(value, list):
                children: list[JsonValue] = []
                self.items(spot.at(key), value, Into((*path, key), children), scope, files)
                task[key] = children
            else:
                task[key] = self.value(spot.at(key), value, (*path, key), scope)
        into.items.append(task)

    def value(self, spot: Spot, value: JsonValue, path: YamlPath, scope: Scope) -> JsonValue:
        """`value` with `${...}` substituted, every node placed at `path` and below."""
        self.record.place(spot, path)
        if isinstance(value, dict):
            result: JsonObject = {}
            for key, sub in value.items():
                self.record.place_key(spot.at(key), (*path, key))
                result[key] = self.value(spot.at(key), sub, (*path, key), scope)
            return result
        if isinstance(value, list):
            return [self.value(spot.at(i), v, (*path, i), scope) for i, v in enumerate(value)]
        return self.record.text(spot, value, scope)
