"""The apply order, declared once: the waves, and the stages inside each, in execution order.

A stage names the change types it holds and how they are sorted inside it (`by`: value
names, `-name` for descending). The planner places every change in a stage
(`kxplan.planner.order.place`), which gives the change its wave and its sort key
`(wave, stage, by-values, text)`; the applier (`kxplan.apply._core`) runs the stages of
each wave in this order, one handler per stage. So the plan lists changes in the order the
applier sends them, and a new kind of change is one new row here plus its handler
(docs/apply.md, "What apply does, in order").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kxplan import changes
from kxplan.changes.base import WAVES, Change, ReasonCode

_DELETE_WAVE = WAVES.index("delete")


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of the apply: which change types (`when` narrows them), in which wave, and
    sorted by which values inside it (`by`; `-name`: descending; a value not given is 0)."""

    name: str
    wave: str
    types: tuple[type[Change], ...]
    by: tuple[str, ...] = ()
    when: Callable[[Change], bool] | None = None
    about: str = ""

    @property
    def wave_number(self) -> int:
        return WAVES.index(self.wave)

    def takes(self, change: Change) -> bool:
        """Whether `change` belongs to this stage."""
        return isinstance(change, self.types) and (self.when is None or self.when(change))

    def sort_values(self, values: Mapping[str, int]) -> tuple[int, ...]:
        """The `by` values in order, descending ones negated. An unknown name is a bug."""
        names = {n.lstrip("-") for n in self.by}
        unknown = sorted(set(values) - names)
        if unknown:
            raise TypeError(f"kxplan bug: stage {self.name!r} is not sorted by {unknown}")
        return tuple(
            -values.get(n[1:], 0) if n.startswith("-") else values.get(n, 0) for n in self.by
        )


def _early(change: Change) -> bool:
    """A status delete planned before the delete wave (plans of older versions, which
    freed a name that way) runs with the other status changes."""
    return not isinstance(change, changes.StatusDelete) or change.wave < _DELETE_WAVE


def _late(change: Change) -> bool:
    return change.wave >= _DELETE_WAVE


def _unmanaged(change: Change) -> bool:
    return change.code is ReasonCode.UNMANAGED


def _other_note(change: Change) -> bool:
    return not _unmanaged(change)


def _assigns_set(change: Change) -> bool:
    return isinstance(change, changes.WorkspaceUpdate) and change.assigns_set


def _own_fields(change: Change) -> bool:
    return isinstance(change, changes.WorkspaceUpdate) and not change.assigns_set


WORKSPACE_CREATE = Stage(
    "workspace create",
    "status_set",
    (changes.WorkspaceCreate,),
    about="the workspace itself, first of all: everything else needs its id",
)
WORKSPACE_FIELDS = Stage(
    "workspace fields",
    "status_set",
    (changes.WorkspaceUpdate,),
    when=_own_fields,
    about="the workspace's own fields and marker, before its status set",
)


STATUS_SET = Stage("status set", "status_set", (changes.StatusSetCreate,), about="the set first")
STATUSES = Stage(
    "statuses",
    "status_set",
    (changes.StatusCreate, changes.StatusUpdate, changes.StatusReplace, changes.StatusDelete),
    by=("position",),
    when=_early,
    about="by manifest position; creates and renames, then replacements, then positions",
)
SET_ASSIGNMENT = Stage("set assignment", "workspace", (changes.WorkspaceUpdate,), when=_assigns_set)
CREATES = Stage(
    "creates and adoptions",
    "create",
    (changes.TaskCreate, changes.TaskAdopt),
    by=("depth", "rank"),
    about="parents first, manifest order; the bulk creates are sent, then the adoptions",
)
UPDATES = Stage(
    "updates and moves",
    "update",
    (changes.TaskUpdate, changes.TaskMove),
    by=("flag_after_marker", "depth", "rank"),
    about="shallowest first, manifest order; a protect flag after its marker rewrite",
)
CHECKLIST = Stage(
    "checklist items",
    "checklist",
    (
        changes.ChecklistItemCreate,
        changes.ChecklistItemUpdate,
        changes.ChecklistItemDelete,
        changes.ChecklistItemKeep,
    ),
    by=("rank", "phase", "position"),
    about="task by task (manifest order): deletes, updates, then creates, by position",
)
POSTS = Stage(
    "posts",
    "checklist",
    (changes.PostCreate, changes.PostUpdate),
    by=("rank",),
    about="the manifest's posts in its order, once the tasks they are linked to exist",
)
POST_DELETES = Stage(
    "post deletes",
    "delete",
    (changes.PostDelete,),
    by=("rank",),
    about="posts of this stack the manifest dropped (prune), before the tasks go",
)
TASK_DELETES = Stage(
    "task deletes",
    "delete",
    (changes.TaskDelete,),
    by=("-copy", "-depth"),
    about="copies of a marker first, then deepest first (children before parents)",
)
STATUS_DELETES = Stage(
    "status deletes",
    "delete",
    (changes.StatusDelete,),
    by=("position",),
    when=_late,
    about="after the task changes: a status is in use until its tasks have moved on",
)
KEPT = Stage(
    "kept and blocked",
    "delete",
    (changes.TaskKeep, changes.TaskBlocked, changes.StatusKeep, changes.PostKeep),
    by=("position",),
    about="no call: tasks, then statuses by position, then posts",
)
NOTES = Stage("notes", "delete", (changes.Note,), by=("rank",), when=_other_note, about="no call")
UNMANAGED = Stage("unmanaged tasks", "delete", (changes.Note,), when=_unmanaged, about="no call")

#: Every stage, in execution order (wave by wave). The one table of the apply order.
STAGES: tuple[Stage, ...] = (
    WORKSPACE_CREATE,
    WORKSPACE_FIELDS,
    STATUS_SET,
    STATUSES,
    SET_ASSIGNMENT,
    CREATES,
    UPDATES,
    CHECKLIST,
    POSTS,
    POST_DELETES,
    TASK_DELETES,
    STATUS_DELETES,
    KEPT,
    NOTES,
    UNMANAGED,
)


def stage_of(change: Change) -> Stage | None:
    """The stage `change` runs in (None: no stage takes it, e.g. a type from a newer kxplan)."""
    return next((s for s in STAGES if s.takes(change)), None)


def stage_number(stage: Stage) -> int:
    return STAGES.index(stage)
