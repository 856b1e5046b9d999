"""`--target KEY`: restrict a plan to the subtrees of some tasks.

The plan keeps the status set and workspace changes (the targets may need them) and the
creates of missing ancestors (a target cannot be created without its parent).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from kxplan.errors import PlanError
from kxplan.model import LiveTask
from kxplan.planner.context import Context


@dataclass(frozen=True, slots=True)
class Scope:
    """Which desired keys the plan covers; None means everything."""

    keys: frozenset[str] | None = None
    create_only: frozenset[str] = frozenset()
    roots: frozenset[str] = frozenset()  # live ids of the targets that exist

    def covers(self, key: str) -> bool:
        return self.keys is None or key in self.keys or key in self.create_only


def resolve_scope(ctx: Context) -> Scope:
    """The scope asked for by `options.targets` (unknown keys are an error)."""
    targets = ctx.options.targets
    if not targets:
        return Scope()
    for key in targets:
        if key not in ctx.desired:
            close = difflib.get_close_matches(key, list(ctx.desired), n=3)
            raise PlanError(
                f"--target {key}: no task with key '{key}' in {ctx.manifest.path}",
                hint=f"did you mean {', '.join(close)}?" if close else "use a key of the manifest",
            )
    keys = {t.key for t in ctx.manifest.tasks if _under(ctx, t.key, set(targets))}
    ancestors = {a for k in targets for a in _ancestors(ctx, k)} - keys
    missing = frozenset(a for a in ancestors if a not in ctx.matching.by_key)
    roots = frozenset(ctx.matching.by_key[k].id for k in targets if k in ctx.matching.by_key)
    return Scope(frozenset(keys), missing, roots)


def _under(ctx: Context, key: str, targets: set[str]) -> bool:
    return key in targets or any(a in targets for a in _ancestors(ctx, key))


def _ancestors(ctx: Context, key: str) -> list[str]:
    out = []
    parent = ctx.desired[key].parent_key
    while parent is not None and parent not in out:
        out.append(parent)
        parent = ctx.desired[parent].parent_key
    return out


def live_filter(ctx: Context, scope: Scope) -> Callable[[LiveTask], bool]:
    """Whether a live task lies under one of the targets (always true with no targets)."""
    if scope.keys is None:
        return lambda task: True

    def inside(task: LiveTask) -> bool:
        seen: set[str] = set()
        current: LiveTask | None = task
        while current is not None and current.id not in seen:
            if current.id in scope.roots:
                return True
            seen.add(current.id)
            current = ctx.live_by_id.get(current.parent_id or "")
        return False

    return inside
