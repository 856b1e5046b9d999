"""Brainstem presentation: rows -> Kantata JSON objects and the response envelope
(docs/kantata-api.md).

Ids and foreign keys are strings (except the few integer fields Kantata documents), `*_ids`
arrays appear only with their include, include keys are present as `{}` when empty, and
side-loaded objects of the primary type merge into the same map without overwriting a
primary object (Brainstem's first-write-wins).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from kxplan.sandbox.params import Page
from kxplan.sandbox.store import SANDBOX_USER_ID, Row, Store

Obj = dict[str, Any]
Maps = dict[str, dict[str, Obj]]

CATEGORIES = ("not started", "started", "needs info", "completed")

# Story includes the sandbox implements -> the top-level key their objects go under.
STORY_INCLUDES = {
    "parent": "stories",
    "root": "stories",
    "sub_stories": "stories",
    "ancestors": "stories",
    "descendants": "stories",
    "story_tasks": "story_tasks",
    "tags": "tags",
    "external_references": "external_references",
    "workspace": "workspaces",
    "creator": "users",
    "assignees": "users",
    "story_state_changes": "story_state_changes",
}
# Includes Kantata restricts to `only` queries (show routes and write responses are ones).
ONLY_INCLUDES = frozenset({"story_state_changes"})

# The documented story optional fields, for the one (administrator) user the sandbox knows:
# it can edit and post everywhere; nothing is scheduled, so no Daily Scheduled Hours exist.
STORY_OPTIONAL: dict[str, Any] = {
    "read_only": False,
    "can_edit": True,
    "can_post": True,
    "archived_editable": True,
    "is_time_trackable_type": True,
    "has_out_of_bounds_sads": False,
    "can_align_time": False,
    "render_description_markdown": False,
}
# Story totals the sandbox has nothing behind (no time entries, invoices or expenses).
STORY_ZEROES = (
    "budget_used_in_cents",
    "invoiced_balance_in_cents",
    "uninvoiced_balance_in_cents",
    "logged_billable_time_in_minutes",
    "logged_nonbillable_time_in_minutes",
)
SUB_STORY_SUMS = {
    "time_estimate_in_minutes": "sub_stories_time_estimate_in_minutes",
    "budget_estimate_in_cents": "sub_stories_budget_estimate_in_cents",
}


def sid(value: int | None) -> str | None:
    """A Brainstem id: the string form, with None kept as null."""
    return None if value is None else str(value)


def envelope(key: str, rows: Sequence[Row], count: int, page: Page, maps: Maps) -> Obj:
    """`count`, `meta`, `results` in order, then the primary map and every include map."""
    body: Obj = {
        "count": count,
        "meta": page.meta(count),
        "results": [{"key": key, "id": str(r["id"])} for r in rows],
    }
    body[key] = maps.pop(key, {})
    body.update(maps)
    return body


def without_meta(body: Obj | None) -> Obj | None:
    """`body` without its `meta` block, as the 2013 API answered (variant `meta=absent`):
    only `count`, `results` and the typed maps are left."""
    if not isinstance(body, dict) or "meta" not in body:
        return body
    return {k: v for k, v in body.items() if k != "meta"}


def sandbox_user() -> Obj:
    """The user behind every token: the creator and actor of everything (docs/sandbox.md)."""
    return {
        "id": str(SANDBOX_USER_ID),
        "full_name": "Sandbox User",
        "email_address": "sandbox@example.invalid",
        "headline": "kxplan sandbox",
        "photo_path": None,
    }


def story(row: Row, optional: Iterable[str] = (), sums: dict[str, int] | None = None) -> Obj:
    """A story object without association ids; `sums`: its descendants' estimate totals."""
    obj: Obj = {
        "id": str(row["id"]),
        "title": row["title"],
        "description": row["description"],
        "story_type": row["story_type"],
        "state": row["state"],
        "status": row["status"],
        "priority": row["priority"],
        "percentage_complete": row["percentage_complete"],
        "position": row["position"],
        "archived": bool(row["archived"]),
        "deleted_at": row["deleted_at"],
        "start_date": row["start_date"],
        "due_date": row["due_date"],
        "workspace_id": str(row["workspace_id"]),
        "parent_id": sid(row["parent_id"]),
        "root_id": sid(row["root_id"]),
        "ancestry_depth": row["ancestry_depth"],
        "subtree_depth": row["subtree_depth"],
        "sub_story_count": row["sub_story_count"],
        "project_plan": bool(row.get("project_plan", 1)),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    obj.update(_budget(row, sums))
    optional = tuple(optional)
    if "custom_task_status_id" in optional:
        obj["custom_task_status_id"] = row["custom_task_status_id"]
    for name in optional:
        if name in STORY_OPTIONAL:
            obj[name] = STORY_OPTIONAL[name]
        elif name in ("formatted_description", "parsed_description"):
            obj[name] = row["description"]
    return obj


def _budget(row: Row, sums: dict[str, int] | None) -> Obj:
    """Billing flags, estimates, the weight (milestones only) and the totals (docs/sandbox.md)."""
    obj: Obj = {
        "billable": bool(row["billable"]),
        "fixed_fee": bool(row["fixed_fee"]),
        "time_trackable": bool(row["time_trackable"]),
        "weight": row["weight"] if row["story_type"] == "milestone" else None,
        "budget_estimate_in_cents": row["budget_estimate_in_cents"],
        "time_estimate_in_minutes": row["time_estimate_in_minutes"],
        "creator_id": str(row["creator_id"]),
    }
    obj.update(dict.fromkeys(STORY_ZEROES, 0))
    if sums is not None:
        obj["sub_stories_billable_time_in_minutes"] = 0
        obj["sub_stories_budget_used_in_cents"] = 0
        for column, name in SUB_STORY_SUMS.items():
            obj[name] = sums.get(column, 0)
    return obj


def story_task(row: Row) -> Obj:
    """A checklist item."""
    return {
        "id": str(row["id"]),
        "story_id": str(row["story_id"]),
        "name": row["name"],
        "completed": bool(row["completed"]),
        "completed_at": row["completed_at"],
        "position": row["position"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def tag(row: Row) -> Obj:
    """A tag (acts-as-taggable-on)."""
    return {"id": str(row["id"]), "name": row["name"]}


def external_reference(row: Row) -> Obj:
    """An external reference; `subject_id` is an integer, as documented."""
    return {
        "id": str(row["id"]),
        "subject_type": row["subject_type"],
        "subject_id": row["subject_id"],
        "service_name": row["service_name"],
        "service_model": row["service_model"],
        "service_model_ref": row["service_model_ref"],
        "status": row["status"],
        "external_link": row["external_link"],
        "external_status": row["external_status"],
        "external_message": row["external_message"],
        "locked": bool(row["locked"]),
        "last_synced_at": row["last_synced_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def status_set(row: Row) -> Obj:
    """A task status set."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def custom_status(row: Row) -> Obj:
    """A custom task status; `status_set_id` is an integer, as documented."""
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "category": row["category"],
        "position": row["position"],
        "status_set_id": row["status_set_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def state_change(row: Row) -> Obj:
    """A story state change (audit row)."""
    return {
        "id": str(row["id"]),
        "story_id": str(row["story_id"]),
        "state": row["state"],
        "formatted_state": row["state"].title(),
        "user_id": str(row["user_id"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def workspace_status_set(row: Row) -> Obj:
    """A workspace <-> status set assignment (integers, as documented)."""
    return {
        "id": str(row["id"]),
        "workspace_id": row["workspace_id"],
        "status_set_id": row["status_set_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def workspaces(store: Store, rows: Sequence[Row]) -> dict[str, Obj]:
    """Workspace objects with their status set's id, name and status names."""
    set_ids = {r["status_set_id"] for r in rows if r["status_set_id"] is not None}
    names: dict[int, str] = {}
    statuses: dict[int, list[str]] = defaultdict(list)
    if set_ids:
        marks = ",".join("?" * len(set_ids))
        sql = f"SELECT id, name FROM task_status_sets WHERE id IN ({marks})"
        for s in store.all(sql, [*set_ids]):
            names[s["id"]] = s["name"]
        for c in store.all(
            f"SELECT status_set_id, status FROM custom_task_statuses "
            f"WHERE status_set_id IN ({marks}) ORDER BY position, id",
            [*set_ids],
        ):
            statuses[c["status_set_id"]].append(c["status"])
    return {str(r["id"]): _workspace(r, names, statuses) for r in rows}


def _workspace(row: Row, names: dict[int, str], statuses: dict[int, list[str]]) -> Obj:
    set_id = row["status_set_id"]
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "description": row["description"],
        "archived": bool(row["archived"]),
        "start_date": row["start_date"],
        "due_date": row["due_date"],
        "account_id": 1,
        "task_status_set_id": sid(set_id),
        "task_status_set_name": names.get(set_id) if set_id is not None else None,
        "task_statuses": statuses[set_id] if set_id is not None else list(CATEGORIES),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def in_clause(ids: Iterable[int]) -> tuple[str, list[int]]:
    """`(?,?,...)` and its arguments for an SQL IN over ids."""
    args = list(ids)
    return "(" + ",".join("?" * len(args)) + ")", args


def stories(
    store: Store,
    rows: Sequence[Row],
    includes: Iterable[str],
    optional: Iterable[str] = (),
    *,
    only_query: bool = False,
) -> Maps:
    """The `stories` map for primary rows plus every requested include map (side-loads).

    `only_query`: an `only` request (show routes and write responses are ones), where the
    includes Kantata restricts to `only` are served; elsewhere they are dropped silently.
    """
    wanted = [
        i
        for i in dict.fromkeys(includes)
        if i in STORY_INCLUDES and (only_query or i not in ONLY_INCLUDES)
    ]
    optional = tuple(optional)
    sums = _sub_story_sums(store, rows)
    maps: Maps = {"stories": {str(r["id"]): story(r, optional, sums[r["id"]]) for r in rows}}
    for name in wanted:
        maps.setdefault(STORY_INCLUDES[name], {})
    side: list[Row] = []
    for name in wanted:
        side.extend(_LOADERS[name](store, rows, maps))
    side_sums = _sub_story_sums(store, [r for r in side if str(r["id"]) not in maps["stories"]])
    for row in side:
        if str(row["id"]) not in maps["stories"]:
            maps["stories"][str(row["id"])] = story(row, optional, side_sums.get(row["id"]))
    return maps


def _sub_story_sums(store: Store, rows: Sequence[Row]) -> dict[int, dict[str, int]]:
    """Per story, the totals of its (not deleted) descendants' estimates."""
    sums: dict[int, dict[str, int]] = {r["id"]: {} for r in rows}
    roots = {r["root_id"] or r["id"] for r in rows if r["sub_story_count"]}
    if not roots:
        return sums
    clause, args = in_clause(roots)
    columns = ", ".join(SUB_STORY_SUMS)
    tree = store.all(
        f"SELECT ancestry, {columns} FROM stories WHERE root_id IN {clause} AND deleted_at IS NULL",
        args,
    )
    for d in tree:
        for anc in d["ancestry"].strip("/").split("/"):
            if anc and int(anc) in sums:
                totals = sums[int(anc)]
                for column in SUB_STORY_SUMS:
                    totals[column] = totals.get(column, 0) + (d[column] or 0)
    return sums


def _creator(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    maps["users"][str(SANDBOX_USER_ID)] = sandbox_user()
    return []


def _assignees(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause(r["id"] for r in rows)
    links = store.all(
        f"SELECT story_id, user_id FROM story_assignees WHERE story_id IN {clause} "
        "ORDER BY user_id",
        args,
    )
    if links:
        maps["users"][str(SANDBOX_USER_ID)] = sandbox_user()
    _attach(maps["stories"], rows, "assignee_ids", ((a["story_id"], a["user_id"]) for a in links))
    return []


def _story_state_changes(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause(r["id"] for r in rows)
    changes = store.all(
        f"SELECT * FROM story_state_changes WHERE story_id IN {clause} ORDER BY created_at, id",
        args,
    )
    maps["story_state_changes"].update((str(c["id"]), state_change(c)) for c in changes)
    pairs = ((c["story_id"], c["id"]) for c in changes)
    _attach(maps["stories"], rows, "story_state_change_ids", pairs)
    return []


def _parent(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    return _by_ids(store, {r["parent_id"] for r in rows if r["parent_id"] is not None})


def _root(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    return _by_ids(store, {r["root_id"] for r in rows if r["root_id"] is not None})


def _by_ids(store: Store, ids: set[int]) -> list[Row]:
    if not ids:
        return []
    clause, args = in_clause(ids)
    return store.all(f"SELECT * FROM stories WHERE id IN {clause}", args)


def _ancestors(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    paths = {r["id"]: [int(p) for p in r["ancestry"].strip("/").split("/") if p] for r in rows}
    for r in rows:
        maps["stories"][str(r["id"])]["ancestor_ids"] = [str(a) for a in paths[r["id"]]]
    return _by_ids(store, {a for path in paths.values() for a in path})


def _sub_stories(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause(r["id"] for r in rows)
    subs = store.all(
        f"SELECT * FROM stories WHERE parent_id IN {clause} AND deleted_at IS NULL "
        "ORDER BY position, id",
        args,
    )
    _attach(maps["stories"], rows, "sub_story_ids", ((s["parent_id"], s["id"]) for s in subs))
    return subs


def _descendants(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    roots = {r["root_id"] or r["id"] for r in rows}
    clause, args = in_clause(roots)
    tree = store.all(
        f"SELECT * FROM stories WHERE root_id IN {clause} AND deleted_at IS NULL "
        "ORDER BY ancestry_depth, position, id",
        args,
    )
    pairs = []
    for d in tree:
        for anc in d["ancestry"].strip("/").split("/"):
            if anc:
                pairs.append((int(anc), d["id"]))
    _attach(maps["stories"], rows, "descendant_ids", pairs)
    return tree


def _story_tasks(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause(r["id"] for r in rows)
    items = store.all(
        f"SELECT * FROM story_tasks WHERE story_id IN {clause} ORDER BY position, id", args
    )
    maps["story_tasks"].update((str(i["id"]), story_task(i)) for i in items)
    _attach(maps["stories"], rows, "story_task_ids", ((i["story_id"], i["id"]) for i in items))
    return []


def _tags(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause(r["id"] for r in rows)
    links = store.all(
        f"SELECT st.story_id, t.id, t.name FROM story_tags st JOIN tags t ON t.id = st.tag_id "
        f"WHERE st.story_id IN {clause} ORDER BY t.name, t.id",
        args,
    )
    maps["tags"].update((str(t["id"]), tag(t)) for t in links)
    _attach(maps["stories"], rows, "tag_ids", ((t["story_id"], t["id"]) for t in links))
    return []


def _external_references(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause(r["id"] for r in rows)
    refs = store.all(
        f"SELECT * FROM external_references WHERE subject_type = 'Story' "
        f"AND subject_id IN {clause} ORDER BY id",
        args,
    )
    maps["external_references"].update((str(e["id"]), external_reference(e)) for e in refs)
    pairs = ((e["subject_id"], e["id"]) for e in refs)
    _attach(maps["stories"], rows, "external_reference_ids", pairs)
    return []


def _workspace_include(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause({r["workspace_id"] for r in rows})
    found = store.all(f"SELECT * FROM workspaces WHERE id IN {clause}", args)
    maps["workspaces"].update(workspaces(store, found))
    return []


def _attach(
    objs: dict[str, Obj], rows: Sequence[Row], field: str, pairs: Iterable[tuple[int, int]]
) -> None:
    """Set `field` (a list of string ids) on each primary object from (owner, id) pairs."""
    lists: dict[int, list[str]] = {r["id"]: [] for r in rows}
    for owner, child in pairs:
        if owner in lists:
            lists[owner].append(str(child))
    for owner, ids in lists.items():
        objs[str(owner)][field] = ids


_LOADERS = {
    "parent": _parent,
    "root": _root,
    "ancestors": _ancestors,
    "sub_stories": _sub_stories,
    "descendants": _descendants,
    "story_tasks": _story_tasks,
    "tags": _tags,
    "external_references": _external_references,
    "workspace": _workspace_include,
    "creator": _creator,
    "assignees": _assignees,
    "story_state_changes": _story_state_changes,
}
