"""Hypothesis strategies: random manifests, and random live workspaces made the way they
happen (an earlier manifest applied, then edited by people and other tools)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from kxplan.model import (
    CATEGORIES,
    PRIORITIES,
    DesiredChecklistItem,
    DesiredStatus,
    DesiredStatusSet,
    DesiredTask,
    LiveMarker,
    LiveState,
    LiveTask,
    LiveWorkspace,
    Manifest,
    PlanOptions,
)
from kxplan.planner import build_plan
from tests.property.memory_workspace import apply_to

STACK = "demo"
KEYS = tuple(f"k{i}" for i in range(8))
TITLES = ("Alpha", "Beta", "alpha ", "Gamma\n", "Δelta")
ITEM_NAMES = ("one", "two", "three", "four")
STATUS_NAMES = ("Backlog", "Doing", "Review", "Done", "started", "completed")
TAGS = ("x", "X", "client", "phase-1")
DATES = ("2027-01-04", "2027-01-11", None)


@st.composite
def status_sets(draw: Any) -> DesiredStatusSet:
    names = draw(st.lists(st.sampled_from(STATUS_NAMES), min_size=1, max_size=4, unique=True))
    statuses = []
    for name in names:
        spare = [n for n in STATUS_NAMES if n not in names]
        statuses.append(
            DesiredStatus(
                name,
                draw(st.sampled_from(CATEGORIES)),
                tuple(draw(st.lists(st.sampled_from(spare), max_size=1))) if spare else (),
            )
        )
    return DesiredStatusSet(draw(st.sampled_from(("Flow", "Other"))), tuple(statuses))


@st.composite
def checklists(draw: Any) -> tuple[DesiredChecklistItem, ...]:
    names = draw(st.lists(st.sampled_from(ITEM_NAMES), max_size=3, unique=True))
    items = []
    for name in names:
        spare = [n for n in ITEM_NAMES if n not in names]
        renamed = tuple(draw(st.lists(st.sampled_from(spare), max_size=1))) if spare else ()
        items.append(DesiredChecklistItem(name, draw(st.booleans()), renamed))
    return tuple(items)


@st.composite
def desired_tasks(draw: Any, key: str, statuses: tuple[str, ...]) -> DesiredTask:
    optional = (
        "description",
        "start_date",
        "priority",
        "status",
        "percentage_complete",
        "tags",
        "checklist",
        "archived",
        "type",
    )
    fields = set(draw(st.lists(st.sampled_from(optional), unique=True)))
    return DesiredTask(
        key=key,
        title=draw(st.sampled_from(TITLES)),
        type=draw(st.sampled_from(("task", "milestone"))),
        description=draw(st.sampled_from((None, "", "Scope  ", "Line\r\nTwo"))),
        start_date=draw(st.sampled_from(DATES)),
        priority=draw(st.sampled_from((None, *PRIORITIES))),
        status=draw(st.sampled_from(statuses)),
        percentage_complete=draw(st.sampled_from((0, 50, 100))),
        tags=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3))),
        checklist=draw(checklists()),
        archived=draw(st.booleans()),
        renamed_from=tuple(draw(st.lists(st.sampled_from(("old-" + key, *KEYS)), max_size=1))),
        enforce=frozenset(
            draw(
                st.lists(
                    st.sampled_from(("status", "percentage_complete", "completed")), unique=True
                )
            )
        ),
        ignore_changes=frozenset(
            draw(st.lists(st.sampled_from(("title", "parent", "tags", "checklist")), unique=True))
        ),
        fields=frozenset(fields | {"title", "parent"}),
    )


@st.composite
def manifests(draw: Any) -> Manifest:
    """A valid resolved manifest: up to 7 tasks, at most 4 levels, pre-order."""
    status_set = draw(st.none() | status_sets())
    statuses = tuple(s.name for s in status_set.statuses) if status_set else CATEGORIES
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=7, unique=True))
    parents: dict[str, str | None] = {}
    depth: dict[str | None, int] = {None: -1}
    for i, key in enumerate(keys):
        options = [None, *(k for k in keys[:i] if depth[k] < 3)]
        parents[key] = draw(st.sampled_from(options))
        depth[key] = depth[parents[key]] + 1
    tasks: list[DesiredTask] = []

    def walk(parent: str | None) -> None:
        children = [k for k in keys if parents[k] == parent]
        for index, key in enumerate(children):
            task = draw(desired_tasks(key, statuses))
            task = replace(task, parent_key=parent, depth=depth[key], index=index)
            tasks.append(task)
            walk(key)

    walk(None)
    return Manifest("random.yaml", STACK, "1", tuple(tasks), status_set, draw(st.booleans()))


EMPTY = LiveState(LiveWorkspace("1", "Workspace"), ())


@st.composite
def live_states(draw: Any) -> LiveState:
    """An earlier manifest applied to an empty workspace, then edited by hand."""
    earlier = draw(manifests())
    live = apply_to(EMPTY, build_plan(earlier, EMPTY, PlanOptions(allow_mass_delete=True)))
    for _ in range(draw(st.integers(0, 5))):
        live = draw(_edit(live))
    return live


def _edit(live: LiveState) -> Any:
    tasks = list(live.tasks)
    if not tasks:
        return st.just(_add(live, LiveTask("900", "Someone's task", None)))
    pick = st.sampled_from(tasks)
    return st.one_of(
        st.builds(lambda t, s: _put(live, replace(t, title=s)), pick, st.sampled_from(TITLES)),
        st.builds(
            lambda t, c: _put(live, replace(t, status=c, state=c, custom_task_status_id=None)),
            pick,
            st.sampled_from(CATEGORIES),
        ),
        st.builds(
            lambda t, n: _put(live, replace(t, percentage_complete=n)),
            pick,
            st.sampled_from((0, 30, 100)),
        ),
        st.builds(
            lambda t: _put(
                live,
                replace(
                    t, checklist=tuple(replace(i, completed=not i.completed) for i in t.checklist)
                ),
            ),
            pick,
        ),
        st.builds(lambda t, p: _move(live, t, p), pick, st.none() | pick),
        st.builds(lambda t: _remove(live, t), pick),
        st.builds(
            lambda p, s: _add(live, LiveTask(_new_id(live), s, p.id if p else None)),
            st.none() | pick,
            st.sampled_from(TITLES),
        ),
        st.builds(
            lambda p, k: _add(
                live,
                LiveTask(
                    _new_id(live),
                    "Theirs",
                    p.id if p else None,
                    markers=(LiveMarker("x", "kxplan", "other-stack", k),),
                ),
            ),
            st.none() | pick,
            st.sampled_from(KEYS),
        ),
        st.builds(lambda t: _add(live, _copy(live, t)), pick),
        st.builds(
            lambda t: _put(
                live,
                replace(
                    t,
                    markers=tuple(
                        replace(m, service_model_ref="old-" + m.service_model_ref)
                        for m in t.markers
                    ),
                ),
            ),
            pick,
        ),
    )


def _new_id(live: LiveState) -> str:
    return str(max((int(t.id) for t in live.tasks), default=0) + 1)


def _copy(live: LiveState, task: LiveTask) -> LiveTask:
    """A copy made in Kantata: a new story, new checklist items, the same marker."""
    new = _new_id(live)
    items = tuple(replace(i, id=f"{new}{n:02d}") for n, i in enumerate(task.checklist))
    return replace(task, id=new, title=task.title + " copy", checklist=items)


def _put(live: LiveState, task: LiveTask) -> LiveState:
    return replace(live, tasks=tuple(task if t.id == task.id else t for t in live.tasks))


def _add(live: LiveState, task: LiveTask) -> LiveState:
    return replace(live, tasks=tuple(sorted((*live.tasks, task), key=lambda t: int(t.id))))


def _descendants(live: LiveState, tid: str) -> set[str]:
    found = {tid}
    grew = True
    while grew:
        more = {t.id for t in live.tasks if t.parent_id in found} - found
        grew = bool(more)
        found |= more
    return found


def _move(live: LiveState, task: LiveTask, parent: LiveTask | None) -> LiveState:
    if parent is not None and parent.id in _descendants(live, task.id):
        return live  # a task cannot move under itself
    return _put(live, replace(task, parent_id=parent.id if parent else None))


def _remove(live: LiveState, task: LiveTask) -> LiveState:
    gone = _descendants(live, task.id)
    return replace(live, tasks=tuple(t for t in live.tasks if t.id not in gone))
