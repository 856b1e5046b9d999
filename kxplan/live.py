"""Read the live workspace into frozen `kxplan.model` values, in the fewest requests.

A workspace of N stories takes at most ⌈N/200⌉ + 3 requests:

    1  the workspace        GET /workspaces/{id}  or  GET /workspaces?matching=<title>
    1  every status set     GET /task_status_sets?include=custom_task_statuses
    ⌈N/200⌉ stories         GET /stories?workspace_id=..&show_archived=true
                                &include=parent,tags,story_tasks,external_references
                                &optional_fields=custom_task_status_id&order=created_at:asc

Checklist items, tags and markers ride along as includes, so no request is made per story.
Assumption: an include returns every associated object (Kantata's includes are not paged;
the sandbox returns all), so a story's checklist is complete.
The workspace and the first page of stories are requested together when the workspace is
given by id, so a read takes 1 + ⌈(pages − 1) / concurrency⌉ round trips. (An all-digit
workspace title that is not an id costs two more requests: the id lookup and a story page.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from kxplan.client import KantataClient, Records
from kxplan.errors import ApiError, NotFoundError, PlanError
from kxplan.model import (
    PRIORITIES,
    PROTECTED,
    SERVICE_NAME,
    LiveChecklistItem,
    LiveMarker,
    LiveState,
    LiveStatus,
    LiveStatusSet,
    LiveTask,
    LiveWorkspace,
)

#: Associations read with every story.
STORY_INCLUDES = ("parent", "tags", "story_tasks", "external_references")

#: Query parameters for every story read: archived stories too (kxplan manages them), never
#: deleted ones (the default filter hides them), and To Dos (`project_plan: false`), hidden
#: by default: kxplan creates project tasks, but a server whose default is a To Do must not
#: hide a task kxplan made, and people's To Dos are seen (unmanaged, so never changed).
STORY_PARAMS: Mapping[str, Any] = {
    "show_archived": True,
    "show_todos": True,
    "include": ",".join(STORY_INCLUDES),
    "optional_fields": "custom_task_status_id",
}

#: Most ids (or marker refs) per `only=` / `external_reference_service_model_refs=` request.
BATCH = 200

# Kantata documents priority as low|normal|high|critical but some responses carry an
# integer level; assumed to count up in the same order.
_PRIORITY_LEVELS = dict(enumerate(PRIORITIES))

Envelope = Mapping[str, Any]


def read_live(client: KantataClient, workspace: str | int) -> LiveState:
    """The whole live picture for one workspace (by id or exact title).

    The status sets are read alongside; given an id, so are the stories, saving round trips.
    Raises PlanError when no workspace matches, or when a title matches several.
    """
    before = client.requests
    with ThreadPoolExecutor(max_workers=2) as pool:
        sets = pool.submit(read_status_sets, client)
        found, records = _workspace_and_stories(client, workspace, pool)
        status_sets = sets.result()
    tasks = tasks_from_records(records)
    return LiveState(found, tasks, status_sets, requests=client.requests - before)


def _workspace_and_stories(
    client: KantataClient, ref: str | int, pool: ThreadPoolExecutor
) -> tuple[LiveWorkspace, Records]:
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        # An id needs no lookup before the stories can be listed: ask for both at once.
        stories = pool.submit(read_stories, client, text)
        found = _workspace_by_id(client, text)
        if found is not None:
            return found, stories.result()
        with suppress(ApiError):
            stories.result()  # the guess was wrong; let it finish
        if isinstance(ref, int):
            raise _not_found(ref)
    found = _workspace_by_title(client, text)
    if found is None:
        raise _not_found(ref)
    return found, read_stories(client, found.id)


def _not_found(ref: str | int) -> PlanError:
    return PlanError(
        f"workspace {ref!r} was not found",
        hint="give the workspace id, or its exact title (archived workspaces count too)",
    )


def read_stories(client: KantataClient, workspace_id: str) -> Records:
    """Every story of the workspace (archived included, deleted never) with its parent,
    tags, checklist items and external references, 200 per page."""
    return client.get_all("/stories", {"workspace_id": workspace_id, **STORY_PARAMS})


# --------------------------------------------------------------------------- workspaces


def find_workspace(client: KantataClient, ref: str | int) -> LiveWorkspace | None:
    """The workspace with id `ref` or exact title `ref`; None when there is none.

    A title shared by several workspaces raises PlanError listing them.
    """
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        found = _workspace_by_id(client, text)
        if found is not None or isinstance(ref, int):
            return found
    return _workspace_by_title(client, text)


def _workspace_by_id(client: KantataClient, wid: str) -> LiveWorkspace | None:
    try:
        env = client.get(f"/workspaces/{wid}", {"include_archived": True})
    except NotFoundError:
        return None
    objs = _primary(env)
    return workspace_from_api(objs[0]) if objs else None


def _workspace_by_title(client: KantataClient, title: str) -> LiveWorkspace | None:
    records = client.get_all("/workspaces", {"matching": title, "include_archived": True})
    exact = [w for w in records if w.get("title") == title]
    if len(exact) > 1:
        listing = ", ".join(f"{w['id']} ({w.get('title')!r})" for w in exact)
        raise PlanError(
            f"workspace title {title!r} is ambiguous: {len(exact)} workspaces have it: {listing}",
            hint=f"give the workspace id instead, e.g. --workspace {exact[0]['id']}",
        )
    if exact:
        return workspace_from_api(exact[0])
    near = [w for w in records if str(w.get("title", "")).casefold() == title.casefold()]
    if near:
        raise PlanError(
            f"no workspace is titled exactly {title!r}",
            hint="titles match exactly; did you mean "
            + ", ".join(f"{w.get('title')!r} (id {w['id']})" for w in near)
            + "?",
        )
    return None


def workspace_from_api(obj: Mapping[str, Any]) -> LiveWorkspace:
    """A `LiveWorkspace` from a Kantata workspace object."""
    set_id = obj.get("task_status_set_id")
    return LiveWorkspace(
        id=str(obj["id"]),
        title=str(obj.get("title", "")),
        task_status_set_id=None if set_id in (None, "") else str(set_id),
        updated_at=str(obj.get("updated_at") or ""),
    )


def count_set_usage(
    client: KantataClient, workspace_id: str, set_ids: Iterable[str]
) -> tuple[tuple[str, int], ...]:
    """(set id, how many workspaces other than `workspace_id` use it), for each of `set_ids`.

    Kantata has no filter by status set and GET /workspaces has its own, stricter rate
    limit, so this pages every workspace (archived too) once, 200 per page, and counts
    here. Call it only when a plan changes an existing set (see kxplan.cli.plan_options).
    """
    wanted = sorted(set(set_ids), key=_id_order)
    if not wanted:
        return ()
    counts = dict.fromkeys(wanted, 0)
    for ws in client.get_all("/workspaces", {"include_archived": True}):
        set_id = str(ws.get("task_status_set_id") or "")
        if set_id in counts and str(ws.get("id")) != str(workspace_id):
            counts[set_id] += 1
    return tuple((sid, counts[sid]) for sid in wanted)


# --------------------------------------------------------------------------- status sets


def read_status_sets(client: KantataClient) -> tuple[LiveStatusSet, ...]:
    """Every task status set on the account with its statuses (one request: ≤ 50 sets)."""
    records = client.get_all("/task_status_sets", {"include": "custom_task_statuses"})
    statuses = records.included.get("custom_task_statuses", {})
    sets = [_status_set(s, statuses) for s in records]
    return tuple(sorted(sets, key=lambda s: _id_order(s.id)))


def status_set_from(data: Mapping[str, Any], set_id: str) -> LiveStatusSet | None:
    """The set `set_id` with its statuses from one response (a create, or a show with
    `include=custom_task_statuses`); None when the response does not hold the set."""
    sets = data.get("task_status_sets") or {}
    obj = sets.get(str(set_id)) if isinstance(sets, Mapping) else None
    if not isinstance(obj, Mapping):
        return None
    statuses = data.get("custom_task_statuses") or {}
    return _status_set(obj, statuses if isinstance(statuses, Mapping) else {})


def _status_set(obj: Mapping[str, Any], statuses: Mapping[str, Mapping[str, Any]]) -> LiveStatusSet:
    sid = str(obj["id"])
    ids = obj.get("custom_task_status_ids")
    if ids is None:  # the include did not list them: find them by their set
        members = [s for s in statuses.values() if str(s.get("status_set_id")) == sid]
    else:
        members = [statuses[str(i)] for i in ids if str(i) in statuses]
    live = [
        LiveStatus(
            id=str(s["id"]),
            name=str(s.get("status", "")),
            category=str(s.get("category", "")),
            position=_int(s.get("position")),
        )
        for s in members
    ]
    live.sort(key=lambda s: (s.position, _id_order(s.id)))
    return LiveStatusSet(
        sid, str(obj.get("name", "")), tuple(live), str(obj.get("updated_at") or "")
    )


# --------------------------------------------------------------------------- stories


def tasks_from_records(records: Records) -> tuple[LiveTask, ...]:
    """Live tasks from a story listing, deleted ones dropped, sorted by numeric id."""
    tasks = [task_from_api(s, records.included) for s in records if not s.get("deleted_at")]
    return tuple(sorted(tasks, key=lambda t: _id_order(t.id)))


def read_tasks(client: KantataClient, workspace_id: str, ids: Iterable[str]) -> dict[str, LiveTask]:
    """The live tasks with these ids (archived included; deleted or unknown ones absent),
    `only=` batches of 200 run concurrently."""
    wanted = sorted({str(i) for i in ids}, key=_id_order)

    def batch(chunk: Sequence[str]) -> Records:
        params = {"workspace_id": workspace_id, **STORY_PARAMS, "only": ",".join(chunk)}
        return client.get_all("/stories", params)

    out: dict[str, LiveTask] = {}
    for records in client.map_concurrent(batch, _chunks(wanted, BATCH)):
        out.update((t.id, t) for t in tasks_from_records(records))
    return {i: out[i] for i in wanted if i in out}


def find_tasks_by_marker(
    client: KantataClient, workspace_id: str, stack: str, keys: Iterable[str]
) -> dict[str, LiveTask]:
    """Task key -> the live task carrying this stack's marker for it, searched by the
    external references' refs in batches of 200. Used to learn whether a create whose
    outcome is unknown happened. A key on several stories maps to the lowest id."""
    wanted = sorted(set(keys))

    def batch(chunk: Sequence[str]) -> Records:
        params = {
            "workspace_id": workspace_id,
            **STORY_PARAMS,
            "external_reference_service_name": SERVICE_NAME,
            "external_reference_service_model": stack,
            "external_reference_service_model_refs": ",".join(chunk),
        }
        return client.get_all("/stories", params)

    found: dict[str, LiveTask] = {}
    for records in client.map_concurrent(batch, _chunks(wanted, BATCH)):
        for task in tasks_from_records(records):
            key = task.key_for(stack)
            # The filter is a convenience: check the marker here, whatever the server did.
            if key in wanted and (
                key not in found or _id_order(task.id) < _id_order(found[key].id)
            ):
                found[key] = task
    return found


def task_from_api(story: Mapping[str, Any], envelope: Envelope) -> LiveTask:
    """A `LiveTask` from a Kantata story and the typed maps it was served with (an API
    response, or `Records.included`): tags, checklist items and markers are looked up there."""
    sid = str(story["id"])
    parent = story.get("parent_id")
    return LiveTask(
        id=sid,
        title=str(story.get("title", "")),
        parent_id=None if parent in (None, "") else str(parent),
        type=str(story.get("story_type") or "task"),
        description=story.get("description"),
        start_date=_date(story.get("start_date")),
        due_date=_date(story.get("due_date")),
        priority=priority_name(story.get("priority")),
        status=_opt_str(story.get("status")) or _opt_str(story.get("state")),
        state=str(story.get("state") or "not started"),
        percentage_complete=_int(story.get("percentage_complete")),
        archived=bool(story.get("archived")),
        position=_int(story.get("position")),
        tags=_tags(story, envelope),
        checklist=_checklist(story, envelope),
        markers=_markers(story, envelope),
        created_at=str(story.get("created_at") or ""),
        updated_at=str(story.get("updated_at") or ""),
        custom_task_status_id=_opt_str(story.get("custom_task_status_id")),
    )


def _related(
    story: Mapping[str, Any], envelope: Envelope, key: str, ids_field: str, fk: str
) -> list[Mapping[str, Any]]:
    """Objects of type `key` belonging to `story`: through `ids_field` when the include
    listed them, else by their foreign key `fk` (slow path for servers that omit the ids)."""
    objects = envelope.get(key)
    if not isinstance(objects, Mapping):
        return []
    ids = story.get(ids_field)
    if isinstance(ids, list):
        return [objects[str(i)] for i in ids if str(i) in objects]
    if not fk:
        return []  # e.g. tags: no foreign key to follow
    sid = str(story["id"])
    return [o for o in objects.values() if str(o.get(fk)) == sid]


def _tags(story: Mapping[str, Any], envelope: Envelope) -> tuple[str, ...]:
    names = {str(t.get("name", "")) for t in _related(story, envelope, "tags", "tag_ids", "")}
    names.discard("")
    return tuple(sorted(names, key=lambda n: (n.casefold(), n)))


def _checklist(story: Mapping[str, Any], envelope: Envelope) -> tuple[LiveChecklistItem, ...]:
    items = [
        LiveChecklistItem(
            id=str(o["id"]),
            name=str(o.get("name", "")),
            completed=bool(o.get("completed")),
            position=_int(o.get("position")),
            updated_at=str(o.get("updated_at") or ""),
        )
        for o in _related(story, envelope, "story_tasks", "story_task_ids", "story_id")
        if not o.get("deleted_at")
    ]
    return tuple(sorted(items, key=lambda i: (i.position, _id_order(i.id))))


def _markers(story: Mapping[str, Any], envelope: Envelope) -> tuple[LiveMarker, ...]:
    refs = _related(story, envelope, "external_references", "external_reference_ids", "subject_id")
    markers = [
        LiveMarker(
            id=str(r["id"]),
            service_name=str(r.get("service_name", "")),
            service_model=str(r.get("service_model", "")),
            service_model_ref=str(r.get("service_model_ref", "")),
            protected=_is_protected(r.get("external_status")),
            message=str(r.get("external_message") or ""),
        )
        for r in refs
        if r.get("subject_type") in (None, "Story")
    ]
    return tuple(
        sorted(
            markers,
            key=lambda m: (m.service_name, m.service_model, m.service_model_ref, _id_order(m.id)),
        )
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


def _primary(env: Envelope) -> list[Mapping[str, Any]]:
    out = []
    for ref in env.get("results") or ():
        obj = (env.get(str(ref.get("key"))) or {}).get(str(ref.get("id")))
        if obj is not None:
            out.append(obj)
    return out


def _date(value: object) -> str | None:
    return str(value)[:10] if value else None


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _id_order(ident: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order; anything else after them."""
    return (0, int(ident), "") if ident.isdigit() else (1, 0, ident)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
