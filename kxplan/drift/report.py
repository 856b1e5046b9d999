"""What `kxplan drift` reports, and comparing one workspace into it (pure: no I/O).

    drift = compare_workspace(manifest, live, plan)     # then history is attached (run.py)

Per task, each field the manifest sets that differs between the manifest and Kantata, with
its origin from the memory kxplan keeps on the task's marker (kxplan.planner.memory,
docs/apply.md "The marker's memory"):

- `kantata`  changed in Kantata since kxplan last wrote it (the manifest still says it);
- `manifest` changed in the manifest since the last apply (Kantata still holds it);
- `both`     changed on both sides;
- `unknown`  kxplan has no memory of the field (written before kxplan kept one).

Checklist items people added or removed (told apart from the manifest's by the memory's item
digests), tasks missing from Kantata (deleted, or unmarked: a task with the same title path
carries no marker), tasks this stack owns that the manifest no longer lists, and what the
plan would change in the status set and the workspace (from the plan's changes). Progress
fields (status, percentage_complete) are reported whether or not the manifest enforces them:
drift says what differs; whether apply sets them back is the plan's business.

Workspace fields plug in through `workspace_origins`: a workspace change that carries an
`origin` mapping (field -> kantata|manifest|both, as task updates do) is reported with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kxplan.changes.base import Action, Change, Kind
from kxplan.live import DeletedTask, StatusChange
from kxplan.model import PROGRESS_FIELDS, DesiredTask, LiveState, LiveTask, Manifest
from kxplan.plan import Plan, PlanWorkspace
from kxplan.planner.matching import Matching, match_tasks
from kxplan.planner.memory import Memory, decode, field_origin
from kxplan.planner.normalize import COMPARED_FIELDS, desired_value, live_value, same, unique_tags
from kxplan.planner.pairing import pair_by_name
from kxplan.render.common import label

#: Where a difference comes from (see the module doc).
ORIGINS = ("kantata", "manifest", "both", "unknown")

#: The states of a manifest task no live story carries.
MISSING = ("missing", "deleted", "unmarked")

#: What happened to a task or a checklist item.
TASK_STATES = ("changed", "missing", "deleted", "unmarked", "not_in_manifest")
ITEM_CHANGES = (
    "added_in_kantata",  # a person added it (the memory says kxplan did not)
    "removed_in_kantata",  # kxplan created it, a person deleted it
    "added_to_manifest",  # new in the manifest, not applied yet
    "removed_from_manifest",  # kxplan created it, the manifest dropped it
    "not_in_manifest",  # in Kantata only, origin unknown (no memory)
    "missing_in_kantata",  # in the manifest only, origin unknown (no memory)
    "renamed_in_manifest",  # renamed with `renamed_from` (named as the manifest now says)
)


@dataclass(frozen=True, slots=True)
class FieldDrift:
    """One field that differs: the manifest's value, Kantata's, and where it comes from."""

    name: str
    manifest: Any
    kantata: Any
    origin: str


@dataclass(frozen=True, slots=True)
class ItemDrift:
    """A checklist item in Kantata or in the manifest only (`change`: ITEM_CHANGES)."""

    name: str
    change: str
    origin: str


@dataclass(frozen=True, slots=True)
class TaskDrift:
    """One task that differs. `state`: TASK_STATES. `status_change`: the state change that
    set its live status (who and when), when the status drifted and the history says;
    `history_read` whether it was asked for."""

    key: str
    path: str
    title: str
    state: str
    id: str | None = None
    fields: tuple[FieldDrift, ...] = ()
    items: tuple[ItemDrift, ...] = ()
    status_change: StatusChange | None = None
    history_read: bool = False
    deleted_at: str | None = None

    def field(self, name: str) -> FieldDrift | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def wants_history(self) -> bool:
        """Its status differs and Kantata (or someone unknown) moved it."""
        status = self.field("status")
        return self.id is not None and status is not None and status.origin != "manifest"


@dataclass(frozen=True, slots=True)
class ObjectDrift:
    """A status set, status or workspace difference, from the plan's change for it."""

    kind: str
    key: str
    action: str
    reason: str = ""
    fields: tuple[FieldDrift, ...] = ()
    label: str = ""  # as the plan names it: `status "QA" of set "Flow"`


@dataclass(frozen=True, slots=True)
class WorkspaceDrift:
    """The drift of one workspace (`error`: why it could not be compared)."""

    stack: str
    manifest: str
    workspace: PlanWorkspace
    tasks: tuple[TaskDrift, ...] = ()
    objects: tuple[ObjectDrift, ...] = ()
    requests: int = 0
    error: str | None = None
    entry: str = ""

    @property
    def drifted(self) -> bool:
        return bool(self.tasks or self.objects)

    def counts(self) -> dict[str, int]:
        """How many of each kind of difference (for the summary and the aggregate)."""
        fields = [f for t in self.tasks for f in t.fields]
        return {
            "tasks": len(self.tasks),
            "changed_in_kantata": sum(1 for f in fields if f.origin in ("kantata", "both")),
            "changed_in_manifest": sum(1 for f in fields if f.origin in ("manifest", "both")),
            "unknown_origin": sum(1 for f in fields if f.origin == "unknown"),
            "checklist_items": sum(len(t.items) for t in self.tasks),
            "missing_tasks": sum(1 for t in self.tasks if t.state in MISSING),
            "not_in_manifest": sum(1 for t in self.tasks if t.state == "not_in_manifest"),
            "statuses": sum(1 for o in self.objects if o.kind != "workspace"),
            "workspace": sum(1 for o in self.objects if o.kind == "workspace"),
        }


def workspace_origins(change: Change) -> Mapping[str, str]:
    """field -> origin of a workspace change, when the change carries them (else {})."""
    origin = getattr(change, "origin", None)
    return origin if isinstance(origin, Mapping) else {}


# --------------------------------------------------------------------------- comparing


def compare_workspace(manifest: Manifest, live: LiveState, plan: Plan) -> WorkspaceDrift:
    """The drift of `live` from `manifest` (`plan`: the plan made from the same reads)."""
    matching = match_tasks(manifest, live)
    parents = {t.parent_key for t in manifest.tasks if t.parent_key is not None}
    unmarked = _unmarked(manifest, live, matching)
    paths = _paths(manifest)
    tasks: list[TaskDrift] = []
    for task in manifest.tasks:
        found = matching.by_key.get(task.key)
        if found is None:
            state = "unmarked" if task.key in unmarked else "missing"
            lost = unmarked.get(task.key)
            tasks.append(TaskDrift(task.key, paths[task.key], task.title, state, lost))
            continue
        one = _task(manifest, task, found, paths[task.key], task.key in parents, matching)
        if one is not None:
            tasks.append(one)
    for orphan in matching.orphans:
        key = orphan.key_for(manifest.name) or ""
        tasks.append(TaskDrift(key, key, orphan.title, "not_in_manifest", orphan.id))
    return WorkspaceDrift(
        stack=manifest.name,
        manifest=manifest.path,
        workspace=plan.workspace,
        tasks=tuple(tasks),
        objects=tuple(_objects(plan)),
        requests=int(plan.requests.get("read", 0)),
    )


def _paths(manifest: Manifest) -> dict[str, str]:
    paths: dict[str, str] = {}
    for task in manifest.tasks:  # pre-order: a parent's path is known before its children
        parent = paths.get(task.parent_key or "")
        paths[task.key] = f"{parent}/{task.key}" if parent else task.key
    return paths


def _unmarked(manifest: Manifest, live: LiveState, matching: Matching) -> dict[str, str]:
    """Missing key -> id of an unmanaged task with its title path (its marker was removed)."""
    if not matching.unmanaged:
        return {}
    from kxplan.adopt import match_for_adoption
    from kxplan.errors import KxplanError

    try:
        found = match_for_adoption(manifest, live)
    except KxplanError:  # ambiguous look-alikes: say "missing", not which one
        return {}
    return {k: t.id for k, t in found.items() if k not in matching.by_key}


def _task(
    manifest: Manifest,
    task: DesiredTask,
    live: LiveTask,
    path: str,
    is_parent: bool,
    matching: Matching,
) -> TaskDrift | None:
    marker = live.marker_for(manifest.name)
    memory = decode(marker.message) if marker is not None else None
    fields = [*_renamed(task, matching), *_fields(task, live, memory, is_parent)]
    items = _items(task, live, memory)
    if not fields and not items:
        return None
    return TaskDrift(task.key, path, task.title, "changed", live.id, tuple(fields), tuple(items))


def _renamed(task: DesiredTask, matching: Matching) -> list[FieldDrift]:
    old = matching.renamed.get(task.key)
    return [FieldDrift("key", task.key, old, "manifest")] if old is not None else []


def _fields(
    task: DesiredTask, live: LiveTask, memory: Memory | None, is_parent: bool
) -> list[FieldDrift]:
    out = []
    for name in COMPARED_FIELDS:
        if name not in task.fields or name in task.ignore_changes:
            continue
        if name in PROGRESS_FIELDS and is_parent:
            continue  # Kantata rolls a parent's progress up from its subtasks
        want, have = desired_value(task, name), live_value(live, name)
        if name == "tags":
            have = unique_tags(have)
        if same(name, want, have):
            continue
        origin = field_origin(name, want, have, memory) or "unknown"
        out.append(FieldDrift(name, want, have, origin))
    return out


def _items(task: DesiredTask, live: LiveTask, memory: Memory | None) -> list[ItemDrift]:
    """Items paired as the plan pairs them (by name, then `renamed_from`); the rest are in
    one side only."""
    if "checklist" not in task.fields or "checklist" in task.ignore_changes:
        return []
    pairs = pair_by_name(task.checklist, live.checklist)
    paired = {id(item) for item in pairs.values()}
    out = [
        ItemDrift(task.checklist[i].name, "renamed_in_manifest", "manifest")
        for i, item in sorted(pairs.items())
        if item.name != task.checklist[i].name
    ]
    for item in live.checklist:
        if id(item) not in paired:
            out.append(_extra(item.name, _created(memory, (item.name,))))
    for i, wanted in enumerate(task.checklist):
        if i not in pairs:  # kxplan created it under this name or one it was renamed from
            out.append(_lacking(wanted.name, _created(memory, (wanted.name, *wanted.renamed_from))))
    return out


def _created(memory: Memory | None, names: tuple[str, ...]) -> bool | None:
    """Whether kxplan created an item of one of these names (None: no item memory)."""
    if memory is None or memory.items is None:
        return None
    return any(memory.created_item(n) for n in names)


def _extra(name: str, created: bool | None) -> ItemDrift:
    """An item in Kantata that the manifest does not list."""
    if created is None:
        return ItemDrift(name, "not_in_manifest", "unknown")
    if created:
        return ItemDrift(name, "removed_from_manifest", "manifest")
    return ItemDrift(name, "added_in_kantata", "kantata")


def _lacking(name: str, created: bool | None) -> ItemDrift:
    """An item the manifest lists that Kantata does not have."""
    if created is None:
        return ItemDrift(name, "missing_in_kantata", "unknown")
    if created:
        return ItemDrift(name, "removed_in_kantata", "kantata")
    return ItemDrift(name, "added_to_manifest", "manifest")


def _objects(plan: Plan) -> list[ObjectDrift]:
    out = []
    for change in plan.changes:
        if change.kind not in (Kind.STATUS_SET, Kind.STATUS, Kind.WORKSPACE):
            continue
        if not change.action.makes_calls and change.action is not Action.BLOCKED:
            continue
        out.append(_object(change))
    return out


def _object(change: Change) -> ObjectDrift:
    before = getattr(change, "before", None) or {}
    after = getattr(change, "after", None) or {}
    origins = workspace_origins(change) if change.kind is Kind.WORKSPACE else {}
    names = [f for f in change.fields if f != "marker"]
    fields = tuple(
        FieldDrift(n, after.get(n), before.get(n), str(origins.get(n) or "unknown")) for n in names
    )
    key = change.path or change.key
    kind, action = str(change.kind), str(change.action)
    return ObjectDrift(kind, key, action, change.reason, fields, label(change))


def with_deleted(drift: WorkspaceDrift, deleted: Mapping[str, DeletedTask]) -> WorkspaceDrift:
    """`drift` with its missing tasks that Kantata holds deleted (key -> deleted story)."""
    tasks = tuple(
        replace(t, state="deleted", id=deleted[t.key].id, deleted_at=deleted[t.key].deleted_at)
        if t.state == "missing" and t.key in deleted
        else t
        for t in drift.tasks
    )
    return replace(drift, tasks=tasks)


def with_history(
    drift: WorkspaceDrift, history: Mapping[str, StatusChange | None]
) -> WorkspaceDrift:
    """`drift` with the status changes read for its tasks (story id -> change)."""
    tasks = tuple(
        replace(t, status_change=history.get(t.id), history_read=True)
        if t.id is not None and t.id in history
        else t
        for t in drift.tasks
    )
    return replace(drift, tasks=tasks)


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every workspace compared, in order (one for a plain manifest; a fleet's members)."""

    workspaces: tuple[WorkspaceDrift, ...] = field(default_factory=tuple)
    fleet: str | None = None

    @property
    def drifted(self) -> bool:
        return any(w.drifted for w in self.workspaces)

    @property
    def failed(self) -> tuple[WorkspaceDrift, ...]:
        return tuple(w for w in self.workspaces if w.error is not None)
