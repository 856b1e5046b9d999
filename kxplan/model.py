"""Frozen values shared by every layer: the *desired* workspace (from manifests) and the
*live* workspace (from Kantata). The plan types live in `kxplan.plan`.

Conventions:
- Dates are ISO strings `YYYY-MM-DD` (or None); comparing strings compares dates.
- Ids are Kantata ids as strings (the API returns string ids).
- Tuples, never lists; `frozenset` for sets of field names.
- A task's `key` is its identity; the title is just a field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The four status categories Kantata knows (also the statuses of a workspace with no set).
CATEGORIES: tuple[str, ...] = ("not started", "started", "needs info", "completed")

#: story_type values.
TASK_TYPES: tuple[str, ...] = ("task", "milestone", "deliverable", "issue")

#: priority values.
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "critical")

#: Task fields a manifest may set and kxplan then manages (compared on update).
TASK_FIELDS: tuple[str, ...] = (
    "title",
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
    "parent",
)

#: Progress fields people record in Kantata: written on create, later only with `enforce`.
#: `completed` means the `completed` flag of checklist items.
PROGRESS_FIELDS: tuple[str, ...] = ("status", "percentage_complete", "completed")

#: The marker's service_name on every object kxplan owns.
SERVICE_NAME = "kxplan"

#: service_model_ref of a workspace's marker (service_model is the stack).
WORKSPACE_MARKER_REF = "workspace"

#: The service_name of the workspace lock's reference (kxplan.lock): its own, so the lock's
#: `create_or_update` can never replace a marker.
LOCK_SERVICE = "kxplan-lock"

#: The marker's `external_status` on a task kxplan must never delete (`protect: true`).
#: Written on Kantata itself, so protection survives the task leaving the manifest.
PROTECTED = "protected"

#: The marker's `external_status` written when a task is released (`protect: false`); the
#: reference is updated in place, so the old value must be overwritten, not left out.
UNPROTECTED = "managed"

#: Longest post message kxplan writes (Kantata documents no limit; docs/manifest.md, "Posts").
MAX_MESSAGE = 10_000

#: The marker's `external_status` on the post `apply --notify` writes: such posts are
#: kxplan's but no manifest's `posts:` entry, so plans never update or delete them.
NOTIFICATION = "notification"

#: How the marker's `service_model_ref` of a notification post starts (a manifest key
#: cannot hold ':', so it never names a post of `posts:`).
NOTIFY_REF = "notify:"

#: Deepest `depth` allowed (0 = top-level task, 4 = four levels below it).
MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value was written: file and 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Location("<none>", 0, 0)


# --------------------------------------------------------------------------- desired


@dataclass(frozen=True, slots=True)
class DesiredChecklistItem:
    name: str
    completed: bool = False
    renamed_from: tuple[str, ...] = ()
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class DesiredStatus:
    name: str
    category: str
    renamed_from: tuple[str, ...] = ()
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class DesiredStatusSet:
    """The account-wide set a workspace should use; statuses in position order."""

    name: str
    statuses: tuple[DesiredStatus, ...]
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class DesiredTask:
    """One task of the manifest, after variables, defaults and inheritance are resolved.

    `fields` names the TASK_FIELDS the manifest wrote for this task (plus `title` and
    `parent`, always managed). Only those are compared on update. On create, unset fields
    are simply not sent, so Kantata's defaults apply.
    `enforce` and `ignore_changes` already include the top-level lists.
    """

    key: str
    title: str
    parent_key: str | None = None
    depth: int = 0
    index: int = 0  # position among its siblings in the manifest (0-based)
    type: str = "task"
    description: str | None = None
    start_date: str | None = None
    due_date: str | None = None
    priority: str | None = None
    status: str | None = None
    percentage_complete: int | None = None
    tags: tuple[str, ...] = ()
    checklist: tuple[DesiredChecklistItem, ...] = ()
    archived: bool = False
    protect: bool = False
    renamed_from: tuple[str, ...] = ()
    enforce: frozenset[str] = frozenset()
    ignore_changes: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset({"title", "parent"})
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class DesiredPost:
    """A post of the manifest's `posts:` (docs/manifest.md, "Posts"): its key (identity),
    its message (variables substituted) and the key of the task it is linked to, if any."""

    key: str
    message: str
    task: str | None = None
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class Manifest:
    """A whole validated manifest: one kxplan stack for one workspace.

    `tasks` is flattened in pre-order (every parent before its children, siblings in
    manifest order), so creates by depth can walk it directly.
    """

    path: str
    name: str
    workspace: str | int | None
    tasks: tuple[DesiredTask, ...]
    status_set: DesiredStatusSet | None = None
    prune: bool = False
    vars: tuple[tuple[str, str], ...] = ()
    #: The `workspace:` mapping form (title or id, create, fields kxplan manages), or None
    #: when `workspace:` is a plain title or id (then only `workspace` says which).
    desired_workspace: DesiredWorkspace | None = None
    #: The posts kxplan keeps in the workspace's activity feed (`posts:`).
    posts: tuple[DesiredPost, ...] = ()
    #: The manifest has a `posts:` list (even `[]`): it manages the stack's posts, so its
    #: plans read them (and prune the ones it dropped). Without one, posts are not read.
    manages_posts: bool = False
    #: `notify: true`: every apply that changes something posts what it changed.
    notify: bool = False

    def task(self, key: str) -> DesiredTask | None:
        for t in self.tasks:
            if t.key == key:
                return t
        return None

    @property
    def uses_statuses(self) -> bool:
        """Whether planning needs the account's status sets: the manifest defines a set or
        a task sets a status. Otherwise its plans read none (docs/plan.md, "Command line")."""
        return self.status_set is not None or any(t.status is not None for t in self.tasks)


@dataclass(frozen=True, slots=True)
class DesiredWorkspace:
    """The `workspace:` mapping form (docs/manifest.md, "The workspace mapping form").

    Exactly one of `title` and `id` says which workspace; `create` lets kxplan create it
    (by title) when no workspace has that title. `fields` names the workspace fields the
    manifest set (`description`, `start_date`, `due_date`): kxplan manages those.
    """

    title: str | None = None
    id: int | None = None
    create: bool = False
    description: str | None = None
    start_date: str | None = None
    due_date: str | None = None
    fields: frozenset[str] = frozenset()
    loc: Location = NOWHERE

    @property
    def ref(self) -> str | int:
        """What today's callers take as `Manifest.workspace`: the id, else the title."""
        return self.id if self.id is not None else (self.title or "")


@dataclass(frozen=True, slots=True)
class FleetMember:
    """One entry of a fleet (`workspaces:`): its workspace and the template expanded with
    its variables. `workspace` is the entry's `workspace:` (a title, an id, or the mapping
    form as `manifest.desired_workspace`); `loc` is where the entry was written."""

    workspace: str | int
    manifest: Manifest
    vars: tuple[tuple[str, str], ...] = ()
    loc: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class Fleet:
    """A validated fleet manifest: one template, one member per listed workspace.
    `marked`: a fleet by marker (`workspaces: {marked: true}`), whose members are the
    workspaces carrying the stack's workspace marker (docs/fleet.md)."""

    path: str
    name: str
    members: tuple[FleetMember, ...]
    marked: bool = False


@dataclass(frozen=True, slots=True)
class SourceLocation(Location):
    """A Location inside an included file or a for_each copy: `chain` says how the
    manifest got there, innermost first (`included from template.yaml:12:5`)."""

    chain: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where} ({'; '.join(self.chain)})" if self.chain else where


# --------------------------------------------------------------------------- live


@dataclass(frozen=True, slots=True)
class LiveMarker:
    """An external reference on a story (`service_name/model/ref`).

    `protected`: its `external_status` is PROTECTED (the task is `protect: true`).
    `message`: its `external_message`, where kxplan keeps its memory of what it wrote on the
    task (kxplan.planner.memory; "" when there is none).
    """

    id: str
    service_name: str
    service_model: str
    service_model_ref: str
    protected: bool = False
    message: str = ""


@dataclass(frozen=True, slots=True)
class LiveChecklistItem:
    id: str
    name: str
    completed: bool
    position: int
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class LiveTask:
    """A story as read from Kantata (archived ones included, deleted ones never)."""

    id: str
    title: str
    parent_id: str | None
    type: str = "task"
    description: str | None = None
    start_date: str | None = None
    due_date: str | None = None
    priority: str | None = None
    status: str | None = None  # status name (custom status or category)
    state: str = "not started"  # the category
    percentage_complete: int = 0
    archived: bool = False
    position: int = 0
    tags: tuple[str, ...] = ()  # sorted, as returned
    checklist: tuple[LiveChecklistItem, ...] = ()  # sorted by position, then id
    markers: tuple[LiveMarker, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    custom_task_status_id: str | None = None

    def key_for(self, stack: str) -> str | None:
        """The task key this story carries for stack `stack`, or None (unmanaged)."""
        for m in self.markers:
            if m.service_name == SERVICE_NAME and m.service_model == stack:
                return m.service_model_ref
        return None

    def marker_for(self, stack: str) -> LiveMarker | None:
        for m in self.markers:
            if m.service_name == SERVICE_NAME and m.service_model == stack:
                return m
        return None


@dataclass(frozen=True, slots=True)
class LiveStatus:
    id: str
    name: str
    category: str
    position: int


@dataclass(frozen=True, slots=True)
class LiveStatusSet:
    id: str
    name: str
    statuses: tuple[LiveStatus, ...]  # sorted by position, then id
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class LiveWorkspace:
    """A workspace as Kantata has it (`id` "" while it does not exist yet: a plan that
    creates it is made against an empty one)."""

    id: str
    title: str
    task_status_set_id: str | None = None
    updated_at: str = ""
    description: str | None = None
    start_date: str | None = None
    due_date: str | None = None
    #: The stacks whose workspace marker it carries (read with include=external_references).
    marked: frozenset[str] = frozenset()
    #: Archived in Kantata (a fleet by marker leaves such a workspace alone).
    archived: bool = False
    #: (stack, its marker's `external_message`): kxplan's memory of the fields it wrote
    #: (kxplan.planner.workspace.workspace_memory).
    messages: tuple[tuple[str, str], ...] = ()
    #: Its workspace-lock references (`LOCK_SERVICE`) as the look-up's answer included them,
    #: so `apply` peeks at the lock without a read of its own (kxplan.lock); None when the
    #: answer did not include its references (the lock is then read).
    lock_refs: tuple[Mapping[str, Any], ...] | None = field(default=None, compare=False, repr=False)

    def message_for(self, stack: str) -> str | None:
        """The `external_message` of `stack`'s workspace marker; None without one."""
        return next((text for owner, text in self.messages if owner == stack), None)


@dataclass(frozen=True, slots=True)
class LivePost:
    """A top-level post of the workspace's activity feed (replies are never kxplan's).

    `marker`: the stack's external reference on it (None: a person's post, or another
    stack's). `story_id`: the task it is linked to. `replies`: how many replies it has.
    """

    id: str
    message: str
    story_id: str | None = None
    marker: LiveMarker | None = None
    replies: int = 0
    updated_at: str = ""

    @property
    def notification(self) -> bool:
        """A post `apply --notify` wrote (never planned)."""
        return self.marker is not None and self.marker.service_model_ref.startswith(NOTIFY_REF)


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything kxplan needs to plan one manifest against one workspace.

    `status_sets` holds every task status set on the account (they are account-wide and
    matched by name), each with its statuses. `tasks` is sorted by id (numeric).
    `requests` is how many HTTP requests the read took. Who else uses a status set is not
    part of it: it is counted after planning, only when needed (kxplan.shared_sets).
    """

    workspace: LiveWorkspace
    tasks: tuple[LiveTask, ...]
    status_sets: tuple[LiveStatusSet, ...] = ()
    requests: int = 0
    #: The workspace's top-level posts that carry this stack's marker (kxplan.live.posts);
    #: None when they were not read (the manifest has no `posts:` and no prune).
    posts: tuple[LivePost, ...] | None = None

    def status_set_named(self, name: str) -> LiveStatusSet | None:
        for s in self.status_sets:
            if s.name == name:
                return s
        return None

    def assigned_status_set(self) -> LiveStatusSet | None:
        for s in self.status_sets:
            if s.id == self.workspace.task_status_set_id:
                return s
        return None


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What the user asked of the planner (flags and manifest switches)."""

    prune: bool = False
    allow_mass_delete: bool = False
    targets: tuple[str, ...] = ()
    adopt: bool = False
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)
