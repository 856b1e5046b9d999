"""Read the live workspace into frozen `kxplan.model` values, in the fewest requests.

A workspace of N stories takes at most ⌈N/200⌉ + 3 requests:

    1  the workspace        GET /workspaces/{id}  or  GET /workspaces?matching=<title>
    1  every status set     GET /task_status_sets?include=custom_task_statuses
    ⌈N/200⌉ stories         GET /stories?workspace_id=..&show_archived=true
                                &show_from_archived_workspaces=true
                                &include=parent,tags,story_tasks,external_references
                                &optional_fields=custom_task_status_id&order=created_at:asc

Checklist items, tags and markers ride along as includes, so no request is made per story.
Every listing is checked for ids pointing at nothing (`story_check`, `status_set_problems`;
see `KantataClient.get_all`): it is read once more, then the read stops the run.
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

from kxplan.client import Check, KantataClient, Records
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

#: Query parameters for every story read: archived stories too (kxplan manages them), also
#: in an archived workspace (hidden by default, so it would read as empty), never deleted
#: ones (the default filter hides them), and To Dos (`project_plan: false`), hidden by
#: default: kxplan creates project tasks, but a server whose default is a To Do must not
#: hide a task kxplan made, and people's To Dos are seen (unmanaged, so never changed).
STORY_PARAMS: Mapping[str, Any] = {
    "show_archived": True,
    "show_from_archived_workspaces": True,
    "show_todos": True,
    "include": ",".join(STORY_INCLUDES),
    "optional_fields": "custom_task_status_id",
}

#: Query parameters for reading one story's checklist items (`GET /story_tasks`): the items
#: of archived stories, and of stories in an archived workspace, are hidden by default.
ITEM_PARAMS: Mapping[str, Any] = {
    "show_archived": True,
    "show_from_archived_workspaces": True,
    "per_page": 200,
}

#: Most ids (or marker refs) per `only=` / `external_reference_service_model_refs=` request.
BATCH = 200

# Kantata documents priority as low|normal|high|critical but some responses carry an
# integer level; assumed to count up in the same order.
_PRIORITY_LEVELS = dict(enumerate(PRIORITIES))

Envelope = Mapping[str, Any]


def read_live(client: KantataClient, workspace: str | int | LiveWorkspace) -> LiveState:
    """The whole live picture for one workspace (by id, exact title, or as already found).

    The status sets are read alongside; given an id, so are the stories, saving round trips.
    A workspace already found (e.g. to lock it) is not looked up again.
    Raises PlanError when no workspace matches, or when a title matches several.
    """
    before = client.requests
    with ThreadPoolExecutor(max_workers=2) as pool:
        sets = pool.submit(read_status_sets, client)
        if isinstance(workspace, LiveWorkspace):
            found, records = workspace, read_stories(client, workspace.id)
        else:
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
    params = {"workspace_id": workspace_id, **STORY_PARAMS}
    return client.get_all("/stories", params, check=story_check(client))


#: Story fields that list ids of side-loaded objects, and the typed map holding them.
_ID_LISTS = (
    ("tag_ids", "tags"),
    ("story_task_ids", "story_tasks"),
    ("external_reference_ids", "external_references"),
)


def story_check(client: KantataClient) -> Check:
    """`story_problems` for `get_all`, except parents that are deleted: a server that does not
    cascade deletes to subtasks may leave them pointing at a deleted parent, which
    `include=parent` need not serve. Those are confirmed with one `only_deleted` look-up."""

    def check(records: Records) -> list[str]:
        dangling = sorted(_dangling_parents(records), key=_id_order)[:BATCH]
        gone: set[str] = set()
        if dangling:
            params = {"only": ",".join(dangling), "only_deleted": True, **_ARCHIVED_TOO}
            gone = set(result_ids(client.get("/stories", params)))
        return story_problems(records, deleted=gone)

    return check


_ARCHIVED_TOO = {"show_archived": True, "show_from_archived_workspaces": True}


def _dangling_parents(records: Records) -> set[str]:
    stories = records.included.get("stories", {})
    parents = {str(s.get("parent_id")) for s in records if s.get("parent_id") not in (None, "")}
    return {p for p in parents if p not in stories}


def result_ids(envelope: Envelope) -> list[str]:
    """Ids of the primary objects of an envelope, in `results` order."""
    return [str(r.get("id")) for r in envelope.get("results") or () if isinstance(r, Mapping)]


def story_problems(records: Records, *, deleted: Iterable[str] = ()) -> list[str]:
    """Ids in a story listing that point at nothing: a `parent_id` whose story was not served
    (`include=parent` asks for it) and is not among the `deleted` ones, or tag, checklist item
    or marker ids missing from their typed maps. Planning from such a read would create copies
    of tasks that exist."""
    stories = records.included.get("stories", {})
    gone = set(deleted)
    problems = []
    for story in records:
        sid = story.get("id")
        parent = story.get("parent_id")
        if parent not in (None, "") and str(parent) not in stories and str(parent) not in gone:
            problems.append(f"story {sid} has parent_id {parent}, which the response lacks")
        for field, key in _ID_LISTS:
            ids = story.get(field)
            served = records.included.get(key, {})
            missing = [str(i) for i in ids if str(i) not in served] if isinstance(ids, list) else []
            if missing:
                problems.append(f"story {sid} lists {field} {', '.join(missing[:3])} not served")
    return problems


def status_set_problems(records: Records) -> list[str]:
    """Status ids a set lists that the `custom_task_statuses` include did not serve."""
    served = records.included.get("custom_task_statuses", {})
    problems = []
    for obj in records:
        ids = obj.get("custom_task_status_ids")
        missing = [str(i) for i in ids if str(i) not in served] if isinstance(ids, list) else []
        if missing:
            problems.append(
                f"status set {obj.get('id')} lists statuses {', '.join(missing[:3])} not served"
            )
    return problems


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
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(set id, ids of the workspaces other than `workspace_id` that use it), for each of
    `set_ids`, ids in numeric order.

    Kantata has no filter by status set and GET /workspaces has its own, stricter rate
    limit, so this pages every workspace (archived too) once, 200 per page, and counts
    here. Call it only when a plan changes an existing set (see kxplan.cli.shared_sets).
    """
    wanted = sorted(set(set_ids), key=_id_order)
    if not wanted:
        return ()
    users: dict[str, list[str]] = {sid: [] for sid in wanted}
    for ws in client.get_all("/workspaces", {"include_archived": True}):
        set_id = str(ws.get("task_status_set_id") or "")
        if set_id in users and str(ws.get("id")) != str(workspace_id):
            users[set_id].append(str(ws.get("id")))
    return tuple((sid, tuple(sorted(users[sid], key=_id_order))) for sid in wanted)


def count_tasks_holding(
    client: KantataClient, workspace_ids: Sequence[str], statuses: Sequence[str]
) -> int | None:
    """How many tasks (archived ones and To Dos too) of `workspace_ids` hold one of the
    status names `statuses`: `GET /stories?by_status=..&with_projects=..&per_page=1`, the
    count read from the envelope, one request per 200 workspaces. None when a name holds a
    comma (`by_status` takes a comma-separated list, so it cannot be asked for).
    """
    if not workspace_ids or not statuses:
        return 0
    if any("," in name for name in statuses):
        return None
    total = 0
    for start in range(0, len(workspace_ids), BATCH):
        params = {
            "by_status": ",".join(statuses),
            "with_projects": ",".join(workspace_ids[start : start + BATCH]),
            "show_archived": True,
            "show_todos": True,
            "per_page": 1,
        }
        total += envelope_count(client.get("/stories", params))
    return total


def envelope_count(envelope: Mapping[str, Any]) -> int:
    """A listing's total: `meta.count`, else `count` (docs/kantata-api.md, envelopes)."""
    meta = envelope.get("meta")
    if isinstance(meta, Mapping) and isinstance(meta.get("count"), int):
        return int(meta["count"])
    count = envelope.get("count")
    if isinstance(count, int):
        return count
    raise PlanError(
        "Kantata's answer to a story count carried no count",
        hint="the status changes in other workspaces cannot be counted; report this",
    )


# --------------------------------------------------------------------------- status sets


def read_status_sets(client: KantataClient) -> tuple[LiveStatusSet, ...]:
    """Every task status set on the account with its statuses (one request: ≤ 50 sets)."""
    params = {"include": "custom_task_statuses"}
    records = client.get_all("/task_status_sets", params, check=status_set_problems)
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
        return client.get_all("/stories", params, check=story_check(client))

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
    found = stories_by_marker(client, workspace_id, stack, keys)
    return {key: tasks[0] for key, tasks in found.items()}


def stories_by_marker(
    client: KantataClient, workspace_id: str, stack: str, keys: Iterable[str]
) -> dict[str, list[LiveTask]]:
    """Key -> every live story carrying this stack's marker for it, oldest (lowest id)
    first; keys no story carries are absent. One `GET /stories` per 200 keys."""
    wanted = sorted(set(keys))

    def batch(chunk: Sequence[str]) -> Records:
        params = {
            "workspace_id": workspace_id,
            **STORY_PARAMS,
            "external_reference_service_name": SERVICE_NAME,
            "external_reference_service_model": stack,
            "external_reference_service_model_refs": ",".join(chunk),
        }
        return client.get_all("/stories", params, check=story_check(client))

    found: dict[str, list[LiveTask]] = {}
    wanted_set = set(wanted)
    for records in client.map_concurrent(batch, _chunks(wanted, BATCH)):
        for task in tasks_from_records(records):
            key = task.key_for(stack)  # the filter is a convenience: check the marker here
            if key is not None and key in wanted_set:
                found.setdefault(key, []).append(task)
    for stories in found.values():
        stories.sort(key=lambda t: _id_order(t.id))
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
