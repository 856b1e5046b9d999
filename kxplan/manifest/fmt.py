"""`kxplan fmt`: manifests in canonical key order and indentation, comments kept.

Two steps, each of which keeps every comment and blank line:

1. Indentation: a ruamel.yaml round trip (the one round-trip YAML library installed),
   with 2-space mappings and sequences indented under their key (`tasks:` /
   `  - title: ...`), quotes and flow style (`[a, b]`, `{name: x}`) kept as written.
2. Key order: the entries of each block mapping the manifest format knows (the top
   level, `workspace:`, `workspaces:` entries, `status_set:`, statuses, tasks, includes,
   checklist items) are put in `KEY_ORDER`, moving whole lines: an entry moves with the
   comments and blank lines written just above it, so a comment stays with its key.
   `vars:` keeps its order (a value may use the variables above it). `x-` extension
   keys and `<<` merges come first (an anchor must be defined before it is used), keys
   the format does not know come last, in the order written.

The result is checked before it is returned: it must read back as the same data (the
fast loader, `kxplan.manifest.yaml_loader`, reads both). When reordering would change
that (an alias moved above its anchor), the keys are left in their order; `FmtError`
if even the indentation step would. Formatting a formatted file changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from kxplan.errors import ManifestError, Problem
from kxplan.inputfile import InputFileError, decode_utf8, read_input
from kxplan.manifest.yaml_loader import parse_document

_TASK = (
    "key",
    "for_each",
    "title",
    "when",
    "type",
    "description",
    "start_date",
    "due_date",
    "priority",
    "status",
    "percentage_complete",
    "tags",
    "checklist",
    "archived",
    "protect",
    "renamed_from",
    "enforce",
    "ignore_changes",
    "children",
)

#: The canonical key order of each kind of mapping (the order docs/manifest.md and the
#: examples use; the schema lists the same keys).
KEY_ORDER: Mapping[str, tuple[str, ...]] = {
    "top": (
        "version",
        "name",
        "workspace",
        "vars",
        "workspaces",
        "status_set",
        "enforce",
        "prune",
        "ignore_changes",
        "tasks",
    ),
    "workspace": ("title", "id", "create", "description", "start_date", "due_date"),
    "fleet_entry": ("workspace", "vars"),
    "status_set": ("name", "statuses"),
    "status": ("name", "category", "renamed_from"),
    "task": _TASK,
    "include": ("include", "for_each", "when", "vars"),
    "checklist_item": ("name", "completed", "renamed_from"),
}

# libyaml composes about 6x faster than pure Python; the nodes and marks are the same.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FmtError(ManifestError):
    """A file kxplan fmt cannot format (not YAML, or not formattable without a change
    of meaning): every problem at file:line:col."""


@dataclass(frozen=True, slots=True)
class Formatted:
    """One file's text before and after formatting."""

    path: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def format_file(path: str | Path) -> Formatted:
    """The file at `path` formatted (nothing is written). FmtError when it cannot be."""
    name = str(path)
    try:
        text = decode_utf8(read_input(path, "manifest"))
    except InputFileError as err:
        raise FmtError([Problem(name, err.line, err.col, err.message, err.hint)]) from None
    return Formatted(name, text, format_text(text, name))


def format_text(text: str, name: str = "<text>") -> str:
    """`text` (a manifest, an included module or a fleet manifest) formatted; FmtError
    when it is not valid YAML (file:line:col) or cannot be formatted without a change."""
    meaning = _meaning(text, name)
    newline = "\r\n" if "\r\n" in text.partition("\n")[0] + "\n" else "\n"
    prologue, body = _prologue(text.replace("\r\n", "\n"))
    indented = prologue + _reindent(body, name)
    _same_meaning(indented, meaning, name)
    ordered = prologue + _reorder(indented[len(prologue) :])
    try:
        _same_meaning(ordered, meaning, name)
    except FmtError:
        ordered = indented  # an alias would move above its anchor: keep the keys' order
    return ordered.replace("\n", newline)


def _prologue(text: str) -> tuple[str, str]:
    """`text` split after its `---` line when it has one (with the comments and
    directives above it, which are kept as written), else ("", text)."""
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "---" or stripped.startswith("--- #"):
            return "".join(lines[: number + 1]), "".join(lines[number + 1 :])
        if stripped and not stripped.startswith(("#", "%")):
            break
    return "", text


# --------------------------------------------------------------------------- checks


def _meaning(text: str, name: str) -> object:
    """What `text` means, as the manifest loader reads it; FmtError on any problem."""
    document, problems = parse_document(text, name)
    if problems or document is None:
        raise FmtError(problems or [Problem(name, 1, 1, "the file is empty")])
    return document.data


def _same_meaning(text: str, meaning: object, name: str) -> None:
    document, problems = parse_document(text, name)
    if problems or document is None or document.data != meaning:
        raise FmtError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "kxplan fmt cannot format this file without changing what it means",
                    "the file is left as it is; please report this with the file attached",
                )
            ]
        )


# --------------------------------------------------------------------------- indentation


def _reindent(text: str, name: str) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.width = 1 << 16  # never re-wrap a long line
    try:
        data = rt.load(text)
        out = io.StringIO()
        rt.dump(data, out)
    except MarkedYAMLError as err:  # the fast loader accepted it: a ruamel limitation
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise FmtError(
            [Problem(name, line, col, f"kxplan fmt cannot read this YAML: {err.problem}")]
        ) from None
    return out.getvalue()


# --------------------------------------------------------------------------- key order


def _reorder(text: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    root = yaml.compose(text, Loader=_Loader)
    if root is None:
        return text
    try:
        return "".join(_Lines(lines).node(root, "top", 0, len(lines)))
    except _Unsure:
        return text


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _is_block(node: yaml.Node) -> bool:
    return isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style


def _key_name(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _rank(order: Sequence[str], key: str, index: int) -> tuple[int, int]:
    if key == "<<" or key.startswith("x-"):
        return (0, index)
    if key in order:
        return (1, order.index(key))
    return (2, index)


def _child_kind(kind: str, key: str) -> str | None:
    """The kind of mapping (or of the mappings in the list) under `key` of a `kind`."""
    children = {
        "top": {
            "workspace": "workspace",
            "workspaces": "fleet_entry",
            "status_set": "status_set",
            "tasks": "task",
        },
        "fleet_entry": {"workspace": "workspace"},
        "status_set": {"statuses": "status"},
        "task": {"children": "task", "checklist": "checklist_item"},
    }
    return children.get(kind, {}).get(key)


class _Unsure(Exception):
    """Where a node's text ends is not known: the keys are left in their order."""


class _Lines:
    """The lines of a formatted-for-indentation file, and each node's lines reordered."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def node(self, node: yaml.Node, kind: str | None, lo: int, hi: int) -> list[str]:
        """Lines [lo, hi), which hold `node`, with its mappings (and theirs) reordered."""
        if kind is None or not _is_block(node) or node.start_mark.line < lo:
            return self.lines[lo:hi]  # a scalar, a flow collection, or an alias
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, kind, lo, hi)
        assert isinstance(node, yaml.MappingNode)  # _is_block: one or the other
        if kind == "task" and any(_key_name(k) == "include" for k, _ in node.value):
            kind = "include"
        return self._mapping(node, kind, lo, hi)

    def end(self, node: yaml.Node) -> int:
        """The last line of `node`'s own text (not the comments after it)."""
        if isinstance(node, yaml.MappingNode) and _is_block(node) and node.value:
            return _ends(self, node.value)[-1]
        if isinstance(node, yaml.SequenceNode) and _is_block(node) and node.value:
            if node.value[-1].start_mark.line < node.start_mark.line:
                raise _Unsure  # an alias last in a list: where it was written is unknown
            return self.end(node.value[-1])
        mark = node.end_mark
        if mark.column == 0 and mark.line > node.start_mark.line:
            return int(mark.line) - 1  # a block scalar ends at the start of the next line
        return int(mark.line)

    def _sequence(self, node: yaml.SequenceNode, kind: str, lo: int, hi: int) -> list[str]:
        out = self.lines[lo : node.start_mark.line]
        at = node.start_mark.line
        following = [item.start_mark.line for item in node.value[1:]] + [hi]
        for item, after in zip(node.value, following, strict=True):
            start = item.start_mark.line
            if start < at:  # an alias to an earlier node
                continue
            # The item, and the comments after it indented as deep as its first key.
            stop = self._tail(self.end(item), max(after, start + 1), item.start_mark.column - 1)
            out += self.lines[at:start]
            out += self._item(item, kind, start, stop + 1)
            at = stop + 1
        return out + self.lines[at:hi]

    def _item(self, item: yaml.Node, kind: str, lo: int, hi: int) -> list[str]:
        """A list item's lines; a mapping that starts on its `- ` line is reordered with
        the dash set aside, then put back on its first key (comments go above it)."""
        line = self.lines[lo]
        col = item.start_mark.column
        if not isinstance(item, yaml.MappingNode) or not line[:col].rstrip().endswith("-"):
            return self.node(item, kind, lo, hi)
        self.lines[lo] = " " * col + line[col:]
        body = self.node(item, kind, lo, hi)
        self.lines[lo] = line
        first = next(i for i, text in enumerate(body) if not _blank_or_comment(text))
        body[first] = line[:col] + body[first][col:]
        dash = " " * line.index("-")
        # Comments that came with the key now first: above the dash, at its column.
        above = [dash + text.lstrip() if text.strip() else text for text in body[:first]]
        return above + body[first:]

    def _mapping(self, node: yaml.MappingNode, kind: str, lo: int, hi: int) -> list[str]:
        entries = node.value
        keys = [_key_name(k) for k, _ in entries]
        starts = [k.start_mark.line for k, _ in entries]
        ends = _ends(self, entries)
        if None in keys or any(a <= b for a, b in zip(starts[1:], ends[:-1], strict=True)):
            return self.lines[lo:hi]  # complex keys, or two entries on one line
        col = entries[0][0].start_mark.column
        tails = [self._tail(e, s, col) for e, s in zip(ends, [*starts[1:], hi], strict=True)]
        # Entry i: the comments above it (after entry i-1), its key, its value, and the
        # comments indented under it that follow it.
        tops = [starts[0]] + [t + 1 for t in tails[:-1]]
        pieces = [
            self._entry(kind, str(keys[i]), entries[i][1], (tops[i], starts[i], tails[i]))
            for i in range(len(entries))
        ]
        order = sorted(range(len(keys)), key=lambda i: _rank(KEY_ORDER[kind], str(keys[i]), i))
        out = self.lines[lo : tops[0]]
        for i in order:
            out += pieces[i]
        return out + self.lines[tails[-1] + 1 : hi]

    def _tail(self, end: int, stop: int, col: int) -> int:
        """The last line of an entry that ends on line `end`, with the comments after it
        (before line `stop`) indented deeper than its key at column `col`."""
        tail = end
        for number in range(end + 1, stop):
            text = self.lines[number]
            if not _blank_or_comment(text):
                break
            if text.strip() and len(text) - len(text.lstrip()) > col:
                tail = number
        return tail

    def _entry(
        self, kind: str, key: str, value: yaml.Node, span: tuple[int, int, int]
    ) -> list[str]:
        """Lines [top, tail] of one entry (`span`: top, the key's line, tail): comments,
        key, value, comments indented under it; its value reordered."""
        top, start, tail = span
        child = None if key == "vars" else _child_kind(kind, key)
        if not _is_block(value) or value.start_mark.line <= start:
            return self.lines[top : tail + 1]
        return self.lines[top : start + 1] + self.node(value, child, start + 1, tail + 1)


def _ends(lines: _Lines, entries: list[tuple[yaml.Node, yaml.Node]]) -> list[int]:
    """The last line of each mapping entry's value. An alias value is written on its
    key's line (its node is the anchor's, written elsewhere)."""
    return [
        lines.end(v) if v.start_mark.line >= k.start_mark.line else int(k.end_mark.line)
        for k, v in entries
    ]
