"""From checked data to `kxplan.model.Manifest`.

The builder is tolerant: it runs even when the schema found problems (so the semantic
checks can report theirs in the same run) and skips values of the wrong type instead
of failing. A manifest with problems is never returned to callers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kxplan.jsontypes import JsonObject, JsonValue
from kxplan.manifest.keys import derive_key
from kxplan.manifest.yaml_loader import Document, YamlPath
from kxplan.model import (
    TASK_FIELDS,
    DesiredChecklistItem,
    DesiredPost,
    DesiredStatus,
    DesiredStatusSet,
    DesiredTask,
    DesiredWorkspace,
    Manifest,
)


@dataclass(frozen=True, slots=True)
class BuiltTask:
    """A desired task and where it was written (its path in the document)."""

    task: DesiredTask
    path: YamlPath
    explicit_key: bool


@dataclass(frozen=True, slots=True)
class Built:
    """A manifest plus the paths the semantic checks need to point at nodes."""

    manifest: Manifest
    tasks: tuple[BuiltTask, ...]
    doc: Document


def build_manifest(doc: Document, values: Mapping[str, str]) -> Built:
    """The Manifest `doc` describes (tasks flattened in pre-order)."""
    data: JsonValue = doc.data
    data = data if isinstance(data, dict) else {}
    inherited = _Inherited(_names(data.get("enforce")), _names(data.get("ignore_changes")))
    tasks = tuple(_tasks(doc, data.get("tasks"), inherited))
    workspace = data.get("workspace")
    desired = desired_workspace(doc, workspace, ("workspace",))
    if desired is not None:
        workspace = desired.ref
    manifest = Manifest(
        path=doc.file,
        name=_text(data.get("name")),
        workspace=workspace if isinstance(workspace, str | int) else None,
        desired_workspace=desired,
        tasks=tuple(b.task for b in tasks),
        status_set=_status_set(doc, data.get("status_set")),
        prune=data.get("prune") is True,
        vars=tuple(values.items()),
        posts=tuple(_posts(doc, data.get("posts"))),
        manages_posts=isinstance(data.get("posts"), list),
        notify=data.get("notify") is True,
    )
    return Built(manifest, tasks, doc)


#: Workspace fields the mapping form may set; kxplan manages the ones it sets.
WORKSPACE_FIELDS = ("description", "start_date", "due_date")


def desired_workspace(doc: Document, raw: JsonValue, path: YamlPath) -> DesiredWorkspace | None:
    """The mapping form of `workspace:` (None for a title, an id, or nothing)."""
    if not isinstance(raw, dict):
        return None
    ident = raw.get("id")
    if isinstance(ident, str) and ident.isdigit():
        ident = int(ident)
    return DesiredWorkspace(
        title=_opt_text(raw.get("title")),
        id=ident if isinstance(ident, int) and not isinstance(ident, bool) else None,
        create=raw.get("create") is True,
        description=_opt_text(raw.get("description")),
        start_date=_opt_text(raw.get("start_date")),
        due_date=_opt_text(raw.get("due_date")),
        fields=frozenset(f for f in WORKSPACE_FIELDS if f in raw),
        loc=doc.loc(path),
    )


@dataclass(frozen=True, slots=True)
class _Inherited:
    enforce: frozenset[str]
    ignore_changes: frozenset[str]


def _tasks(doc: Document, items: JsonValue, inherited: _Inherited) -> list[BuiltTask]:
    """The tasks of the list `items` (at `tasks`) and all their descendants, in pre-order."""
    found: list[BuiltTask] = []
    # One list filled by a plain recursion: recursive generators (`yield from`) would pass
    # each task up through every level above it, and a 10,000-task tree is 5 levels deep.
    _add_tasks(found, doc, items, ("tasks",), None, 0, inherited, {})
    return found


def _add_tasks(
    found: list[BuiltTask],
    doc: Document,
    items: JsonValue,
    path: YamlPath,
    parent_key: str | None,
    depth: int,
    inherited: _Inherited,
    fields: dict[tuple[str, ...], frozenset[str]],
) -> None:
    """Appends to `found` the tasks of `items` (at `path`) and their descendants.

    `fields` caches each task's `fields` by its written keys: the tasks of a manifest
    write few distinct sets of fields, and one frozenset for each set is enough."""
    if not isinstance(items, list):
        return
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            continue
        task_path = path + (index,)  # noqa: RUF005 - (*path, index) goes through a list
        given = raw.get("key")
        explicit = isinstance(given, str)
        title = _text(raw.get("title"))
        key = given if isinstance(given, str) else derive_key(parent_key, title)
        written = tuple(raw)
        task_fields = fields.get(written)
        if task_fields is None:
            task_fields = fields[written] = _ALWAYS_SET | _TASK_FIELD_SET.intersection(raw)
        task = _task(doc, raw, task_path, key, parent_key, depth, index, inherited, task_fields)
        found.append(BuiltTask(task, task_path, explicit))
        children = raw.get("children")
        if children is not None:
            path_down = (*task_path, "children")
            _add_tasks(found, doc, children, path_down, key, depth + 1, inherited, fields)


def _task(
    doc: Document,
    raw: JsonObject,
    path: YamlPath,
    key: str,
    parent_key: str | None,
    depth: int,
    index: int,
    inherited: _Inherited,
    fields: frozenset[str],
) -> DesiredTask:
    get = raw.get
    pct = get("percentage_complete")
    task_type = get("type")
    checklist = get("checklist")
    renamed_from = get("renamed_from")
    enforce = get("enforce")
    ignore_changes = get("ignore_changes")
    return DesiredTask(
        key=key,
        title=_text(get("title")),
        parent_key=parent_key,
        depth=depth,
        index=index,
        type=task_type if isinstance(task_type, str) else "task",
        description=_opt_text(get("description")),
        start_date=_opt_text(get("start_date")),
        due_date=_opt_text(get("due_date")),
        priority=_opt_text(get("priority")),
        status=_opt_text(get("status")),
        percentage_complete=pct if isinstance(pct, int) and not isinstance(pct, bool) else None,
        tags=_texts(get("tags")),
        # Absent lists (most tasks have no renames, many no checklist) skip the calls.
        checklist=_checklist(doc, checklist, (*path, "checklist")) if checklist else (),
        archived=get("archived") is True,
        protect=get("protect") is True,
        renamed_from=_texts(renamed_from) if renamed_from else (),
        enforce=_more(inherited.enforce, enforce),
        ignore_changes=_more(inherited.ignore_changes, ignore_changes),
        fields=fields,
        loc=doc.loc(path),
    )


def _checklist(doc: Document, items: JsonValue, path: YamlPath) -> tuple[DesiredChecklistItem, ...]:
    found: list[DesiredChecklistItem] = []
    for i, raw in enumerate(items if isinstance(items, list) else ()):
        if isinstance(raw, str):
            # path + (i,): (*path, i) goes through a list (a checklist item for each)
            found.append(DesiredChecklistItem(name=raw, loc=doc.loc(path + (i,))))  # noqa: RUF005
        elif isinstance(raw, dict) and isinstance(name := raw.get("name"), str):
            found.append(
                DesiredChecklistItem(
                    name=name,
                    completed=raw.get("completed") is True,
                    renamed_from=_texts(raw.get("renamed_from")),
                    loc=doc.loc((*path, i)),
                )
            )
    return tuple(found)


def _posts(doc: Document, items: JsonValue) -> Iterator[DesiredPost]:
    """The `posts:` entries with a key and a message (the schema pass reports the rest)."""
    for i, raw in enumerate(items if isinstance(items, list) else ()):
        if not isinstance(raw, dict):
            continue
        key, message = raw.get("key"), raw.get("message")
        if isinstance(key, str) and isinstance(message, str):
            task = raw.get("task")
            yield DesiredPost(
                key, message, task if isinstance(task, str) else None, doc.loc(("posts", i))
            )


def _status_set(doc: Document, raw: JsonValue) -> DesiredStatusSet | None:
    if not isinstance(raw, dict):
        return None
    statuses = raw.get("statuses")
    items = statuses if isinstance(statuses, list) else []
    found = (_status(doc, i, s) for i, s in enumerate(items))
    return DesiredStatusSet(
        name=_text(raw.get("name")),
        statuses=tuple(s for s in found if s is not None),
        loc=doc.loc(("status_set",)),
    )


def _status(doc: Document, index: int, raw: JsonValue) -> DesiredStatus | None:
    """One status of the set; None when it has no name (the schema pass reported it)."""
    name = raw.get("name") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(name, str):
        return None
    return DesiredStatus(
        name=name,
        category=_text(raw.get("category")),
        renamed_from=_texts(raw.get("renamed_from")),
        loc=doc.loc(("status_set", "statuses", index)),
    )


# Tolerant readers: a value of the wrong type reads as absent (the schema pass reports it).


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else ""


def _opt_text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: JsonValue) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple([v for v in value if isinstance(v, str)])  # a list is faster than a generator


def _names(value: JsonValue) -> frozenset[str]:
    return frozenset(_texts(value))


def _more(inherited: frozenset[str], value: JsonValue) -> frozenset[str]:
    """`inherited` and the names of `value` (most tasks add none)."""
    return inherited | _names(value) if value is not None else inherited


_TASK_FIELD_SET = frozenset(TASK_FIELDS)
#: The fields every task sets (its place in the tree is its parent).
_ALWAYS_SET = frozenset({"title", "parent"})
