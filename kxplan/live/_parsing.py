"""Kantata API objects (stories, workspaces, status sets) into frozen `kxplan.model` values.

Pure: no I/O. Every function reads what the server returned and tolerates what it left out
(ids lists an include may omit, integer priorities, empty strings for absent values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kxplan.client import Records
from kxplan.ids import IdOrder, id_order
from kxplan.model import (
    LOCK_SERVICE,
    PRIORITIES,
    PROTECTED,
    SERVICE_NAME,
    WORKSPACE_MARKER_REF,
    LiveChecklistItem,
    LiveMarker,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
    LiveWorkspace,
)

# Kantata documents priority as low|normal|high|critical but some responses carry an
# integer level; assumed to count up in the same order.
_PRIORITY_LEVELS = dict(enumerate(PRIORITIES))

Envelope = Mapping[str, Any]


# --------------------------------------------------------------------------- workspaces


def workspace_from_api(
    obj: Mapping[str, Any], references: Mapping[str, Mapping[str, Any]] | None = None
) -> LiveWorkspace:
    """A `LiveWorkspace` from a Kantata workspace object (`references`: the answer's
    `external_references`, by id, when it was asked to include them)."""
    set_id = obj.get("task_status_set_id")
    return LiveWorkspace(
        id=str(obj["id"]),
        title=str(obj.get("title", "")),
        task_status_set_id=None if set_id in (None, "") else str(set_id),
        updated_at=str(obj.get("updated_at") or ""),
        description=_opt_str(obj.get("description")),
        start_date=_date(obj.get("start_date")),
        due_date=_date(obj.get("due_date")),
        marked=_workspace_markers(obj, references or {}),
        archived=obj.get("archived") in (True, 1, "true"),
        messages=_workspace_messages(obj, references or {}),
        lock_refs=_lock_refs(obj, references),
    )


def _lock_refs(
    obj: Mapping[str, Any], references: Mapping[str, Mapping[str, Any]] | None
) -> tuple[Mapping[str, Any], ...] | None:
    """The workspace's lock references (`LOCK_SERVICE`) among the answer's references; None
    when the answer does not tell: its references were not included (no `external_reference_ids`
    list), or one it lists was not served."""
    ids = obj.get("external_reference_ids")
    if references is None or not isinstance(ids, list):
        return None
    refs = [references.get(str(i)) for i in ids]
    if any(r is None for r in refs):
        return None
    return tuple(r for r in refs if r is not None and r.get("service_name") == LOCK_SERVICE)


def _workspace_markers(
    obj: Mapping[str, Any], references: Mapping[str, Mapping[str, Any]]
) -> frozenset[str]:
    """The stacks whose workspace marker the workspace carries."""
    return frozenset(str(r.get("service_model")) for r in _marker_refs(obj, references))


def _workspace_messages(
    obj: Mapping[str, Any], references: Mapping[str, Mapping[str, Any]]
) -> tuple[tuple[str, str], ...]:
    """(stack, external_message) of each workspace marker that carries a message."""
    return tuple(
        sorted(
            (str(r.get("service_model")), str(r["external_message"]))
            for r in _marker_refs(obj, references)
            if r.get("external_message")
        )
    )


def _marker_refs(
    obj: Mapping[str, Any], references: Mapping[str, Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The workspace's kxplan workspace markers, among the answer's references."""
    refs = [references.get(str(i)) for i in obj.get("external_reference_ids") or ()]
    return [
        r
        for r in refs
        if r is not None
        and r.get("service_name") == SERVICE_NAME
        and r.get("service_model_ref") == WORKSPACE_MARKER_REF
    ]


def primary(env: Envelope) -> list[Mapping[str, Any]]:
    """The primary objects of one answer, in `results` order."""
    out = []
    for ref in env.get("results") or ():
        obj = (env.get(str(ref.get("key"))) or {}).get(str(ref.get("id")))
        if obj is not None:
            out.append(obj)
    return out


# --------------------------------------------------------------------------- status sets


def status_sets_from_records(records: Records) -> tuple[LiveStatusSet, ...]:
    """The sets of a `GET /task_status_sets?include=custom_task_statuses` listing, by id."""
    statuses = records.included.get("custom_task_statuses", {})
    sets = [status_set(s, statuses) for s in records]
    return tuple(sorted(sets, key=lambda s: id_order(s.id)))


def status_set_from(data: Mapping[str, Any], set_id: str) -> LiveStatusSet | None:
    """The set `set_id` with its statuses from one response (a create, or a show with
    `include=custom_task_statuses`); None when the response does not hold the set."""
    sets = data.get("task_status_sets") or {}
    obj = sets.get(str(set_id)) if isinstance(sets, Mapping) else None
    if not isinstance(obj, Mapping):
        return None
    statuses = data.get("custom_task_statuses") or {}
    return status_set(obj, statuses if isinstance(statuses, Mapping) else {})


def status_set(obj: Mapping[str, Any], statuses: Mapping[str, Mapping[str, Any]]) -> LiveStatusSet:
    """A `LiveStatusSet` from a set object and the statuses served with it."""
    sid = str(obj["id"])
    live = sorted(
        (_status(s) for s in _members(sid, obj, statuses)),
        key=lambda s: (s.position, id_order(s.id)),
    )
    return LiveStatusSet(
        sid, str(obj.get("name", "")), tuple(live), str(obj.get("updated_at") or "")
    )


def _members(
    sid: str, obj: Mapping[str, Any], statuses: Mapping[str, Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    ids = obj.get("custom_task_status_ids")
    if ids is None:  # the include did not list them: find them by their set
        return [s for s in statuses.values() if str(s.get("status_set_id")) == sid]
    return [statuses[str(i)] for i in ids if str(i) in statuses]


def _status(obj: Mapping[str, Any]) -> LiveStatus:
    return LiveStatus(
        id=str(obj["id"]),
        name=str(obj.get("status", "")),
        category=str(obj.get("category", "")),
        position=_int(obj.get("position")),
    )


# --------------------------------------------------------------------------- stories


def tasks_from_records(records: Records) -> tuple[LiveTask, ...]:
    """Live tasks from a story listing, deleted ones dropped, sorted by numeric id."""
    maps = _Maps(records.included)
    tasks = [_task(s, maps) for s in records if not s.get("deleted_at")]
    return tuple(sorted(tasks, key=_task_order))


def _task_order(task: LiveTask) -> IdOrder:
    return id_order(task.id)


def task_from_api(story: Mapping[str, Any], envelope: Envelope) -> LiveTask:
    """A `LiveTask` from a Kantata story and the typed maps it was served with (an API
    response, or `Records.included`): tags, checklist items and markers are looked up there."""
    return _task(story, _Maps(envelope))


class _Maps:
    """The typed maps stories' tags, checklist items and markers are looked up in (each
    None when the envelope holds no such map), found once for a whole listing."""

    __slots__ = ("items", "refs", "tags")

    def __init__(self, envelope: Envelope) -> None:
        self.tags = _typed(envelope, "tags")
        self.items = _typed(envelope, "story_tasks")
        self.refs = _typed(envelope, "external_references")


def _typed(envelope: Envelope, key: str) -> Mapping[str, Mapping[str, Any]] | None:
    objects = envelope.get(key)
    return objects if isinstance(objects, Mapping) else None


def _task(story: Mapping[str, Any], maps: _Maps) -> LiveTask:
    # Runs once per story of a listing (10,000 in a large workspace), so:
    # - the relations are only looked into when the story lists ids of them, or lists none
    #   at all (an ids field the include left out: `_related` follows the foreign keys);
    #   `[]` means it has none;
    # - the model objects are built with positional arguments, in their classes' field
    #   order: a frozen dataclass's keyword call costs a quarter more, and building them is
    #   half of reading a story (tests/live/test_live_values.py pins every field).
    get = story.get
    parent = get("parent_id")
    status = get("status")
    state = get("state")
    tag_ids = get("tag_ids")
    item_ids = get("story_task_ids")
    ref_ids = get("external_reference_ids")
    return LiveTask(
        str(story["id"]),  # id
        str(get("title", "")),  # title
        None if parent is None or parent == "" else str(parent),  # parent_id
        str(get("story_type") or "task"),  # type
        get("description"),  # description
        _date(get("start_date")),  # start_date
        _date(get("due_date")),  # due_date
        priority_name(get("priority")),  # priority
        _opt_str(state) if status is None or status == "" else str(status),  # status
        str(state or "not started"),  # state
        _int(get("percentage_complete")),  # percentage_complete
        bool(get("archived")),  # archived
        _int(get("position")),  # position
        _tags(story, tag_ids, maps.tags) if tag_ids != [] else (),  # tags
        _checklist(story, item_ids, maps.items) if item_ids != [] else (),  # checklist
        _markers(story, ref_ids, maps.refs) if ref_ids != [] else (),  # markers
        str(get("created_at") or ""),  # created_at
        str(get("updated_at") or ""),  # updated_at
        _opt_str(get("custom_task_status_id")),  # custom_task_status_id
    )


def _related(
    story: Mapping[str, Any],
    ids: object,
    objects: Mapping[str, Mapping[str, Any]] | None,
    fk: str,
) -> list[Mapping[str, Any]]:
    """Objects of one type (`objects`, by id) belonging to `story`: through its `ids` field
    when the include listed them, else by their foreign key `fk` (slow path for servers that
    omit the ids)."""
    if objects is None:
        return []
    if isinstance(ids, list):
        # The ids are strings as served; str() only for a server that sends integers.
        return [objects[k] for i in ids if (k := i if type(i) is str else str(i)) in objects]
    if not fk:
        return []  # e.g. tags: no foreign key to follow
    sid = str(story["id"])
    return [o for o in objects.values() if str(o.get(fk)) == sid]


def _tags(
    story: Mapping[str, Any], ids: object, tags: Mapping[str, Mapping[str, Any]] | None
) -> tuple[str, ...]:
    related = _related(story, ids, tags, "")
    if not related:
        return ()
    names = {str(t.get("name", "")) for t in related}
    names.discard("")
    if len(names) < 2:
        return tuple(names)
    return tuple(sorted(names, key=_tag_order))


def _tag_order(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def _checklist(
    story: Mapping[str, Any], ids: object, items: Mapping[str, Mapping[str, Any]] | None
) -> tuple[LiveChecklistItem, ...]:
    related = _related(story, ids, items, "story_id")
    if not related:
        return ()
    out = [
        LiveChecklistItem(  # positional, in field order (see _task)
            str(o["id"]),  # id
            str(o.get("name", "")),  # name
            bool(o.get("completed")),  # completed
            _int(o.get("position")),  # position
            str(o.get("updated_at") or ""),  # updated_at
        )
        for o in related
        if not o.get("deleted_at")
    ]
    if _by_position(out):
        return tuple(out)  # the usual case: served in position order (see _by_position)
    return tuple(sorted(out, key=_item_order))


def _by_position(items: list[LiveChecklistItem]) -> bool:
    """Whether the positions strictly increase: then sorting by (position, id) keeps the
    order, since no two positions tie (cheaper than sorting a list that is sorted)."""
    for i in range(1, len(items)):  # noqa: SIM110 (all() over a generator: twice the time)
        if items[i - 1].position >= items[i].position:
            return False
    return True


def _item_order(item: LiveChecklistItem) -> tuple[int, IdOrder]:
    return (item.position, id_order(item.id))


def _markers(
    story: Mapping[str, Any], ids: object, refs: Mapping[str, Mapping[str, Any]] | None
) -> tuple[LiveMarker, ...]:
    related = _related(story, ids, refs, "subject_id")
    if not related:
        return ()
    markers = [_marker(r) for r in related if r.get("subject_type") in (None, "Story")]
    if len(markers) < 2:
        return tuple(markers)
    return tuple(sorted(markers, key=_marker_order))


def _marker_order(m: LiveMarker) -> tuple[str, str, str, IdOrder]:
    return (m.service_name, m.service_model, m.service_model_ref, id_order(m.id))


def _marker(ref: Mapping[str, Any]) -> LiveMarker:
    status = ref.get("external_status")
    return LiveMarker(  # positional, in field order (see _task)
        str(ref["id"]),  # id
        str(ref.get("service_name", "")),  # service_name
        str(ref.get("service_model", "")),  # service_model
        str(ref.get("service_model_ref", "")),  # service_model_ref
        # (an absent or empty status is never PROTECTED: no need to normalise it)
        _is_protected(status) if status else False,  # protected
        str(ref.get("external_message") or ""),  # message
    )


def _is_protected(external_status: object) -> bool:
    """`protect: true` is stored as the marker's external_status (see docs/plan.md)."""
    return str(external_status or "").strip().casefold() == PROTECTED


# --------------------------------------------------------------------------- values


def priority_name(value: object) -> str | None:
    """`low|normal|high|critical` from a name or an integer level; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return _PRIORITY_LEVELS.get(int(value), str(value))
    return str(value).lower()


def _date(value: object) -> str | None:
    return str(value)[:10] if value else None


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
