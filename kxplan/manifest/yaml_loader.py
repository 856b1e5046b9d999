"""Line-aware, safe YAML loading.

PyYAML composes the text into nodes (which carry their marks); we convert the nodes to
plain JSON-like values ourselves, so nothing is ever constructed from a tag: a
`!!python/object` tag is reported as a problem, never executed. While converting we
record where every value and every mapping key was written, by its path
(`("tasks", 0, "title")`), so later stages can point at the exact node.
Duplicate mapping keys are problems too (PyYAML would silently keep the last one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kxplan.errors import Problem
from kxplan.inputfile import InputFileError, decode_utf8, read_input, text_position
from kxplan.jsontypes import JsonObject, JsonValue
from kxplan.model import Location, SourceLocation

#: A path to a value inside a document: mapping keys and list indexes.
YamlPath = tuple[str | int, ...]
#: Where a node starts: 1-based (line, column). Kept as a plain pair, made a `Location`
#: only when asked for: a 10,000-task file has 130,000 nodes and keys, few of them asked.
Point = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_BOOL = _TAG + "bool"
#: The booleans of YAML 1.2's core schema; YAML 1.1's others (yes, no, on, off) stay text.
_YAML12_BOOLS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE"})
_SCALAR_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_STR = _TAG + "str"
_SEQ = _TAG + "seq"
_MAP = _TAG + "map"
_MERGE = _TAG + "merge"
_ScalarNode = yaml.ScalarNode
#: The keys that make a task list composed (kxplan.manifest.compose.COMPOSE_KEYS).
COMPOSE_WORDS = ("include", "for_each", "when")
_MAX_DEPTH = 64  # deeper than any manifest; stops recursive aliases
# Alias bombs ("billion laughs"): values reached again through aliases may not outnumber
# the document's own nodes ten to one (with a floor for small files that reuse anchors).
_ALIAS_RATIO = 10
_ALIAS_FLOOR = 100_000
# libyaml composes about 6x faster than pure Python; the nodes and marks are the same.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: The first characters for which the safe loader tries an implicit tag (int, bool, ...).
_RESOLVED_FIRSTS = frozenset(k for k in _BaseLoader.yaml_implicit_resolvers if k is not None)
_PLAIN_TEXT_FAST = (
    None not in _BaseLoader.yaml_implicit_resolvers and not _BaseLoader.yaml_path_resolvers
)


#: The implicit resolvers of each first character, as (tag, match) in the order the
#: generic resolver tries them: with no wildcard (None) resolvers and no path resolvers
#: (`_PLAIN_TEXT_FAST`), a plain scalar's tag is the first that matches, else text.
_IMPLICIT: dict[str, tuple[tuple[str, Callable[[str], object]], ...]] = {
    first: tuple((tag, regexp.match) for tag, regexp in resolvers)
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    if first is not None
}
_DEFAULT_SCALAR: str = _BaseLoader.DEFAULT_SCALAR_TAG

#: The tags of plain scalars the generic resolver was asked for (a plain scalar's tag
#: depends on its text only): keys such as `title` and `tags` recur in every task.
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_MAX = 4096


class _Loader(_BaseLoader):  # type: ignore[valid-type, misc]
    """The safe loader, resolving most scalars without its generic resolver (a 10,000-task
    file has 130,000 nodes): a quoted scalar, or a plain one whose first character starts
    no implicit tag (`title: Review`), is text; a recurring plain scalar keeps the tag
    found the first time; a list or mapping has its kind's tag; every other scalar is
    resolved as before."""

    if _PLAIN_TEXT_FAST:
        # The composer calls descend_resolver(parent, index) and ascend_resolver() around
        # every node; without path resolvers the base methods return at once, doing
        # nothing. Builtins that do nothing cost less than those Python calls (5 % of the
        # compose): `{}.get(parent, index)` returns `index`, `tuple()` returns `()`, and
        # the composer ignores what both return. A builtin is not bound to the loader.
        descend_resolver: Callable[..., object] = {}.get
        ascend_resolver: Callable[[], object] = tuple

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if not _PLAIN_TEXT_FAST:
            found: str = super().resolve(kind, value, implicit)
            return found
        if kind is not _ScalarNode:  # without path resolvers, the default tag of its kind
            return _SEQ if kind is yaml.SequenceNode else _MAP
        if not implicit[0] or value[:1] not in _RESOLVED_FIRSTS:
            return _STR
        tag = _PLAIN_TAGS.get(value)
        if tag is None:
            # The generic resolver's loop for this first character, without its list
            # concatenation and look-ups (titles starting with T, F, N, O or Y come here,
            # and unique titles miss the cache).
            tag = _DEFAULT_SCALAR
            for implicit_tag, match in _IMPLICIT[value[:1]]:
                if match(value):
                    tag = implicit_tag
                    break
            if len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX:
                _PLAIN_TAGS[value] = tag
        return tag


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded YAML file: plain data plus where each value and key was written."""

    file: str
    # JsonValue in fact (only the converter below builds it); typed Any while the fleet
    # loader, which reads it as a mapping without narrowing, is being extended elsewhere.
    data: Any
    locs: Mapping[YamlPath, Point]
    key_locs: Mapping[YamlPath, Point]
    #: True when no string of `data` can hold `${`, known from the text it was read from:
    #: variable substitution then has nothing to do. False when unknown.
    no_substitution: bool = field(default=False, kw_only=True)
    #: True when no mapping key of `data` can be a composition key (`include`, `for_each`,
    #: `when`), known from the text it was read from. False when unknown.
    no_composition: bool = field(default=False, kw_only=True)

    def loc(self, path: YamlPath) -> Location:
        """Location of the value at `path`, or of its nearest located ancestor."""
        point = self.locs.get(path)
        if point is not None:  # the usual case: every value is located
            return Location(self.file, point[0], point[1])
        while path not in self.locs and path:
            path = path[:-1]
        return Location(self.file, *self.locs.get(path, (1, 1)))

    def key_loc(self, path: YamlPath) -> Location:
        """Location of the mapping key whose value is at `path` (else the value's)."""
        point = self.key_locs.get(path)
        return Location(self.file, *point) if point else self.loc(path)

    def problem(self, path: YamlPath, message: str, hint: str | None = None) -> Problem:
        """A Problem located at the value at `path`."""
        return at(self.loc(path), message, hint)

    def with_data(self, data: JsonValue) -> Document:
        """The same document with its data replaced (e.g. after variable substitution)."""
        return replace(self, data=data, no_substitution=False, no_composition=False)


def at(loc: Location, message: str, hint: str | None = None) -> Problem:
    """A Problem at `loc` (with its include chain when `loc` has one)."""
    chain = loc.chain if isinstance(loc, SourceLocation) else ()
    return Problem(loc.file, loc.line, loc.col, message, hint, chain)


@dataclass(frozen=True, slots=True)
class Source:
    """A file as one include reached it: the same file included twice is two sources."""

    file: str
    chain: tuple[str, ...] = ()

    def location(self, point: Point) -> Location:
        if not self.chain:
            return Location(self.file, *point)
        return SourceLocation(self.file, point[0], point[1], self.chain)


#: Where a node of a composed document was written: its source and (line, col).
Place = tuple[Source, int, int]


@dataclass(frozen=True, slots=True)
class ComposedDocument(Document):
    """A manifest after includes and for_each are expanded: its nodes come from several
    files (and copies), so each path maps to a `Place` instead of a point in `file`."""

    places: Mapping[YamlPath, Place] = field(default_factory=dict)
    key_places: Mapping[YamlPath, Place] = field(default_factory=dict)

    def loc(self, path: YamlPath) -> Location:
        while path not in self.places and path:
            path = path[:-1]
        place = self.places.get(path)
        if place is None:
            return Location(self.file, 1, 1)
        return place[0].location((place[1], place[2]))

    def key_loc(self, path: YamlPath) -> Location:
        place = self.key_places.get(path)
        return place[0].location((place[1], place[2])) if place else self.loc(path)


def read_document(path: str | Path) -> tuple[Document | None, list[Problem]]:
    """Load one YAML file. Returns the document (None when unusable) and its problems.

    Only a regular file of at most 32 MiB is read (see `kxplan.inputfile`).
    """
    name = str(path)
    try:
        text = decode_utf8(read_input(path, "manifest"))
    except InputFileError as err:
        return None, [Problem(name, err.line, err.col, err.message, err.hint)]
    return parse_document(text, name)


def parse_document(text: str, name: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML `text` (reported as file `name`)."""
    try:
        loader = _Loader(text)  # the pure-Python reader checks characters here
    except yaml.reader.ReaderError as err:
        return None, [_reader_problem(name, text, err)]
    # An alias is written `*name`: without a `*` no node can be reached twice, and the
    # alias-bomb bookkeeping (a set of every node) is skipped.
    converter = _Converter(name, loader, aliases="*" in text)
    # A merge key is written `<<` (or tagged `!!merge`): without either, no mapping merges.
    plain = not converter.aliases and "<<" not in text and "merge" not in text
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(name, 1, 1, "the file is empty", "start with `version: 1`")]
        data = converter.convert_plain(node, ()) if plain else converter.convert(node, ())
        # A value's `${` is written as such, or made by an escape (`"\x24{"`): a text
        # with neither has none (line folding joins lines with a space or a newline).
        verbatim = "${" not in text and "\\" not in text
        # A key is its text as written, or made by an escape in a quoted key: a text with
        # neither a composition key's word nor a backslash has no such key.
        simple = "\\" not in text and not any(word in text for word in COMPOSE_WORDS)
        doc = Document(
            name,
            data,
            converter.locs,
            converter.key_locs,
            no_substitution=verbatim,
            no_composition=simple,
        )
        return doc, converter.problems
    except _Stop:
        return None, converter.problems
    except yaml.MarkedYAMLError as err:
        return None, [_yaml_problem(name, err)]
    except yaml.reader.ReaderError as err:  # control characters: no mark, a position
        return None, [_reader_problem(name, text, err)]
    except yaml.YAMLError as err:
        return None, [Problem(name, 1, 1, f"not valid YAML: {err}")]
    finally:
        loader.dispose()


def _reader_problem(name: str, text: str, err: yaml.reader.ReaderError) -> Problem:
    line, col = text_position(text, err.position)
    char = err.character
    code = ord(char) if isinstance(char, str) else int(char) if isinstance(char, int) else None
    found = f" (found U+{code:04X})" if code is not None else ""
    return Problem(
        name,
        line,
        col,
        f"not valid YAML: {err.reason}{found}",
        "remove it, or write it as an escape inside a double-quoted string",
    )


def _yaml_problem(name: str, err: yaml.MarkedYAMLError) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = " ".join(p for p in (err.context, err.problem) if p)
    return Problem(name, line, col, f"not valid YAML: {what}")


def _point(node: yaml.Node) -> Point:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


class _Converter:
    """Turns composed nodes into plain values, recording locations and problems."""

    def __init__(self, name: str, loader: yaml.SafeLoader, *, aliases: bool = True) -> None:
        self.name = name
        self.loader = loader
        self.aliases = aliases
        self.locs: dict[YamlPath, Point] = {}
        self.key_locs: dict[YamlPath, Point] = {}
        self.problems: list[Problem] = []
        self.seen: set[int] = set()
        self.repeats = 0

    def problem(self, node: yaml.Node, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.name, *_point(node), message, hint))

    def convert(self, node: yaml.Node, path: YamlPath) -> JsonValue:
        if self.aliases:
            if id(node) in self.seen:
                self.repeats += 1
            else:
                self.seen.add(id(node))
        # `repeats` first: it is 0 unless the document reuses anchors.
        too_many = self.repeats > _ALIAS_FLOOR and self.repeats > _ALIAS_RATIO * len(self.seen)
        if too_many or len(path) > _MAX_DEPTH:
            self.problem(node, "the document nests too deeply or expands too many aliases")
            raise _Stop
        if path not in self.locs:  # a merged (<<) value keeps the place it was written
            self.locs[path] = _point(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        return self._scalar(node)

    def convert_plain(self, node: yaml.Node, path: YamlPath) -> JsonValue:
        """`convert` for a document without aliases or merge keys (most manifests): each
        node is then reached once, by one path, so there are no aliases to count and no
        place recorded before (a merged value's) to keep; only the depth is checked.
        Mappings and sequences convert their text scalars inline, in their own loop."""
        if len(path) > _MAX_DEPTH:
            self.problem(node, "the document nests too deeply or expands too many aliases")
            raise _Stop
        mark = node.start_mark
        self.locs[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._plain_mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._plain_sequence(node, path)
        return self._scalar(node)

    def _plain_sequence(self, node: yaml.SequenceNode, path: YamlPath) -> list[JsonValue]:
        if len(path) >= _MAX_DEPTH:  # its items are too deep: `_sequence` reports it
            return self._sequence(node, path)
        if node.tag != _SEQ:
            self.problem(node, f"unsupported YAML tag {node.tag.replace(_TAG, '!!')}")
        # Paths are built as `path + (item,)`: in CPython 3.11 `(*path, item)` goes through
        # a list, a third more work for each of the document's 100,000 paths (RUF005
        # prefers the slower spelling).
        locs, convert = self.locs, self.convert_plain
        result: list[JsonValue] = []
        append = result.append
        for i, item in enumerate(node.value):
            sub = path + (i,)  # noqa: RUF005 - see above
            if type(item) is _ScalarNode and item.tag == _STR:
                mark = item.start_mark
                locs[sub] = (mark.line + 1, mark.column + 1)
                append(item.value)
            else:
                append(convert(item, sub))
        return result

    def _plain_mapping(self, node: yaml.MappingNode, path: YamlPath) -> JsonObject:
        if len(path) >= _MAX_DEPTH:  # its values are too deep: `_mapping` reports it
            return self._mapping(node, path)
        if node.tag != _MAP:
            self.problem(node, f"unsupported YAML tag {node.tag.replace(_TAG, '!!')}")
        locs, key_locs, convert = self.locs, self.key_locs, self.convert_plain
        result: JsonObject = {}
        for key_node, value_node in node.value:
            if type(key_node) is not _ScalarNode:
                self._key(key_node)  # reports it
                continue
            key: str = key_node.value  # a scalar node's value is its text, as `_key` reads
            sub = path + (key,)  # noqa: RUF005 - see above
            if key in result:
                first = key_locs[sub]
                self.problem(key_node, f"duplicate key '{key}' (first at line {first[0]})")
                continue
            mark = key_node.start_mark
            key_locs[sub] = (mark.line + 1, mark.column + 1)
            if type(value_node) is _ScalarNode and value_node.tag == _STR:
                mark = value_node.start_mark
                locs[sub] = (mark.line + 1, mark.column + 1)
                result[key] = value_node.value
            else:
                result[key] = convert(value_node, sub)
        return result

    def _scalar(self, node: yaml.Node) -> JsonValue:
        if node.tag == _STR:  # most scalars: no constructor needed
            text: str = node.value  # a scalar node's value is its text
            return text
        if node.tag == _BOOL and node.value not in _YAML12_BOOLS:
            # YAML 1.1 reads yes/no/on/off as booleans (`country: NO` would become false);
            # kxplan reads them as YAML 1.2 does: text. Only true/false are booleans.
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            shown = node.tag.replace(_TAG, "!!")
            self.problem(node, f"unsupported YAML tag {shown}", "kxplan reads plain YAML only")
            return str(node.value)  # the text as written: never constructed
        try:  # the safe constructors of _SCALAR_TAGS build only these types
            value: JsonValue | dt.date = self.loader.construct_object(node)
        except ValueError:  # e.g. 2027-02-30 looks like a date but is not one
            return str(node.value)
        if isinstance(value, dt.date):  # datetime is a date too
            return value.isoformat()
        return value

    def _inline(self, path: YamlPath) -> bool:
        """Whether the items of the container at `path` that are text scalars may be
        converted inline, by the container's loop: there `convert` would only record the
        item's place and return its text (no aliases to count, not too deep). Most nodes
        are such scalars; a call less for each is a tenth of the conversion."""
        return not self.aliases and len(path) < _MAX_DEPTH

    def _sequence(self, node: yaml.SequenceNode, path: YamlPath) -> list[JsonValue]:
        if node.tag != _SEQ:
            self.problem(node, f"unsupported YAML tag {node.tag.replace(_TAG, '!!')}")
        locs, inline = self.locs, self._inline(path)
        result: list[JsonValue] = []
        for i, item in enumerate(node.value):
            sub = (*path, i)
            if inline and type(item) is _ScalarNode and item.tag == _STR:
                if sub not in locs:
                    mark = item.start_mark
                    locs[sub] = (mark.line + 1, mark.column + 1)
                result.append(item.value)
            else:
                result.append(self.convert(item, sub))
        return result

    def _mapping(self, node: yaml.MappingNode, path: YamlPath) -> JsonObject:
        if node.tag != _MAP:
            self.problem(node, f"unsupported YAML tag {node.tag.replace(_TAG, '!!')}")
        locs, key_locs, inline = self.locs, self.key_locs, self._inline(path)
        result: JsonObject = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = self._key(key_node)
            if key is None:
                continue
            sub = (*path, key)
            if key in result:
                first = key_locs[sub]
                self.problem(key_node, f"duplicate key '{key}' (first at line {first[0]})")
                continue
            mark = key_node.start_mark
            key_locs[sub] = (mark.line + 1, mark.column + 1)
            if inline and type(value_node) is _ScalarNode and value_node.tag == _STR:
                if sub not in locs:
                    mark = value_node.start_mark
                    locs[sub] = (mark.line + 1, mark.column + 1)
                result[key] = value_node.value
            else:
                result[key] = self.convert(value_node, sub)
        for source in _merge_sources(merges):
            self._merge(source, path, result)
        return result

    def _merge(self, source: yaml.Node, path: YamlPath, result: JsonObject) -> None:
        """`<<: *anchor` — keys written explicitly win over merged ones."""
        if not isinstance(source, yaml.MappingNode):
            self.problem(source, "a merge key (<<) needs a mapping or a list of mappings")
            return
        merged = self._mapping(source, (*path, "<<"))
        for key, value in merged.items():
            if key not in result:
                result[key] = value
                self.key_locs[(*path, key)] = self.key_locs[(*path, "<<", key)]
                self._relocate((*path, "<<", key), (*path, key))

    def _relocate(self, old: YamlPath, new: YamlPath) -> None:
        n = len(old)
        for table in (self.locs, self.key_locs):
            for p in [p for p in table if p[:n] == old]:
                table[new + p[n:]] = table[p]

    def _key(self, node: yaml.Node) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, "a mapping key must be a plain word, not a list or mapping")
            return None
        return str(node.value)


def _merge_sources(merges: list[yaml.Node]) -> Iterator[yaml.Node]:
    for node in merges:
        if isinstance(node, yaml.SequenceNode):
            yield from node.value
        else:
            yield node


class _Stop(yaml.YAMLError):
    """Raised to abandon a runaway document; its problem is already recorded."""
