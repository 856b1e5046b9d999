"""Adoption: match the manifest's tasks to live tasks nobody manages yet, by title path.

`kxplan plan --adopt` brings hand-built tasks under kxplan without recreating them (a
recreated task loses its time entries, posts and history). The planner calls
`match_for_adoption` and emits an `adopt` change for each match; the applier then writes
this stack's marker on the live task.

Matching is by *title path* (the titles from the root down), walked top-down:

- a desired task already matched by this stack's marker (its key or a `renamed_from` key)
  is not a candidate; its live task becomes the scope for its children;
- a top-level desired task matches among the live top-level tasks; a desired task whose
  parent is managed or adopted matches only among that live parent's children; a desired
  task whose parent will be created matches nothing (a new task has no children);
- only live tasks with no kxplan marker at all are candidates (a task of another stack
  belongs to that stack);
- titles are compared after `norm_text` (kxplan.planner.normalize, the planner's whitespace
  rule: surrounding blanks do not count), exactly otherwise: case, accents, inner spaces and
  emoji all count.

Two live candidates for one desired task, or two desired tasks for one live task, is
ambiguous: `PlanError` lists every such case with the candidates' ids and title paths.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from kxplan.errors import PlanError
from kxplan.ids import id_order
from kxplan.model import SERVICE_NAME, DesiredTask, LiveState, LiveTask, Manifest
from kxplan.planner.context import title_path
from kxplan.planner.normalize import norm_text

__all__ = ["match_for_adoption"]

#: Sentinel scope for top-level tasks (live `parent_id` None).
_ROOT = ""


def match_for_adoption(manifest: Manifest, live: LiveState) -> dict[str, LiveTask]:
    """Desired task key -> the unmanaged live task with the same title path (see module doc).

    The result is in manifest order. Raises `PlanError` listing every ambiguous match.
    """
    by_id = {t.id: t for t in live.tasks}
    managed = _managed_by_key(manifest.name, live.tasks)
    candidates = _unmanaged_by_scope(live.tasks, by_id)
    scope_of: dict[str, str | None] = {}  # desired key -> live id of its task, None if new
    matches: dict[str, LiveTask] = {}
    problems: list[tuple[str, str]] = []  # ("live" | "desired", message)
    for scope, siblings in _desired_by_scope(manifest.tasks, scope_of, managed):
        _match_siblings(scope, siblings, candidates, matches, problems, by_id)
        for d in siblings:
            if d.key not in scope_of:
                found = matches.get(d.key)
                scope_of[d.key] = found.id if found is not None else None
    if problems:
        raise PlanError(_ambiguity_message(manifest, problems), hint=_hint(problems))
    return {d.key: matches[d.key] for d in manifest.tasks if d.key in matches}


_LIVE_TWINS = (
    "Several live tasks share one title path, so kxplan cannot tell which one the manifest "
    "means. Rename all but one of them in Kantata (then export again if the manifest came "
    "from `kxplan export`), and plan again with --adopt."
)
_DESIRED_TWINS = (
    "Several tasks of the manifest share one title path. Give them distinct titles (or "
    "remove the extra ones) and plan again with --adopt."
)


def _hint(problems: list[tuple[str, str]]) -> str:
    kinds = {kind for kind, _ in problems}
    return " ".join(
        text for kind, text in (("live", _LIVE_TWINS), ("desired", _DESIRED_TWINS)) if kind in kinds
    )


def _ambiguity_message(manifest: Manifest, problems: list[tuple[str, str]]) -> str:
    n = len(problems)
    head = f"{manifest.path}: cannot adopt: {n} ambiguous match{'es' if n != 1 else ''}"
    return head + "\n" + "\n".join(f"  - {text}" for _, text in problems)


def _managed_by_key(stack: str, tasks: Iterable[LiveTask]) -> dict[str, LiveTask]:
    """Live tasks carrying this stack's marker, by the key the marker holds."""
    out: dict[str, LiveTask] = {}
    for t in tasks:
        key = t.key_for(stack)
        if key is not None:
            out.setdefault(key, t)
    return out


def _is_unmanaged(task: LiveTask) -> bool:
    return not any(m.service_name == SERVICE_NAME for m in task.markers)


def _unmanaged_by_scope(
    tasks: Iterable[LiveTask], by_id: Mapping[str, LiveTask]
) -> dict[tuple[str, str], list[LiveTask]]:
    """(parent live id or _ROOT, normalized title) -> unmanaged live tasks, by position/id.

    A task whose parent is not in the live read cannot be placed on a path: never a candidate.
    """
    out: dict[tuple[str, str], list[LiveTask]] = defaultdict(list)
    for t in tasks:
        if not _is_unmanaged(t) or (t.parent_id is not None and t.parent_id not in by_id):
            continue
        out[(t.parent_id or _ROOT, norm_text(t.title))].append(t)
    for group in out.values():
        group.sort(key=lambda t: (t.position, id_order(t.id)))
    return out


def _desired_by_scope(
    tasks: tuple[DesiredTask, ...],
    scope_of: dict[str, str | None],
    managed: Mapping[str, LiveTask],
) -> Iterable[tuple[str | None, list[DesiredTask]]]:
    """Yield (live scope, unmatched desired siblings) top-down, depth by depth.

    Desired tasks matched by marker are recorded in `scope_of` and not yielded. The scope
    is the live id of the parent (_ROOT for top level), or None when the parent is new.
    Depth by depth, so every parent's scope is known before its children are grouped.
    """
    max_depth = max((d.depth for d in tasks), default=-1)
    for depth in range(max_depth + 1):
        groups: dict[str | None, list[DesiredTask]] = defaultdict(list)
        order: list[str | None] = []
        for d in tasks:
            if d.depth != depth:
                continue
            live = _by_marker(d, managed)
            if live is not None:
                scope_of[d.key] = live.id
                continue
            scope = _ROOT if d.parent_key is None else scope_of.get(d.parent_key)
            if scope not in groups:
                order.append(scope)
            groups[scope].append(d)
        for scope in order:
            yield scope, groups[scope]


def _by_marker(d: DesiredTask, managed: Mapping[str, LiveTask]) -> LiveTask | None:
    for key in (d.key, *d.renamed_from):
        if key in managed:
            return managed[key]
    return None


def _match_siblings(
    scope: str | None,
    siblings: list[DesiredTask],
    candidates: Mapping[tuple[str, str], list[LiveTask]],
    matches: dict[str, LiveTask],
    problems: list[tuple[str, str]],
    by_id: Mapping[str, LiveTask],
) -> None:
    """Match desired siblings that share one live scope; record ambiguities in `problems`."""
    if scope is None:  # the parent will be created: nothing under it to adopt
        return
    by_title: dict[str, list[DesiredTask]] = defaultdict(list)
    for d in siblings:
        by_title[norm_text(d.title)].append(d)
    for title, desired in by_title.items():
        found = candidates.get((scope, title), [])
        if not found:
            continue
        if len(found) > 1:
            for d in desired:
                problems.append(("live", _too_many_live(d, found, by_id)))
        elif len(desired) > 1:
            problems.append(("desired", _too_many_desired(desired, found[0], by_id)))
        else:
            matches[desired[0].key] = found[0]


def _too_many_live(d: DesiredTask, found: list[LiveTask], by_id: Mapping[str, LiveTask]) -> str:
    listed = "; ".join(f"#{t.id} {title_path(t, by_id)!r}" for t in found)
    return f"task {d.key!r} ({d.loc}) matches {len(found)} unmanaged live tasks: {listed}"


def _too_many_desired(
    desired: list[DesiredTask], live: LiveTask, by_id: Mapping[str, LiveTask]
) -> str:
    keys = ", ".join(f"{d.key!r} ({d.loc})" for d in desired)
    return (
        f"live task #{live.id} {title_path(live, by_id)!r} matches {len(desired)} "
        f"tasks of the manifest: {keys}"
    )
