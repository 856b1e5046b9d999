"""Suspected renames: a planned create that looks like a managed task the plan keeps or deletes.

A title edit on a task whose key is derived from its title changes the key, so the plan
creates a new task and keeps (or, with prune, deletes) the old one with its history. The
planner cannot know whether that is what the user meant, so it pairs each such create with
its look-alike and `apply` refuses to create it until the user says which it is (docs/plan.md,
"Suspected renames"; docs/apply.md, "The suspected-rename gate").

A create C and a kept/deleted/blocked managed task O look alike when all of these hold:
- same parent: both top-level, or C's parent is O's live parent (C's parent may itself be
  a create paired with O's parent, so renaming a parent with derived keys pairs its
  subtree level by level);
- same type, and every other field the manifest sets for C that a person does not change
  in the normal course of work (description, start and due date, priority, tags) compares
  equal to O's under the plan's normalisation; every checklist item C lists exists on O by
  name (people's additions and ticks do not count);
- similar titles (kxplan.planner.similar: one word changed, added or removed, or a typo).

Explicit keys qualify too: a changed explicit key next to a similar title is the same
mistake (`renamed_from` was forgotten). A key already listed in some task's `renamed_from`
is never suggested again. Pairing is greedy and deterministic: level by level from the top,
the most similar pair first, ties broken by the new key, then the old key; a task pairs at
most once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from kxplan.changes.base import Action, Change, Kind, ReasonCode
from kxplan.errors import UnsafePlanError
from kxplan.ids import IdOrder, id_order
from kxplan.model import NOWHERE, DesiredTask, LiveTask
from kxplan.plan import Plan, SuspectedRename
from kxplan.planner.context import Context
from kxplan.planner.normalize import desired_value, live_value, same
from kxplan.planner.similar import (
    IndexKey,
    index_keys,
    probe_keys,
    title_words,
    words_similarity,
)

#: Fields compared besides the title (type always; the others where the manifest sets them).
LOOKALIKE_FIELDS: tuple[str, ...] = ("description", "start_date", "due_date", "priority", "tags")

#: Bounds that keep a plan with thousands of identically titled siblings fast: at most
#: BUCKET_CAP old tasks (first by key) are looked at per index entry, and at most
#: MAX_CANDIDATES look-alikes (best first) are weighed for one new task.
BUCKET_CAP = 200
MAX_CANDIDATES = 20

#: A new task's look-alike: the old live task and the similarity of their titles.
Pair = tuple[LiveTask, float]

#: The anchor of a top-level task (others are anchored at their live parent's id).
TOP = ""


def fields_alike(task: DesiredTask, old: LiveTask) -> bool:
    """Same type, and the same value for every LOOKALIKE_FIELDS field the manifest sets."""
    if not same("type", task.type, old.type):
        return False
    for name in LOOKALIKE_FIELDS:
        if name in task.fields and not same(name, desired_value(task, name), live_value(old, name)):
            return False
    if "checklist" in task.fields:
        have = {i.name.strip().casefold() for i in old.checklist}
        return all(i.name.strip().casefold() in have for i in task.checklist)
    return True


def find_suspected_renames(ctx: Context, changes: Sequence[Change]) -> tuple[SuspectedRename, ...]:
    """Pair the plan's task creates with look-alike tasks it keeps, deletes or blocks."""
    creates = [c for c in changes if c.kind is Kind.TASK and c.action is Action.CREATE]
    held = (Action.KEEP, Action.DELETE, Action.BLOCKED)
    old_changes = {c.id: c for c in changes if c.kind is Kind.TASK and c.action in held and c.id}
    claimed = {k for t in ctx.manifest.tasks for k in t.renamed_from}
    olds = [
        t for t in ctx.matching.orphans if t.id in old_changes and ctx.live_key(t) not in claimed
    ]
    if not creates or not olds:
        return ()
    paired: dict[str, Pair] = {}  # new key -> (old live task, title similarity)
    for depth in sorted({c.depth for c in creates}):
        level = [ctx.desired[c.key] for c in creates if c.depth == depth]
        taken = {old.id for old, _ in paired.values()}
        free = [t for t in olds if t.id not in taken]
        paired.update(_pair_level(ctx, level, free, paired))
    return tuple(
        _suspect(ctx, ctx.desired[key], old, score, old_changes[old.id])
        for key, (old, score) in sorted(paired.items())
    )


def _pair_level(
    ctx: Context,
    level: Iterable[DesiredTask],
    olds: Sequence[LiveTask],
    paired: dict[str, Pair],
) -> dict[str, Pair]:
    groups: dict[str, tuple[list[DesiredTask], list[LiveTask]]] = {}
    for old in olds:
        groups.setdefault(old.parent_id or TOP, ([], []))[1].append(old)
    for task in level:
        anchor = _anchor(ctx, task, paired)
        if anchor is not None and anchor in groups:
            groups[anchor][0].append(task)
    out: dict[str, Pair] = {}
    for news, group_olds in groups.values():
        out.update(_greedy(ctx, news, group_olds))
    return out


def _anchor(ctx: Context, task: DesiredTask, paired: dict[str, Pair]) -> str | None:
    """The live parent id the new task will be under (TOP: the top level), or None when its
    parent is a new task that looks like nothing that exists."""
    if task.parent_key is None:
        return TOP
    parent = ctx.matching.by_key.get(task.parent_key)
    if parent is None and task.parent_key in paired:
        parent = paired[task.parent_key][0]
    return parent.id if parent is not None else None


def _greedy(ctx: Context, news: Sequence[DesiredTask], olds: Sequence[LiveTask]) -> dict[str, Pair]:
    """Most similar first; ties by new key, then old key (then id, for copies)."""
    index: dict[IndexKey, list[LiveTask]] = {}
    old_words = {old.id: title_words(old.title) for old in olds}
    for old in olds:
        for ikey in set(index_keys(old_words[old.id])):
            index.setdefault(ikey, []).append(old)
    candidates: list[tuple[float, str, str, IdOrder, LiveTask]] = []
    for task in news:
        words = title_words(task.title)
        found = {o.id: o for k in probe_keys(words) for o in index.get(k, ())[:BUCKET_CAP]}
        mine = []
        for old in found.values():
            score = words_similarity(words, old_words[old.id])
            if score is not None and fields_alike(task, old):
                mine.append((-score, task.key, ctx.live_key(old), id_order(old.id), old))
        candidates.extend(sorted(mine, key=lambda c: c[:4])[:MAX_CANDIDATES])
    out: dict[str, Pair] = {}
    used: set[str] = set()
    for negative, key, _, _, old in sorted(candidates, key=lambda c: c[:4]):
        if key not in out and old.id not in used:
            out[key] = (old, -negative)
            used.add(old.id)
    return out


def _suspect(
    ctx: Context, task: DesiredTask, old: LiveTask, score: float, held: Change
) -> SuspectedRename:
    old_key = ctx.live_key(old)
    keys = [*task.renamed_from, old_key]
    return SuspectedRename(
        key=task.key,
        renamed_from=old_key,
        id=old.id,
        title=task.title,
        old_title=old.title,
        old_action=held.action.value,
        similarity=score,
        path=ctx.desired_path(task.key),
        old_path=held.path or old_key,
        location="" if task.loc == NOWHERE else str(task.loc),
        line=f"renamed_from: [{', '.join(keys)}]",
    )


def check_renames_resolved(
    plans: Sequence[Plan], accept_new: Iterable[str] = (), accept_all_new: bool = False
) -> tuple[str, ...]:
    """Refuse to apply plans with suspected renames the user has not resolved.

    Returns the `--accept-new` keys that name no suspected rename (for a warning). Raises
    UnsafePlanError naming every unresolved pair and both ways out.
    """
    accepted = set(accept_new)
    suspects = [s for p in plans for s in p.suspected_renames]
    known = {s.key for s in suspects}
    unknown = tuple(sorted(accepted - known))
    open_ = [s for s in suspects if not accept_all_new and s.key not in accepted]
    if not open_:
        return unknown
    n = len(open_)
    lines = [
        f"refusing to apply: {n} planned task create{'s' if n != 1 else ''} "
        f"look{'s' if n == 1 else ''} like a task the plan keeps or deletes (a suspected "
        "rename); nothing was changed:"
    ]
    lines.extend(_gate_line(s) for s in open_)
    lines.extend(f"  --accept-new {key} names no suspected rename (a typo?)" for key in unknown)
    raise UnsafePlanError(
        "\n".join(lines),
        hint="add the renamed_from line to keep the task, its id and history (then plan "
        "again), or create the new task with "
        + " ".join(f"--accept-new {s.key}" for s in open_)
        + (" (or --accept-all-new)" if n > 1 else ""),
    )


def _gate_line(s: SuspectedRename) -> str:
    where = f" at {s.location}" if s.location else ""
    return (
        f'  task {s.path} "{s.title}" looks like task {s.old_path} (#{s.id}) "{s.old_title}", '
        f"which the plan {s.old_fate}: to keep that task, add `{s.line}` to the task{where}; "
        f"to create a new task, --accept-new {s.key}"
    )


def mark_suspects(
    changes: tuple[Change, ...], suspects: Sequence[SuspectedRename]
) -> tuple[Change, ...]:
    """The changes with each suspected create's reason saying what it looks like."""
    by_key = {s.key: s for s in suspects}
    if not by_key:
        return changes
    return tuple(
        replace(c, reason=_create_reason(by_key[c.key]), code=ReasonCode.SUSPECTED_RENAME)
        if c.kind is Kind.TASK and c.action is Action.CREATE and c.key in by_key
        else c
        for c in changes
    )


def _create_reason(s: SuspectedRename) -> str:
    return (
        f"suspected rename of task {s.old_path} (#{s.id}): add `{s.line}` to keep it, "
        f"or apply with --accept-new {s.key}"
    )
