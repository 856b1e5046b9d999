"""Look-ups: a workspace by id or title, tasks by id or by marker, and counts across
workspaces (who else uses a status set, how many tasks hold a status)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kxplan.client import KantataClient, Records
from kxplan.client._paging import (
    PAGE_SIZE,
    STABLE_ORDER,
    collect,
    listing_problems,
    listing_total,
    page_count,
)
from kxplan.errors import NotFoundError, PlanError
from kxplan.ids import id_order
from kxplan.live._checks import story_check
from kxplan.live._params import STORY_PARAMS, chunks
from kxplan.live._parsing import primary, tasks_from_records, workspace_from_api
from kxplan.model import SERVICE_NAME, LiveTask, LiveWorkspace

# --------------------------------------------------------------------------- workspaces


def find_workspace(client: KantataClient, ref: str | int) -> LiveWorkspace | None:
    """The workspace with id `ref` or exact title `ref`; None when there is none.

    A title shared by several workspaces raises PlanError listing them.
    """
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        found = workspace_by_id(client, text)
        if found is not None or isinstance(ref, int):
            return found
    return workspace_by_title(client, text)


class WorkspaceNotFound(PlanError):
    """No workspace has this id or exact title (archived ones included)."""


def workspace_not_found(ref: str | int) -> WorkspaceNotFound:
    """The error for a workspace reference that matches nothing: what to do about it."""
    by_title = not (isinstance(ref, int) or str(ref).strip().isdigit())
    create = (
        "add `create: true` to the manifest's workspace: mapping (workspace: {title: ..., "
        "create: true}) to create it, or give"
        if by_title
        else "give"
    )
    return WorkspaceNotFound(
        f"workspace {ref!r} was not found",
        hint=f"{create} the workspace id, or its exact title (archived workspaces count too)",
    )


#: Workspaces are read with their external references: the stack's workspace marker.
_WITH_MARKERS = {"include": "external_references"}


def workspace_by_id(client: KantataClient, wid: str) -> LiveWorkspace | None:
    """The workspace with this id (archived too); None when there is none."""
    try:
        env = client.get(f"/workspaces/{wid}", {"include_archived": True, **_WITH_MARKERS})
    except NotFoundError:
        return None
    objs = primary(env)
    return workspace_from_api(objs[0], env.get("external_references")) if objs else None


def workspace_by_title(client: KantataClient, title: str) -> LiveWorkspace | None:
    """The one workspace titled exactly `title` (archived too); None when there is none.
    PlanError when several have it, or only ones differing in case (a likely typo)."""
    return pick_titled(workspaces_matching(client, title), title)


def matching_records(client: KantataClient, title: str) -> Records:
    """`GET /workspaces?matching=<title>` (archived too, with their external references),
    every page. `matching` is a case-insensitive "starts with" per word that ignores stop
    words (docs/kantata-api.md, "Workspaces"), so it holds every workspace titled exactly
    `title`, and maybe others: callers keep exact titles."""
    params = {"matching": title, "include_archived": True, **_WITH_MARKERS}
    return client.get_all("/workspaces", params)


def workspaces_matching(client: KantataClient, title: str) -> list[LiveWorkspace]:
    """The workspaces `GET /workspaces?matching=<title>` returns, in id order (see
    `matching_records`): exact titles and near ones, for `pick_titled` to choose from."""
    records = matching_records(client, title)
    markers = records.included.get("external_references")
    found = [workspace_from_api(w, markers) for w in records]
    return sorted(found, key=lambda w: id_order(w.id))


def pick_titled(workspaces: Sequence[LiveWorkspace], title: str) -> LiveWorkspace | None:
    """The one of `workspaces` titled exactly `title`; None when none is. PlanError when
    several have it, or only ones differing in case (a likely typo). No I/O."""
    exact = [w for w in workspaces if w.title == title]
    if len(exact) > 1:
        listing = ", ".join(f"{w.id} ({w.title!r})" for w in exact)
        raise PlanError(
            f"workspace title {title!r} is ambiguous: {len(exact)} workspaces have it: {listing}",
            hint=f"give the workspace id instead, e.g. --workspace {exact[0].id}",
        )
    if exact:
        return exact[0]
    near = [w for w in workspaces if w.title.casefold() == title.casefold()]
    if near:
        raise PlanError(
            f"no workspace is titled exactly {title!r}",
            hint="titles match exactly; did you mean "
            + ", ".join(f"{w.title!r} (id {w.id})" for w in near)
            + "?",
        )
    return None


def read_workspace_index(client: KantataClient) -> tuple[LiveWorkspace, ...]:
    """Every workspace on the account (archived too), 200 a page, in id order. GET
    /workspaces has its own, stricter rate limit: the client sends its pages one at a time."""
    return _index_from(client.get_all("/workspaces", _INDEX_PARAMS))


#: The index listing: every workspace, archived too, with markers, in a stable order.
_INDEX_PARAMS = {"include_archived": True, **_WITH_MARKERS}
_INDEX_QUERY = {"order": STABLE_ORDER, **_INDEX_PARAMS, "per_page": PAGE_SIZE}


def _index_from(records: Records) -> tuple[LiveWorkspace, ...]:
    markers = records.included.get("external_references")
    found = (workspace_from_api(w, markers) for w in records)
    return tuple(sorted(found, key=lambda w: id_order(w.id)))


def read_index_page(client: KantataClient) -> dict[str, Any]:
    """Page 1 of the workspace index (the same query `read_workspace_index` pages): its
    `count` says how many pages the whole index takes (`index_pages`), and it is kept so
    that reading the rest (`read_index_rest`) does not ask for it again."""
    return client.get("/workspaces", {**_INDEX_QUERY, "page": 1})


def index_pages(first: Mapping[str, Any]) -> int | None:
    """How many pages the workspace index takes, from its page 1; None when the answer
    says nothing of its size and page 1 is full (then only paging on tells)."""
    got = len(first.get("results") or ())
    counted = isinstance(first.get("count"), int) or isinstance(
        (first.get("meta") or {}).get("count"), int
    )
    if not counted:
        return 1 if got < PAGE_SIZE else None
    return page_count(first, PAGE_SIZE)


def read_index_rest(client: KantataClient, first: dict[str, Any]) -> tuple[LiveWorkspace, ...]:
    """The whole workspace index, given its page 1 (`read_index_page`): pages 2..n one at
    a time (the stricter limit), checked as `get_all` checks a listing; when they contradict
    each other (the account changed meanwhile) the index is read whole once more."""
    pages = index_pages(first)
    if pages is None:
        return read_workspace_index(client)
    rest = [client.get("/workspaces", {**_INDEX_QUERY, "page": n}) for n in range(2, pages + 1)]
    envelopes = [first, *rest]
    if listing_problems(envelopes, PAGE_SIZE):
        return read_workspace_index(client)
    return _index_from(collect(envelopes))


#: Words `GET /workspaces?matching=` ignores (the Workspaces API's list of stop words).
_STOP_WORDS_TEXT = (
    "a an and are as at be but by for if in into is it no not "
    "of on or such that the their then there these they this to was with"
)
MATCHING_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def matchable(title: str) -> bool:
    """Whether `matching=<title>` narrows the listing at all: some word of the title is
    not a stop word (else it returns every workspace)."""
    return any(w not in MATCHING_STOP_WORDS for w in title.casefold().split())


def count_set_usage(
    client: KantataClient,
    workspace_id: str,
    set_ids: Iterable[str],
    index: Sequence[LiveWorkspace] | None = None,
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(set id, ids of the workspaces other than `workspace_id` that use it), for each of
    `set_ids`, ids in numeric order.

    Kantata has no filter by status set and GET /workspaces has its own, stricter rate
    limit, so this counts in `index` (every workspace, e.g. a run's `SharedReads`), or
    pages every workspace (archived too) once, 200 per page, when none is given. Call it
    only when a plan changes an existing set (see kxplan.shared_sets).
    """
    wanted = sorted(set(set_ids), key=id_order)
    if not wanted:
        return ()
    users: dict[str, list[str]] = {sid: [] for sid in wanted}
    for ws in read_workspace_index(client) if index is None else index:
        set_id = ws.task_status_set_id or ""
        if set_id in users and ws.id != str(workspace_id):
            users[set_id].append(ws.id)
    return tuple((sid, tuple(sorted(users[sid], key=id_order))) for sid in wanted)


# --------------------------------------------------------------------------- stories


def read_tasks(client: KantataClient, workspace_id: str, ids: Iterable[str]) -> dict[str, LiveTask]:
    """The live tasks with these ids (archived included; deleted or unknown ones absent),
    `only=` batches of 200 run concurrently."""
    wanted = sorted({str(i) for i in ids}, key=id_order)

    def batch(chunk: Sequence[str]) -> Records:
        params = {"workspace_id": workspace_id, **STORY_PARAMS, "only": ",".join(chunk)}
        return client.get_all("/stories", params, check=story_check(client))

    out: dict[str, LiveTask] = {}
    for records in client.map_concurrent(batch, chunks(wanted)):
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
        refs = {"external_reference_service_model_refs": ",".join(chunk)}
        params = {**_marker_params(workspace_id, stack), **refs}
        return client.get_all("/stories", params, check=story_check(client))

    found: dict[str, list[LiveTask]] = {}
    wanted_set = set(wanted)
    for records in client.map_concurrent(batch, chunks(wanted)):
        for task in tasks_from_records(records):
            key = task.key_for(stack)  # the filter is a convenience: check the marker here
            if key is not None and key in wanted_set:
                found.setdefault(key, []).append(task)
    for stories in found.values():
        stories.sort(key=lambda t: id_order(t.id))
    return found


def count_stack_stories(client: KantataClient, workspace_id: str, stack: str) -> int | None:
    """How many stories of the workspace carry this stack's marker, as the server counts
    them: one `GET /stories` with the marker filters and `per_page=1`, the envelope's
    count read (docs/apply.md, "When two applies meet"); None when the answer carries no
    count. The same stories a plan's read sees (archived ones, To Dos, in an archived
    workspace), without their associations."""
    params = {
        **{k: v for k, v in _marker_params(workspace_id, stack).items() if k not in _NOT_COUNTED},
        "per_page": 1,
    }
    return listing_total(client.get("/stories", params))


#: Parameters a count leaves out: they add to what each story shows, not to which are listed.
_NOT_COUNTED = frozenset({"include", "optional_fields"})


def _marker_params(workspace_id: str, stack: str) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        **STORY_PARAMS,
        "external_reference_service_name": SERVICE_NAME,
        "external_reference_service_model": stack,
    }


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
    for chunk in chunks(workspace_ids):
        params = {
            "by_status": ",".join(statuses),
            "with_projects": ",".join(chunk),
            "show_archived": True,
            "show_todos": True,
            "per_page": 1,
        }
        total += envelope_count(client.get("/stories", params))
    return total


def envelope_count(envelope: Mapping[str, Any]) -> int:
    """A listing's total (`listing_total`); a PlanError when it carries none."""
    count = listing_total(envelope)
    if count is not None:
        return count
    raise PlanError(
        "Kantata's answer to a story count carried no count",
        hint="the status changes in other workspaces cannot be counted; report this",
    )
