"""Stories that carry the marker of another task: reported once, pruned where no people's
work is on them (docs/plan.md, "Duplicate markers").

Several stories claiming one key (an older kxplan that raced, a task copied in Kantata with
its external reference) resolve to the oldest (lowest id), which is the task; the others are
copies. A plan reports all copies as ONE warning with their count and a sample, and keeps
the full list as data in that note (`before["copies"]`, see `Copy`). With prune, a copy
that carries no people's work is deleted; one that does stays, listed for the user to pick.

People's work on a copy, as far as kxplan can see it in what it reads:
  - progress: `percentage_complete` above 0;
  - a ticked checklist item the manifest does not tick;
  - any subtask (a subtask is someone's work, or a tree that is not a plain copy);
  - an edit since it was created (`updated_at` later than `created_at`);
  - a protected marker.
Time logged, comments, files and assignments are not read by kxplan; a copy with those but
none of the above would look untouched (docs/plan.md says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kxplan.changes.base import ReasonCode
from kxplan.changes.note import CopyJson, Note
from kxplan.changes.stages import NOTES, TASK_DELETES
from kxplan.changes.task import TaskDelete
from kxplan.ids import id_order
from kxplan.model import LiveTask
from kxplan.plan import Plan
from kxplan.planner.context import Context
from kxplan.planner.order import Step, place

#: The key of the one note that lists a plan's duplicate markers.
DUPLICATES_KEY = "duplicate markers"

#: How many copies a message names; the plan's JSON lists them all.
SAMPLE = 10


@dataclass(frozen=True, slots=True)
class Copy:
    """A story carrying the marker of `key`, whose task is story `task_id` (the oldest)."""

    key: str
    id: str
    task_id: str
    title: str
    work: tuple[str, ...] = ()  # people's work seen on it (empty: none)
    deleted: bool = False  # this plan deletes it (prune, no people's work)

    def to_json(self) -> CopyJson:
        return {
            "key": self.key,
            "id": self.id,
            "task_id": self.task_id,
            "title": self.title,
            "work": list(self.work),
            "deleted": self.deleted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Copy:
        return cls(
            key=str(data["key"]),
            id=str(data["id"]),
            task_id=str(data["task_id"]),
            title=str(data.get("title", "")),
            work=tuple(str(w) for w in data.get("work") or ()),
            deleted=bool(data.get("deleted")),
        )

    def label(self) -> str:
        """`'discovery' (#500123)`, with the work seen on it when there is some."""
        work = f": {', '.join(self.work)}" if self.work else ""
        return f"{self.key!r} (#{self.id}{work})"


def plan_duplicates(ctx: Context, in_scope: Callable[[LiveTask], bool]) -> list[Step]:
    """Copy deletes (with prune, no people's work) and the one note listing every copy."""
    copies = [_copy(ctx, key, t) for key, t in ctx.matching.duplicates if in_scope(t)]
    if not copies:
        return []
    copies.sort(key=lambda c: (c.key, id_order(c.id)))
    steps = [_delete(ctx, c) for c in copies if c.deleted]
    note = Note(
        key=DUPLICATES_KEY,
        reason=_reason(copies),
        code=ReasonCode.DUPLICATES,
        before={"copies": [c.to_json() for c in copies]},
        path=DUPLICATES_KEY,
    )
    return [*steps, place(NOTES, note)]


def _copy(ctx: Context, key: str, task: LiveTask) -> Copy:
    primary = ctx.matching.by_key.get(key) or _oldest(ctx, key)
    work = people_work(ctx, key, task)
    return Copy(key, task.id, primary.id, task.title, work, deleted=ctx.prune and not work)


def _oldest(ctx: Context, key: str) -> LiveTask:
    claims = (t for t in ctx.live.tasks if t.key_for(ctx.manifest.name) == key)
    return min(claims, key=lambda t: id_order(t.id))


def people_work(ctx: Context, key: str, task: LiveTask) -> tuple[str, ...]:
    """What people did on `task` that kxplan can see (see the module docstring)."""
    work: list[str] = []
    if task.percentage_complete > 0:
        work.append(f"{task.percentage_complete} % done")
    desired = ctx.desired.get(key)
    done = {i.name for i in desired.checklist if i.completed} if desired else set()
    ticked = sum(1 for i in task.checklist if i.completed and i.name not in done)
    if ticked:
        work.append(f"{ticked} ticked checklist item{'s' if ticked != 1 else ''}")
    children = len(ctx.live_children.get(task.id, ()))
    if children:
        work.append(f"{children} subtask{'s' if children != 1 else ''}")
    if _edited(task):
        work.append("edited since it was created")
    marker = task.marker_for(ctx.manifest.name)
    if marker is not None and marker.protected:
        work.append("protected")
    return tuple(work)


def _edited(task: LiveTask) -> bool:
    created, updated = _time(task.created_at), _time(task.updated_at)
    return created is not None and updated is not None and updated > created


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _delete(ctx: Context, copy: Copy) -> Step:
    change = TaskDelete(
        key=copy.key,
        id=copy.id,
        before={"title": copy.title, "copy_of": copy.task_id},
        reason=f"a copy of #{copy.task_id} (carries its marker, no people's work): the "
        "oldest is kept (prune)",
        code=ReasonCode.DUPLICATE_COPY,
        path=f"{copy.key} (copy)",
    )
    return place(TASK_DELETES, change, f"{copy.key} {copy.id}", copy=1)  # before other deletes


def _reason(copies: Sequence[Copy]) -> str:
    keys = len({c.key for c in copies})
    kept = [c for c in copies if not c.deleted]
    deleted = len(copies) - len(kept)
    worked = [c for c in kept if c.work]
    text = (
        f"{_stories(len(copies))} the marker of another task ({keys} key{'s' if keys != 1 else ''}"
        f"; the oldest story of each is the task): {sample(copies)}."
    )
    if deleted:
        text += f" This plan deletes the {deleted} that carry no people's work (prune)."
    idle = len(kept) - len(worked)
    if idle:
        text += (
            f" {idle} carry no people's work: `kxplan apply --prune` deletes them, keeping "
            "the oldest."
        )
    if worked:
        text += (
            f" {len(worked)} carry people's work and stay for you to pick ({sample(worked)}): "
            "delete one in Kantata, or remove its external reference."
        )
    return text


def _stories(n: int) -> str:
    return f"{n} stor{'ies carry' if n != 1 else 'y carries'}"


def sample(copies: Sequence[Copy], limit: int = SAMPLE) -> str:
    """The first `limit` copies named, and how many more."""
    shown = ", ".join(c.label() for c in copies[:limit])
    return shown + (f" and {len(copies) - limit} more" if len(copies) > limit else "")


def copies_in(plan: Plan) -> tuple[Copy, ...]:
    """Every copy the plan's duplicate note lists (deleted by the plan or not)."""
    return tuple(
        Copy.from_json(c)
        for change in plan.changes
        if isinstance(change, Note) and change.key == DUPLICATES_KEY and change.before
        for c in change.before["copies"]
    )


def copies_left(plans: Iterable[Plan]) -> list[Copy]:
    """The copies that stay after the plans are applied (not deleted by them)."""
    return [c for p in plans for c in copies_in(p) if not c.deleted]


def copies_summary(copies: Sequence[Copy]) -> str:
    """`2 stories carry the marker of another task: 'a' (#12), 'b' (#13: 40 % done)`."""
    return f"{_stories(len(copies))} the marker of another task: {sample(copies)}"
