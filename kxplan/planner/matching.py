"""Which live task is which desired task: markers, `renamed_from`, adoption.

A live task belongs to this stack when it carries this stack's marker. Several stories claiming
one key (someone copied a task) resolve to the oldest one (lowest id); the others are reported,
never touched. Tasks with no kxplan marker are unmanaged; tasks of other stacks are invisible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


def _ours(live: LiveState, stack: str) -> tuple[dict[str, LiveTask], list[tuple[str, LiveTask]]]:
    claims: dict[str, list[LiveTask]] = {}
    for task in live.tasks:
        key = task.key_for(stack)
        if key is not None:
            claims.setdefault(key, []).append(task)
    primary: dict[str, LiveTask] = {}
    duplicates: list[tuple[str, LiveTask]] = []
    for key in sorted(claims):
        claiming = claims[key]
        oldest_first = (
            claiming if len(claiming) == 1 else sorted(claiming, key=lambda t: id_order(t.id))
        )
        primary[key] = oldest_first[0]
        duplicates.extend((key, extra) for extra in oldest_first[1:])
    return primary, duplicates


def match_tasks(
    manifest: Manifest, live: LiveState, adoption: Mapping[str, LiveTask] | None = None
) -> Matching:
    """Match desired tasks to live ones: by key, then `renamed_from`, then adoption."""
    primary, duplicates = _ours(live, manifest.name)
    desired_keys = {t.key for t in manifest.tasks}
    by_key = {t.key: primary[t.key] for t in manifest.tasks if t.key in primary}
    claimed = set(by_key)
    renamed: dict[str, str] = {}
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
    adopted = _adopt(manifest, by_key, adoption or {})
    _promote_copies(primary, duplicates, set(renamed.values()))
    claimed_ids = {t.id for t in by_key.values()}
    return Matching(
        by_key=by_key,
        renamed=renamed,
        adopted=adopted,
        orphans=tuple(primary[k] for k in sorted(primary) if primary[k].id not in claimed_ids),
        duplicates=tuple(duplicates),
        unmanaged=_unmanaged(live, {by_key[k].id for k in adopted}),
        managed_count=len(primary),
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
    manifest: Manifest, by_key: dict[str, LiveTask], adoption: Mapping[str, LiveTask]
) -> frozenset[str]:
    taken = {t.id for t in by_key.values()}
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


def _unmanaged(live: LiveState, adopted_ids: set[str]) -> tuple[LiveTask, ...]:
    return tuple(
        t
        for t in live.tasks
        if t.id not in adopted_ids and not any(m.service_name == SERVICE_NAME for m in t.markers)
    )
