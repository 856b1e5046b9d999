"""Which live task is which desired task: markers, `renamed_from`, adoption.

A live task belongs to this stack when it carries this stack's marker. Several stories claiming
one key (someone copied a task) resolve to the oldest one (lowest id); the others are reported,
never touched. Tasks with no kxplan marker are unmanaged; tasks of other stacks are invisible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from kxplan.ids import id_order
from kxplan.model import SERVICE_NAME, LiveState, LiveTask, Manifest


@dataclass(frozen=True, slots=True)
class Matching:
    """The outcome of matching one manifest against one workspace."""

    by_key: Mapping[str, LiveTask]  # desired key -> its live task
    renamed: Mapping[str, str]  # desired key -> the old key its marker carries
    adopted: frozenset[str]  # desired keys matched by adoption
    orphans: tuple[LiveTask, ...]  # ours, but no longer in the manifest
    duplicates: tuple[tuple[str, LiveTask], ...]  # (key, extra story claiming it)
    unmanaged: tuple[LiveTask, ...]  # no kxplan marker at all
    managed_count: int  # live tasks this stack owns (one per key)
    stories: int  # live tasks that carry this stack's marker (copies included)


class _Claims(NamedTuple):
    """What `_ours` finds in the live tasks."""

    primary: dict[str, LiveTask]  # key -> its oldest story (dict order: none to rely on)
    duplicates: list[tuple[str, LiveTask]]  # (key, a younger story claiming it), by key
    unmarked: list[LiveTask]  # no kxplan marker at all, in live order
    stories: int  # live tasks that carry this stack's marker (copies included)


def _ours(live: LiveState, stack: str) -> _Claims:
    """One pass over the live tasks: each key's oldest story, its other copies, the tasks
    with no kxplan marker at all, and how many stories carry this stack's marker."""
    primary: dict[str, LiveTask] = {}
    copied: dict[str, list[LiveTask]] = {}  # key -> every story claiming it, in live order
    unmarked: list[LiveTask] = []
    stories = 0
    for task in live.tasks:
        key = task.key_for(stack)
        if key is None:
            # A task with this stack's marker has a kxplan marker: only the others can be
            # unmanaged, so only they are asked.
            if not any(m.service_name == SERVICE_NAME for m in task.markers):
                unmarked.append(task)
            continue
        stories += 1
        first = primary.setdefault(key, task)
        if first is not task:
            copied.setdefault(key, [first]).append(task)
    duplicates: list[tuple[str, LiveTask]] = []
    # Only keys claimed more than once need their claims sorted (oldest first); keys are
    # visited in sorted order so `duplicates` comes out sorted by key.
    for key in sorted(copied):
        oldest_first = sorted(copied[key], key=lambda t: id_order(t.id))
        primary[key] = oldest_first[0]
        duplicates.extend((key, extra) for extra in oldest_first[1:])
    return _Claims(primary, duplicates, unmarked, stories)


def match_tasks(
    manifest: Manifest, live: LiveState, adoption: Mapping[str, LiveTask] | None = None
) -> Matching:
    """Match desired tasks to live ones: by key, then `renamed_from`, then adoption."""
    claims = _ours(live, manifest.name)
    primary, duplicates = claims.primary, claims.duplicates
    by_key = {t.key: found for t in manifest.tasks if (found := primary.get(t.key)) is not None}
    renamed: dict[str, str] = {}
    if len(by_key) < len(manifest.tasks):  # else every task matched by its key: none renamed
        desired_keys = {t.key for t in manifest.tasks}
        claimed = set(by_key)
        for task in manifest.tasks:
            if task.key in by_key:
                continue
            for old in task.renamed_from:
                # An old key that is itself a desired key stays that task's identity.
                if old in primary and old not in desired_keys and old not in claimed:
                    by_key[task.key] = primary[old]
                    renamed[task.key] = old
                    claimed.add(old)
                    break
    claimed_ids = {t.id for t in by_key.values()}
    adopted = _adopt(manifest, by_key, adoption or {}, claimed_ids)
    _promote_copies(primary, duplicates, set(renamed.values()))
    adopted_ids = {by_key[k].id for k in adopted}
    # Filtering before sorting keeps the order and sorts only the orphans' keys.
    orphan_keys = sorted(k for k, t in primary.items() if t.id not in claimed_ids)
    return Matching(
        by_key=by_key,
        renamed=renamed,
        adopted=adopted,
        orphans=tuple(primary[k] for k in orphan_keys),
        duplicates=tuple(duplicates),
        unmanaged=tuple(t for t in claims.unmarked if t.id not in adopted_ids),
        managed_count=len(primary),
        stories=claims.stories,
    )


def _promote_copies(
    primary: dict[str, LiveTask], duplicates: list[tuple[str, LiveTask]], freed: set[str]
) -> None:
    """A key given up by a rename leaves its copies behind: the oldest copy now holds the old
    key (a task removed from the manifest), so the next run does not discover it anew."""
    for key in sorted(freed):
        copies = [t for k, t in duplicates if k == key]
        if copies:
            primary[key] = copies[0]
            duplicates.remove((key, copies[0]))


def _adopt(
    manifest: Manifest,
    by_key: dict[str, LiveTask],
    adoption: Mapping[str, LiveTask],
    taken: set[str],
) -> frozenset[str]:
    """Match tasks by `adoption`; `taken` (the ids already matched) gains the adopted ones."""
    if not adoption:
        return frozenset()
    adopted: set[str] = set()
    for task in manifest.tasks:
        candidate = adoption.get(task.key)
        if task.key in by_key or candidate is None or candidate.id in taken:
            continue
        if any(m.service_name == SERVICE_NAME for m in candidate.markers):
            continue  # adoption only ever takes unmanaged tasks
        by_key[task.key] = candidate
        taken.add(candidate.id)
        adopted.add(task.key)
    return frozenset(adopted)
