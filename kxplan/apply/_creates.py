"""Task creates: bulk `POST /stories` level by level, with look-ups when an answer is lost."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kxplan.apply._guard import check_level, guarded_create
from kxplan.apply._once import create_once
from kxplan.apply._payload import completed_names, create_item, item_completed, stories_create
from kxplan.apply._run import Run, about, label
from kxplan.changes.base import Change, expect
from kxplan.changes.batches import (
    bulk_sizes,
    create_levels,
    has_moves,
    split_deferred,
)
from kxplan.changes.task import TaskCreate, TaskMove
from kxplan.errors import ApplyError, KxplanError
from kxplan.ids import id_order, result_ids
from kxplan.live import BATCH, ITEM_PARAMS, find_tasks_by_marker, task_from_api
from kxplan.model import LiveTask
from kxplan.planner.placement import FIRST, learn_placement

#: Asked for with every create: checklist items (to complete the ones created done), the
#: markers, which say which created story is which task (never the order of `results`), and
#: the tags and optional status id, so the answer shows each story as a read would and the
#: verification after apply needs no read of it (kxplan.apply._verify).
CREATE_INCLUDES = "story_tasks,external_references,tags"
CREATE_PARAMS = {"include": CREATE_INCLUDES, "optional_fields": "custom_task_status_id"}

#: What a story in an answer must carry to count as shown whole (else it is read again).
_SHOWN_WHOLE = ("tag_ids", "story_task_ids", "external_reference_ids", "custom_task_status_id")

#: The placement assumed until the server has shown one: the newest observations of
#: Kantata give a new story the lowest position (docs/apply.md, "Sibling order").
GUESSED_PLACEMENT = FIRST

log = logging.getLogger(__name__)


def create_tasks(run: Run, changes: Sequence[Change]) -> None:
    """Create tasks top-down, up to BULK_LIMIT per request, each with marker, checklist, tags.

    Each level is sent in the order that leaves a fresh tree in manifest order under the
    placement Kantata uses (`send_order`). A create under a task that moves in this plan
    waits until after the moves (`run.deferred`): under the task's old place it could be
    refused as too deep.
    """
    now, run.deferred = split_deferred(changes, has_moves(run.plan.actionable))
    create_now(run, now)
    if run.guard is not None:  # updates, moves and deletes come next: counts stop telling
        run.guard.stop_counting()


def create_now(run: Run, changes: Sequence[Change]) -> None:
    """Each level in the bulk creates the plan's estimate counts (`bulk_sizes`). While the
    placement is unknown the level's first batch goes alone (its answer may teach it); the
    other batches run side by side where they share no parent (`side_by_side`). With a
    guard, one marker look-up goes before each level and after the last (`check_level`);
    when a level stops part-way, what it had sent is still checked for copies."""
    sent: list[Change] = []
    for level in create_levels(changes):
        left = check_level(run, sent, level)
        sent = left
        try:
            _create_level(run, left)
        except Exception:
            _check_after_failure(run, sent)
            raise
    check_level(run, sent, [])


def _create_level(run: Run, level: list[Change]) -> None:
    """The batches of one level. Each checks the lock first; the lock answers from the read
    `check_level` made alongside its look-up while that read is fresh (kxplan.lock)."""
    left = list(level)
    sizes = bulk_sizes(len(level))
    if run.placement is None and len(sizes) > 1:
        first = send_order(run, left)[: sizes.pop(0)]
        _create_batch(run, first)
        sent = {id(c) for c in first}
        left = [c for c in left if id(c) not in sent]
    chains = side_by_side(slices(send_order(run, left), sizes))
    run.map(lambda chain: _create_chain(run, chain), chains)


def _check_after_failure(run: Run, sent: Sequence[Change]) -> None:
    """The copies check of a level that stopped part-way, for the batches that went out;
    the error that stopped it is the one reported, so a failure here is only logged."""
    made = [c for c in sent if c.key in run.task_ids]
    if run.guard is not None:
        run.guard.stop_counting()  # a batch that failed may have made some of its stories
    try:
        check_level(run, made, [])
    except KxplanError as err:
        log.warning("could not check the tasks just created for copies: %s", err.message)


def _create_chain(run: Run, chain: Sequence[list[Change]]) -> None:
    for batch in chain:
        _create_batch(run, batch)


def slices(ordered: Sequence[Change], sizes: Sequence[int]) -> list[list[Change]]:
    """`ordered` cut into consecutive batches of `sizes`."""
    out: list[list[Change]] = []
    start = 0
    for size in sizes:
        out.append(list(ordered[start : start + size]))
        start += size
    return out


def side_by_side(batches: Sequence[list[Change]]) -> list[list[list[Change]]]:
    """The batches of one level grouped into chains that may run side by side: batches
    that share a parent (directly or through another batch) form one chain, sent one after
    another in their order. Kantata places each new sibling first or last as it arrives,
    so siblings of one parent must be sent in order (docs/apply.md, "Sibling order");
    stories under other parents do not care."""
    groups: list[tuple[set[str | None], list[int]]] = []
    for index, batch in enumerate(batches):
        mine: set[str | None] = {c.parent for c in batch}
        joined = [g for g in groups if g[0] & mine]
        groups = [g for g in groups if not g[0] & mine]
        parents = mine.union(*(g[0] for g in joined))
        members = [*sorted(i for g in joined for i in g[1]), index]
        groups.append((parents, members))
    groups.sort(key=lambda g: g[1][0])
    return [[batches[i] for i in members] for _, members in groups]


def send_order(run: Run, level: Sequence[Change]) -> list[Change]:
    """The creates of one level (manifest order) in the order to send them.

    Kantata inserts a bulk create's items one after the other, each placed first or last
    among its siblings. Placed first, the last-sent sorts first: send last-first; placed
    last, send in manifest order. The placement comes from the plan's live read or an
    earlier create response of this run (`Run.placement`). Before either has shown it (a
    fresh workspace: no two siblings yet), nothing tells, and a probe would cost a request
    per apply: the first batch then goes by GUESSED_PLACEMENT, and if the guess was wrong
    the order of that one level differs, which the next plan reports once (docs/apply.md).
    When `level` holds more than BULK_LIMIT tasks, the first BULK_LIMIT returned go first.
    """
    placement = run.placement or GUESSED_PLACEMENT
    return list(level[::-1]) if placement == FIRST else list(level)


def _create_batch(run: Run, batch: list[Change]) -> None:
    with about(f"creating {label(batch)}"):
        guarded_create(run, batch, _create_pending)


def _create_pending(run: Run, batch: list[Change]) -> None:
    """One bulk `POST /stories` for `batch`, sent once (`create_once`): on a lost answer the
    stories are looked up by marker and only the missing ones are sent again."""
    by_key = {c.key: c for c in batch}

    def send(keys: list[str]) -> Mapping[str, Any]:
        items = [_item(run, by_key[k]) for k in keys]
        return run.client.request(
            "POST", "/stories", params=CREATE_PARAMS, json=stories_create(items)
        )

    def find(keys: list[str]) -> dict[str, LiveTask]:
        return find_tasks_by_marker(run.client, run.workspace_id, run.stack, keys)

    def what(keys: list[str]) -> str:
        return f"creating {label([by_key[k] for k in keys])}"

    once = create_once(run, send, find, by_key, what, lambda f: _recovered(run, batch, f))
    if once.answer is not None:
        _created(run, [c for c in batch if c.key not in once.found], once.answer)


def _item(run: Run, change: Change) -> dict[str, Any]:
    create = expect(change, TaskCreate)
    return create_item(
        run.stack, create.key, create.after, run.workspace_id, parent_id(run, create)
    )


def parent_id(run: Run, change: TaskCreate | TaskMove) -> str | None:
    """The live id of the parent: from the plan, or from a create earlier in this run."""
    parent_key, known = change.after["parent"], change.after["parent_id"]
    if parent_key is None:
        return None
    if known is not None:
        return known
    try:
        return run.task_ids[parent_key]
    except KeyError:
        raise ApplyError(
            f"task {change.key!r}: its parent {parent_key!r} has no id (it was neither in the "
            "workspace nor created by this apply)",
            hint="run `kxplan plan` again; the workspace changed while applying",
        ) from None


def _created(run: Run, batch: list[Change], response: Mapping[str, Any]) -> None:
    """Learn the ids of a batch from its response, by marker, and finish its checklists.

    Which story is which task is read from each story's marker (`include=external_references`),
    never from the order of `results`, which Kantata does not document. A task whose marker
    is not in the response is looked up by marker; one still missing stops the apply, named.
    """
    stories = _created_stories(run, response)
    run.observed.saw(_stored(response))
    keys = {c.key for c in batch}
    ids = {key: task.id for key, task in stories.items() if key in keys}
    missing = sorted(keys - set(ids))
    if missing:
        ids |= _look_up(run, missing)
    _learn_placement(run, [t for k, t in stories.items() if k in keys])
    found = [c for c in batch if c.key in ids]
    run.learn_ids({c.key: ids[c.key] for c in found})
    todo: list[tuple[str, str]] = []
    for change in found:
        wanted = completed_names(expect(change, TaskCreate).after)
        if wanted:
            story_id = ids[change.key]
            items = _items_from_envelope(run, story_id, response)
            todo.extend((story_id, _item_id(change, items, n)) for n in wanted)
    _complete_items(run, todo)
    run.done(found)
    lost = [c.key for c in batch if c.key not in ids]
    if lost:
        raise ApplyError(
            f"POST /stories answered 200, but no story carries the marker of "
            f"{_keys(lost)}, in the response or in a look-up by marker",
            hint="run `kxplan plan` to see what exists, then apply again",
        )


def _created_stories(run: Run, response: Mapping[str, Any]) -> dict[str, LiveTask]:
    """Task key -> created story, for the stories of `results` carrying this stack's marker
    (a key on two stories: the lowest id, as the planner counts the other a duplicate)."""
    objects = response.get("stories") or {}
    out: dict[str, LiveTask] = {}
    for story_id in result_ids(response):
        story = objects.get(story_id)
        if not isinstance(story, Mapping):
            continue
        task = task_from_api(story, response)
        key = task.key_for(run.stack)
        if key is not None and (key not in out or id_order(task.id) < id_order(out[key].id)):
            out[key] = task
    return out


def _stored(response: Mapping[str, Any]) -> list[LiveTask]:
    """Every story of `results` the create's answer shows whole, as stored (the others are
    read again to verify)."""
    objects = response.get("stories") or {}
    shown = [objects.get(i) for i in result_ids(response)]
    return [
        task_from_api(s, response)
        for s in shown
        if isinstance(s, Mapping) and all(k in s for k in _SHOWN_WHOLE)
    ]


def _look_up(run: Run, keys: list[str]) -> dict[str, str]:
    """Task key -> story id, searched by marker, for created tasks the response did not name."""
    found = find_tasks_by_marker(run.client, run.workspace_id, run.stack, keys)
    run.count_extra(math.ceil(len(keys) / BATCH))
    return {key: task.id for key, task in found.items()}


def _learn_placement(run: Run, created: Sequence[LiveTask]) -> None:
    """Where the server put these new siblings, if two of them share a parent."""
    learnt = learn_placement((t.parent_id, t.id, t.position) for t in created)
    if learnt is not None:
        run.placement = learnt


def _item_id(change: Change, items: Mapping[str, str], name: str) -> str:
    """The id of a checklist item the create made; its absence stops the apply, named."""
    try:
        return items[name]
    except KeyError:
        raise ApplyError(
            f"task {change.key!r}: checklist item {name!r} is not on the created story, so it "
            "cannot be marked completed",
            hint="run `kxplan plan` to see the task's checklist, then apply again",
        ) from None


def _keys(keys: Sequence[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:5])
    more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
    return f"task{'s' if len(keys) > 1 else ''} {shown}{more}"


def _items_from_envelope(run: Run, story_id: str, response: Mapping[str, Any]) -> dict[str, str]:
    """Checklist item name -> id for one created story (from include=story_tasks, or a read)."""
    story = (response.get("stories") or {}).get(story_id) or {}
    tasks = response.get("story_tasks") or {}
    ids = story.get("story_task_ids")
    if ids is not None and all(str(i) in tasks for i in ids):
        return {tasks[str(i)]["name"]: str(i) for i in ids}
    return read_items(run, story_id)


def read_items(run: Run, story_id: str) -> dict[str, str]:
    """Checklist item name -> id of one story, read from the API."""
    data = run.client.request("GET", "/story_tasks", params={"story_id": story_id, **ITEM_PARAMS})
    tasks = data.get("story_tasks") or {}
    run.count_extra()
    return {tasks[i]["name"]: i for i in result_ids(data) if i in tasks}


def _recovered(run: Run, batch: list[Change], found: Mapping[str, LiveTask]) -> None:
    """Creates of `batch` whose answer was lost but that a look-up by marker found: learn
    their ids, complete the checklist items created done, and count them applied."""
    created = [c for c in batch if c.key in found]
    run.learn_ids({c.key: found[c.key].id for c in created})
    todo: list[tuple[str, str]] = []
    for change in created:
        todo.extend(
            _still_open(found[change.key], completed_names(expect(change, TaskCreate).after))
        )
    _complete_items(run, todo)
    run.done(created)


def _still_open(task: LiveTask, names: Iterable[str]) -> list[tuple[str, str]]:
    wanted = set(names)
    return [(task.id, i.id) for i in task.checklist if i.name in wanted and not i.completed]


def _complete_items(run: Run, todo: list[tuple[str, str]]) -> None:
    """Mark created checklist items completed: Kantata's `checklist` strings create them open."""

    def complete(pair: tuple[str, str]) -> None:
        answer = run.client.request("PUT", f"/story_tasks/{pair[1]}", json=item_completed())
        run.observed.completed(pair[0], pair[1], answer)

    run.map(complete, todo)
    run.count_extra(len(todo))


def create_deferred(run: Run) -> None:
    """Create the tasks that waited for their parent to move."""
    waiting, run.deferred = run.deferred, []
    if waiting:
        create_now(run, waiting)
