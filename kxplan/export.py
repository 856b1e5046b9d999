"""Export: turn a live workspace into a manifest (`kxplan export`).

The manifest written here is the starting point for bringing a hand-built project under
kxplan: `kxplan apply --adopt` with it takes over every task without recreating any, and
a `plan` right after shows no changes. So the export writes every field kxplan manages
that differs from Kantata's default (a field the manifest writes is managed; one it
omits is not), and nothing that would not re-validate.

Determinism: the same live state gives the same bytes. Siblings are written in live
position order, then id; keys are derived from titles (see `assign_keys`); the YAML is
emitted by one configured dumper with no dict-order or hash dependence.

Tasks that carry another kxplan stack's marker belong to that stack: they (and their
subtrees, since a manifest owns whole subtrees) are left out, with a note.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from kxplan.ids import id_order
from kxplan.manifest.keys import KEY_MAX, slugify
from kxplan.model import (
    CATEGORIES,
    PRIORITIES,
    SERVICE_NAME,
    TASK_TYPES,
    LiveState,
    LiveStatusSet,
    LiveTask,
)

__all__ = ["DEFAULT_SCHEMA_REF", "Export", "assign_keys", "build_export", "export_manifest"]

#: Where the `$schema` comment points by default (relative to a manifest in examples/).
DEFAULT_SCHEMA_REF = "../schemas/manifest.schema.json"


@dataclass(frozen=True, slots=True)
class Export:
    """An exported manifest: the YAML text, what it holds, and what was left out."""

    text: str
    tasks: int
    checklist_items: int
    warnings: tuple[str, ...] = ()


def export_manifest(live: LiveState, stack: str) -> str:
    """The manifest YAML for `live` under stack `stack` (pure; byte-identical per input)."""
    return build_export(live, stack).text


def build_export(live: LiveState, stack: str, *, schema_ref: str = DEFAULT_SCHEMA_REF) -> Export:
    """Like `export_manifest`, plus counts and warnings (tasks or items left out, and why)."""
    tree = _Tree.of(live.tasks, stack)
    keys = assign_keys(tree.ordered(), stack)
    status_set = live.assigned_status_set()
    allowed = _allowed_statuses(status_set)
    warnings = list(tree.warnings)
    protected = _protected_ids(tree.ordered(), stack)
    tasks = [_task_doc(t, tree, keys, allowed, warnings, protected) for t in tree.children(None)]
    doc: dict[str, Any] = {"version": 1, "name": stack, "workspace": live.workspace.title}
    if status_set is not None:
        doc["status_set"] = _status_set_doc(status_set)
    doc["tasks"] = tasks
    posts = _posts_doc(live, stack, keys)
    if posts:
        doc["posts"] = posts
    text = _header(live, schema_ref, tree) + _dump(doc)
    items = sum(len(_unique_items(t)) for t in tree.ordered())
    return Export(text, len(keys), items, tuple(warnings))


def _posts_doc(live: LiveState, stack: str, keys: Mapping[str, str]) -> list[dict[str, Any]]:
    """The posts carrying this stack's marker (read only when the export names a stack:
    kxplan.cli.cmd_export), in key order; `task:` when the post is linked to an exported
    task. People's posts and `--notify` notifications are never exported."""
    out = []
    for post in live.posts or ():
        marker = post.marker
        if marker is None or post.notification or marker.service_model != stack:
            continue
        doc: dict[str, Any] = {"key": marker.service_model_ref, "message": post.message}
        task = keys.get(post.story_id or "")
        if task is not None:
            doc["task"] = task
        out.append(doc)
    return sorted(out, key=lambda d: str(d["key"]))


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class _Tree:
    """The live tasks this stack may own, as a tree with siblings in position order."""

    kids: Mapping[str | None, tuple[LiveTask, ...]]
    excluded: Mapping[str, int]  # other stack -> tasks left out
    warnings: tuple[str, ...]

    @classmethod
    def of(cls, tasks: Iterable[LiveTask], stack: str) -> _Tree:
        by_id = {t.id: t for t in tasks}
        kids: dict[str | None, list[LiveTask]] = defaultdict(list)
        for t in by_id.values():
            kids[t.parent_id].append(t)
        for group in kids.values():
            group.sort(key=lambda t: (t.position, id_order(t.id)))
        excluded: dict[str, int] = defaultdict(int)
        kept = _drop_other_stacks(kids, stack, excluded)  # walks from the top: orphans drop
        warnings = [
            f"{n} task(s) managed by kxplan stack {other!r} were not exported "
            f"(export them with --name {other})"
            for other, n in sorted(excluded.items())
        ]
        warnings.extend(_orphan_warnings(kids, by_id))
        return cls(kept, dict(excluded), tuple(warnings))

    def children(self, parent_id: str | None) -> tuple[LiveTask, ...]:
        return self.kids.get(parent_id, ())

    def ordered(self) -> list[LiveTask]:
        """Every kept task in pre-order (parents first, siblings in position order)."""
        out: list[LiveTask] = []
        stack = list(reversed(self.children(None)))
        while stack:
            t = stack.pop()
            out.append(t)
            stack.extend(reversed(self.children(t.id)))
        return out


def _drop_other_stacks(
    kids: Mapping[str | None, list[LiveTask]], stack: str, excluded: dict[str, int]
) -> dict[str | None, tuple[LiveTask, ...]]:
    """Siblings lists without other stacks' subtrees; counts what was left out."""
    kept: dict[str | None, tuple[LiveTask, ...]] = {}
    pending: list[str | None] = [None]
    while pending:
        parent = pending.pop()
        mine = []
        for t in kids.get(parent, ()):
            other = _other_stack(t, stack)
            if other is None:
                mine.append(t)
                pending.append(t.id)
            else:
                excluded[other] += _subtree_size(kids, t.id)
        kept[parent] = tuple(mine)
    return kept


def _orphan_warnings(
    kids: Mapping[str | None, list[LiveTask]], by_id: Mapping[str, LiveTask]
) -> list[str]:
    """Tasks whose parent was not in the read (e.g. deleted) cannot be placed or adopted
    at their path: writing them top-level would make `--adopt` create duplicates."""
    missing = sorted((p for p in kids if p is not None and p not in by_id), key=id_order)
    out = []
    for parent in missing:
        n = sum(_subtree_size(kids, t.id) for t in kids[parent])
        out.append(
            f"{n} task(s) under #{parent}, a story kxplan cannot read (deleted?), were not exported"
        )
    return out


def _other_stack(task: LiveTask, stack: str) -> str | None:
    """The kxplan stack other than `stack` that owns `task`, if any."""
    if task.key_for(stack) is not None:
        return None
    for m in task.markers:
        if m.service_name == SERVICE_NAME:
            return m.service_model
    return None


def _subtree_size(kids: Mapping[str | None, list[LiveTask]], task_id: str) -> int:
    return 1 + sum(_subtree_size(kids, c.id) for c in kids.get(task_id, ()))


# --------------------------------------------------------------------------- keys


def assign_keys(tasks: Sequence[LiveTask], stack: str) -> dict[str, str]:
    """Live id -> manifest key for `tasks` (pre-order), unique and deterministic.

    A task carrying this stack's marker keeps its key. Otherwise the key is the slug of its
    title (`kxplan.manifest.keys.slugify`) when no other task shares that slug; tasks that
    share one are qualified by their parent's key like a derived key (`phase-1/kickoff`),
    then numbered (`kickoff-2`) in pre-order if still taken.
    """
    keys: dict[str, str] = {}
    for t in tasks:
        managed = t.key_for(stack)
        if managed is not None and managed not in keys.values():
            keys[t.id] = managed
    taken = set(keys.values())
    base = {t.id: slugify(t.title) for t in tasks if t.id not in keys}
    counts: dict[str, int] = defaultdict(int)
    for slug in base.values():
        counts[slug] += 1
    for t in tasks:  # titles nobody else shares get their own slug first
        if t.id in base and counts[base[t.id]] == 1 and base[t.id] not in taken:
            keys[t.id] = base[t.id]
            taken.add(base[t.id])
    for t in tasks:  # pre-order: a parent's key is known before its children's
        if t.id not in keys:
            parent = keys.get(t.parent_id) if t.parent_id is not None else None
            want = _join(parent, base[t.id])
            keys[t.id] = _first_free(want, taken)
            taken.add(keys[t.id])
    return {t.id: keys[t.id] for t in tasks}


def _join(parent: str | None, base: str) -> str:
    """`parent/base`, like a derived key, unless that would be too long for a key."""
    if parent is None or len(parent) + 1 + len(base) > KEY_MAX - 4:  # room for "-NNN"
        return base
    return f"{parent}/{base}"


def _first_free(want: str, taken: set[str]) -> str:
    if want not in taken:
        return want
    n = 2
    while f"{want}-{n}" in taken:
        n += 1
    return f"{want}-{n}"


# --------------------------------------------------------------------------- documents


def _allowed_statuses(status_set: LiveStatusSet | None) -> frozenset[str]:
    if status_set is None:
        return frozenset(CATEGORIES)
    return frozenset(s.name for s in status_set.statuses)


def _status_set_doc(status_set: LiveStatusSet) -> dict[str, Any]:
    statuses = [_Flow({"name": s.name, "category": s.category}) for s in status_set.statuses]
    return {"name": status_set.name, "statuses": statuses}


def _task_doc(
    t: LiveTask,
    tree: _Tree,
    keys: Mapping[str, str],
    allowed: frozenset[str],
    warnings: list[str],
    protected: frozenset[str],
) -> dict[str, Any]:
    """One task's mapping: identity, then each managed field that is not Kantata's default."""
    doc: dict[str, Any] = {"key": keys[t.id], "title": t.title}
    if t.type != "task" and t.type in TASK_TYPES:
        doc["type"] = t.type
    if t.description:
        doc["description"] = t.description
    for name in ("start_date", "due_date"):
        if getattr(t, name):
            doc[name] = _date(getattr(t, name))
    if t.priority in PRIORITIES and t.priority != "normal":
        doc["priority"] = t.priority
    if t.status in allowed:
        doc["status"] = t.status
    elif t.status:
        warnings.append(f"task {keys[t.id]!r}: status {t.status!r} is not in the set; left out")
    if t.tags:
        doc["tags"] = _Flow(sorted(t.tags))
    items = _unique_items(t)
    if len(items) < len(t.checklist):
        warnings.append(f"task {keys[t.id]!r}: duplicate checklist item names kept once")
    if items:
        doc["checklist"] = [
            _Flow({"name": i.name, "completed": True}) if i.completed else i.name for i in items
        ]
    if t.archived:
        doc["archived"] = True
    if t.id in protected:
        doc["protect"] = True  # the flag lives on the marker: the manifest must keep it
    kids = tree.children(t.id)
    if kids:
        doc["children"] = [_task_doc(c, tree, keys, allowed, warnings, protected) for c in kids]
    return doc


def _protected_ids(tasks: Iterable[LiveTask], stack: str) -> frozenset[str]:
    """Ids of the tasks whose marker for `stack` carries `protect` (another stack's flag
    is that stack's business)."""
    markers = ((t.id, t.marker_for(stack)) for t in tasks)
    return frozenset(tid for tid, m in markers if m is not None and m.protected)


def _date(value: str) -> dt.date | str:
    """A date object, so it is written plain (`2027-01-04`) as people write dates."""
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return value


def _unique_items(t: LiveTask) -> list[Any]:
    """Checklist items in position order, first of each name (names identify items)."""
    seen: set[str] = set()
    out = []
    for item in t.checklist:
        if item.name not in seen:
            seen.add(item.name)
            out.append(item)
    return out


def _header(live: LiveState, schema_ref: str, tree: _Tree) -> str:
    title = _one_line(live.workspace.title)
    lines = [
        f"# yaml-language-server: $schema={schema_ref}",
        f"# Exported by kxplan from workspace {live.workspace.id}: {title}",
    ]
    for other, n in sorted(tree.excluded.items()):
        lines.append(f"# Not exported: {n} task(s) managed by stack {_one_line(other)}")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- YAML


class _Flow:
    """Marks a list or mapping to be written in flow style (`[a, b]`, `{name: x}`)."""

    __slots__ = ("value",)

    def __init__(self, value: list[Any] | dict[str, Any]) -> None:
        self.value = value


class _Dumper(yaml.SafeDumper):
    """SafeDumper with indented block sequences (the house manifest style)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


#: Characters YAML reads as line breaks that PyYAML would write raw (they come back as
#: a folded space unless escaped in a double-quoted scalar).
_BREAKS = frozenset("\r\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # `${` starts a variable in a manifest; `$${` is the literal. Multi-line text
    # (descriptions) reads best as a literal block; PyYAML falls back to a quoted
    # scalar by itself when a literal block cannot hold the text exactly.
    text = value.replace("${", "$${")
    style = "|" if "\n" in text else None
    if any(c in _BREAKS for c in text):  # unicode line breaks: only an escape keeps them
        style = '"'

    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.Node:
    if isinstance(value.value, dict):
        return dumper.represent_mapping("tag:yaml.org,2002:map", value.value, flow_style=True)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value.value, flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Flow, _represent_flow)


def _dump(doc: Mapping[str, Any]) -> str:
    text: str = yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,  # never fold long titles: folding is legal but hard to read
        indent=2,
    )
    return text
