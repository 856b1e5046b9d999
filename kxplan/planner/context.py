"""What every part of the planner reads: the inputs, the matching and a few indexes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from kxplan.ids import id_order
from kxplan.model import MAX_DEPTH, DesiredTask, LiveState, LiveTask, Manifest, PlanOptions
from kxplan.planner.matching import Matching

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Context:
    """Read-only facts about one plan being built."""

    manifest: Manifest
    live: LiveState
    options: PlanOptions
    matching: Matching
    status_after: Mapping[str, str]  # live status name -> name after the status changes
    switches_set: bool = False  # the plan assigns another status set (statuses may move)
    #: desired_path's answers, kept: a parent's path is asked for by each of its children.
    paths: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)
    #: The indexes below, each built when first asked for: a plan in which nothing changes
    #: asks for few of them, and each costs a pass over every task.
    _indexes: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def _index(self, name: str, build: Callable[[], _T]) -> _T:
        if name not in self._indexes:
            self._indexes[name] = build()
        return cast(_T, self._indexes[name])

    @property
    def rank(self) -> Mapping[str, int]:
        """Desired key -> index in manifest pre-order."""
        return self._index("rank", lambda: {t.key: i for i, t in enumerate(self.manifest.tasks)})

    @property
    def desired(self) -> Mapping[str, DesiredTask]:
        """Desired key -> desired task."""
        return self._index("desired", lambda: {t.key: t for t in self.manifest.tasks})

    @property
    def parents_with_children(self) -> frozenset[str]:
        """Desired keys that have desired children."""
        return self._index(
            "parents",
            lambda: frozenset(
                t.parent_key for t in self.manifest.tasks if t.parent_key is not None
            ),
        )

    @property
    def live_by_id(self) -> Mapping[str, LiveTask]:
        return self._index("live_by_id", lambda: {t.id: t for t in self.live.tasks})

    @property
    def live_children(self) -> Mapping[str, tuple[LiveTask, ...]]:
        """Live parent id -> its children, oldest first."""
        return self._index("live_children", lambda: _children(self.live.tasks))

    @property
    def key_by_live_id(self) -> Mapping[str, str]:
        """Live id -> desired key (matched tasks)."""
        return self._index(
            "key_by_live_id", lambda: {t.id: k for k, t in self.matching.by_key.items()}
        )

    @property
    def prune(self) -> bool:
        return self.options.prune or self.manifest.prune

    def desired_path(self, key: str) -> str:
        """`top/child/key` through the desired parents."""
        known = self.paths.get(key)
        if known is not None:
            return known
        task = self.desired.get(key)
        if task is None or task.parent_key is None:
            path = key
        else:
            path = join_path(self.desired_path(task.parent_key), task.parent_key, key)
        self.paths[key] = path
        return path

    def live_key(self, task: LiveTask) -> str:
        """The key this stack knows a live task by, or `#<id>`."""
        known = self.key_by_live_id.get(task.id)
        return known or task.key_for(self.manifest.name) or f"#{task.id}"

    def live_path(self, task: LiveTask) -> str:
        """The key path of a live task through its live parents."""
        chain = [task]
        parent = self.live_by_id.get(task.parent_id or "")
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.live_by_id.get(parent.parent_id or "")
        path = self.live_key(chain[-1])
        for upper, lower in zip(reversed(chain), list(reversed(chain))[1:], strict=False):
            path = join_path(path, self.live_key(upper), self.live_key(lower))
        return path

    def live_depth(self, task: LiveTask) -> int:
        depth = 0
        parent = self.live_by_id.get(task.parent_id or "")
        while parent is not None and depth <= MAX_DEPTH:
            depth += 1
            parent = self.live_by_id.get(parent.parent_id or "")
        return depth


def title_path(task: LiveTask, by_id: Mapping[str, LiveTask]) -> str:
    """`Parent / Child / Task`: the titles of a live task from the root down, for messages.

    A parent missing from `by_id` shows as `#<id>` and ends the path; a loop in the parent
    ids ends it too.
    """
    parts = [task.title]
    seen = {task.id}
    parent_id = task.parent_id
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = by_id.get(parent_id)
        if parent is None:
            parts.append(f"#{parent_id}")
            break
        parts.append(parent.title)
        parent_id = parent.parent_id
    return " / ".join(reversed(parts))


def join_path(parent_path: str, parent_key: str, key: str) -> str:
    """The path of `key` under a parent. Keys derived from a title path already start with
    their parent's key ("audit/content-inventory"), which is then not repeated."""
    tail = key[len(parent_key) + 1 :] if key.startswith(parent_key + "/") else key
    return f"{parent_path}/{tail}"


def make_context(
    manifest: Manifest,
    live: LiveState,
    options: PlanOptions,
    matching: Matching,
    status_after: Mapping[str, str],
    *,
    switches_set: bool = False,
) -> Context:
    """The context; its indexes are built when first asked for."""
    return Context(
        manifest=manifest,
        live=live,
        options=options,
        matching=matching,
        status_after=status_after,
        switches_set=switches_set,
    )


def _children(tasks: tuple[LiveTask, ...]) -> dict[str, tuple[LiveTask, ...]]:
    """Live parent id -> its children, oldest (lowest id) first."""
    children: dict[str, list[LiveTask]] = {}
    for task in tasks:
        if task.parent_id is not None:
            children.setdefault(task.parent_id, []).append(task)
    return {k: tuple(sorted(v, key=lambda t: id_order(t.id))) for k, v in children.items()}
