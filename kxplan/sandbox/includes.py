"""Story maps with their includes: the primary `stories` map plus every side-loaded map
(docs/kantata-api.md, Brainstem). Object shapes are `present.py`'s.

Each include has a loader: it fills its own map and the `*_ids` of the primary objects,
and returns the story rows it side-loads into the `stories` map (first write wins, so a
primary object is never overwritten).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from kxplan.sandbox.present import (
    SUB_STORY_SUMS,
    Maps,
    Obj,
    external_reference,
    sandbox_user,
    state_change,
    story,
    story_task,
    tag,
    workspaces,
)
from kxplan.sandbox.sql import in_clause
from kxplan.sandbox.store import SANDBOX_USER_ID, Row, Store

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

Loader = Callable[[Store, Sequence[Row], Maps], list[Row]]


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
    side = [row for name in wanted for row in _LOADERS[name](store, rows, maps)]
    _merge_side_stories(store, maps["stories"], side, optional)
    return maps


def _merge_side_stories(
    store: Store, objs: dict[str, Obj], side: list[Row], optional: tuple[str, ...]
) -> None:
    """Add side-loaded stories to the `stories` map; a primary object is never replaced."""
    side_sums = _sub_story_sums(store, [r for r in side if str(r["id"]) not in objs])
    for row in side:
        if str(row["id"]) not in objs:
            objs[str(row["id"])] = story(row, optional, side_sums.get(row["id"]))


def stories_by_ids(store: Store, ids: set[int]) -> list[Row]:
    """The story rows with these ids (deleted or not), in no particular order."""
    if not ids:
        return []
    clause, args = in_clause(ids)
    return store.all(f"SELECT * FROM stories WHERE id IN {clause}", args)


def _ancestor_ids(row: Row) -> list[int]:
    return [int(a) for a in row["ancestry"].strip("/").split("/") if a]


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
        for anc in _ancestor_ids(d):
            if anc in sums:
                totals = sums[anc]
                for column in SUB_STORY_SUMS:
                    totals[column] = totals.get(column, 0) + (d[column] or 0)
    return sums


def _of_stories(store: Store, rows: Sequence[Row], sql: str) -> list[Row]:
    """The rows of `sql` (with `{ids}` for the IN list) for the primary stories' ids."""
    clause, args = in_clause(r["id"] for r in rows)
    return store.all(sql.format(ids=clause), args)


def _creator(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    from kxplan.sandbox.resources.people import users_by_id

    maps["users"].update(users_by_id(store, (r["creator_id"] for r in rows)))
    return []


def _assignees(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    links = _of_stories(
        store,
        rows,
        "SELECT story_id, user_id FROM story_assignees WHERE story_id IN {ids} ORDER BY user_id",
    )
    if links:
        maps["users"][str(SANDBOX_USER_ID)] = sandbox_user()
    _attach(maps["stories"], rows, "assignee_ids", ((a["story_id"], a["user_id"]) for a in links))
    return []


def _children(key: str, field: str, owner: str, present: Callable[[Row], Obj], sql: str) -> Loader:
    """A loader for objects that belong to a story: the rows of `sql` (`{ids}`: the primary
    stories' ids) go into map `key`, and their ids into each story's `field` by `owner`."""

    def load(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
        children = _of_stories(store, rows, sql)
        maps[key].update((str(c["id"]), present(c)) for c in children)
        _attach(maps["stories"], rows, field, ((c[owner], c["id"]) for c in children))
        return []

    return load


def _parent(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    return stories_by_ids(store, {r["parent_id"] for r in rows if r["parent_id"] is not None})


def _root(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    return stories_by_ids(store, {r["root_id"] for r in rows if r["root_id"] is not None})


def _ancestors(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    paths = {r["id"]: _ancestor_ids(r) for r in rows}
    for r in rows:
        maps["stories"][str(r["id"])]["ancestor_ids"] = [str(a) for a in paths[r["id"]]]
    return stories_by_ids(store, {a for path in paths.values() for a in path})


def _sub_stories(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    subs = _of_stories(
        store,
        rows,
        "SELECT * FROM stories WHERE parent_id IN {ids} AND deleted_at IS NULL "
        "ORDER BY position, id",
    )
    _attach(maps["stories"], rows, "sub_story_ids", ((s["parent_id"], s["id"]) for s in subs))
    return subs


def _descendants(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
    clause, args = in_clause({r["root_id"] or r["id"] for r in rows})
    tree = store.all(
        f"SELECT * FROM stories WHERE root_id IN {clause} AND deleted_at IS NULL "
        "ORDER BY ancestry_depth, position, id",
        args,
    )
    pairs = [(anc, d["id"]) for d in tree for anc in _ancestor_ids(d)]
    _attach(maps["stories"], rows, "descendant_ids", pairs)
    return tree


def _workspace(store: Store, rows: Sequence[Row], maps: Maps) -> list[Row]:
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


_LOADERS: dict[str, Loader] = {
    "parent": _parent,
    "root": _root,
    "ancestors": _ancestors,
    "sub_stories": _sub_stories,
    "descendants": _descendants,
    "story_tasks": _children(
        "story_tasks",
        "story_task_ids",
        "story_id",
        story_task,
        "SELECT * FROM story_tasks WHERE story_id IN {ids} ORDER BY position, id",
    ),
    "tags": _children(
        "tags",
        "tag_ids",
        "story_id",
        tag,
        "SELECT st.story_id, t.id, t.name FROM story_tags st JOIN tags t ON t.id = st.tag_id "
        "WHERE st.story_id IN {ids} ORDER BY t.name, t.id",
    ),
    "external_references": _children(
        "external_references",
        "external_reference_ids",
        "subject_id",
        external_reference,
        "SELECT * FROM external_references WHERE subject_type = 'Story' "
        "AND subject_id IN {ids} ORDER BY id",
    ),
    "workspace": _workspace,
    "creator": _creator,
    "assignees": _assignees,
    "story_state_changes": _children(
        "story_state_changes",
        "story_state_change_ids",
        "story_id",
        state_change,
        "SELECT * FROM story_state_changes WHERE story_id IN {ids} ORDER BY created_at, id",
    ),
}
