"""What an expansion records besides the data: where each node of the result was written
(its `Place`: the file, the include/for_each chain, line and column) and every problem,
each reported in the file that causes it."""

from __future__ import annotations

from dataclasses import dataclass

from kxplan.errors import Problem
from kxplan.jsontypes import JsonValue
from kxplan.manifest.compose.each import substitute_each
from kxplan.manifest.compose.scope import Scope
from kxplan.manifest.vars import VarError
from kxplan.manifest.yaml_loader import Document, Place, Point, Source, YamlPath, at


@dataclass(frozen=True, slots=True)
class Spot:
    """A node being read: its document, the source that reached it (the same file included
    twice, or copied by for_each, is two sources), and its path in the document."""

    doc: Document
    src: Source
    path: YamlPath

    def at(self, *parts: str | int) -> Spot:
        """The node below this one at `parts`."""
        return Spot(self.doc, self.src, (*self.path, *parts))

    def point(self) -> Point:
        """Where the node (or its nearest located ancestor) was written."""
        path = self.path
        while path not in self.doc.locs and path:
            path = path[:-1]
        return self.doc.locs.get(path, (1, 1))

    def key_point(self) -> Point:
        """Where the mapping key of the node was written (else the node itself)."""
        return self.doc.key_locs.get(self.path) or self.point()


class TooBig(Exception):
    """The expansion passed its task limit; its problem is recorded."""


class Record:
    """The places and problems of one composed document. `top` is the manifest's own file
    (an undefined variable in an included file gets a hint about what it sees); `limit`
    is the most tasks the expansion may produce."""

    def __init__(self, top: str, limit: int) -> None:
        self.top = top
        self.limit = limit
        self.places: dict[YamlPath, Place] = {}
        self.key_places: dict[YamlPath, Place] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def problem(self, spot: Spot, message: str, hint: str | None = None) -> None:
        """A problem at the node of `spot`."""
        self.problems.append(at(spot.src.location(spot.point()), message, hint))

    def key_problem(self, spot: Spot, message: str, hint: str | None = None) -> None:
        """A problem at the mapping key of `spot` (a misspelt field, a bad name)."""
        self.problems.append(at(spot.src.location(spot.key_point()), message, hint))

    def place(self, spot: Spot, path: YamlPath) -> None:
        """The result's node at `path` was written at `spot`."""
        self.places[path] = (spot.src, *spot.point())

    def place_key(self, spot: Spot, path: YamlPath) -> None:
        """The result's key at `path` was written at the key of `spot` (if it has one)."""
        point = spot.doc.key_locs.get(spot.path)
        if point is not None:
            self.key_places[path] = (spot.src, *point)

    def keep_outside_tasks(self, doc: Document) -> None:
        """Everything but the task items stays where the manifest wrote it."""
        src = Source(doc.file)
        for path, point in doc.locs.items():
            if not path or path[0] != "tasks" or len(path) == 1:
                self.places[path] = (src, *point)
        for path, point in doc.key_locs.items():
            if path[0] != "tasks" or len(path) == 1:
                self.key_places[path] = (src, *point)

    def count_task(self, spot: Spot) -> None:
        """One more task; past the limit, one problem and the expansion stops (TooBig)."""
        self.count += 1
        if self.count > self.limit:
            self.problem(
                spot,
                f"the manifest expands to more than {self.limit} tasks",
                "check the for_each lists and includes for runaway repetition",
            )
            raise TooBig

    def text(self, spot: Spot, value: JsonValue, scope: Scope) -> JsonValue:
        """`value` with `${...}` substituted when it is text. When a substitution fails the
        text stays as written (so later stages do not report it again) and a problem says why."""
        if not isinstance(value, str) or "${" not in value:
            return value
        try:
            return substitute_each(value, scope)
        except VarError as err:
            self.problem(spot, err.message, self._hint(spot, err))
            return value

    def _hint(self, spot: Spot, err: VarError) -> str | None:
        if err.message.startswith("undefined variable") and spot.doc.file != self.top:
            return "an included file sees only its own vars: and those its include passes"
        return err.hint
