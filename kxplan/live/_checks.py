"""Consistency checks of a listing: ids that point at nothing.

`KantataClient.get_all` runs these on every listing (see docs/client.md, "Consistency
checks"): a listing that fails one is read once more, then the read stops the run, because
planning from it would create copies of tasks that exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kxplan.client import Check, KantataClient, Records
from kxplan.ids import id_order, result_ids
from kxplan.live._params import ARCHIVED_TOO, BATCH

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
        if _all_served(records):
            return []  # what `story_problems` would find, without a look-up to make
        dangling = sorted(_dangling_parents(records), key=id_order)[:BATCH]
        gone: set[str] = set()
        if dangling:
            params = {"only": ",".join(dangling), "only_deleted": True, **ARCHIVED_TOO}
            gone = set(result_ids(client.get("/stories", params)))
        return story_problems(records, deleted=gone)

    return check


def _all_served(records: Records) -> bool:
    """Whether every `parent_id` and every id in `_ID_LISTS` of the listing is a string its
    typed map holds: then neither `_dangling_parents` nor `story_problems` finds anything.

    One tight walk, no messages built, no str() made (a large workspace has 10,000 stories).
    False means only "look closer": an id that is no string (its str() may be served), or
    one that is missing."""
    included = records.included
    stories = included.get("stories", {})
    lists = [(field, included.get(key, {})) for field, key in _ID_LISTS]
    for story in records:
        get = story.get
        parent = get("parent_id")
        if (
            parent is not None
            and parent != ""
            and (type(parent) is not str or parent not in stories)
        ):
            return False
        for field, served in lists:
            ids = get(field)
            if isinstance(ids, list):  # (a field that is no list is no problem, see `_missing`)
                for i in ids:
                    if type(i) is not str or i not in served:
                        return False
    return True


def _dangling_parents(records: Records) -> set[str]:
    stories = records.included.get("stories", {})
    parents = {str(s.get("parent_id")) for s in records if s.get("parent_id") not in (None, "")}
    return {p for p in parents if p not in stories}


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
            missing = _missing(story.get(field), records.included.get(key, {}))
            if missing:
                problems.append(f"story {sid} lists {field} {', '.join(missing[:3])} not served")
    return problems


def status_set_problems(records: Records) -> list[str]:
    """Status ids a set lists that the `custom_task_statuses` include did not serve."""
    served = records.included.get("custom_task_statuses", {})
    problems = []
    for obj in records:
        missing = _missing(obj.get("custom_task_status_ids"), served)
        if missing:
            problems.append(
                f"status set {obj.get('id')} lists statuses {', '.join(missing[:3])} not served"
            )
    return problems


def _missing(ids: object, served: Mapping[str, Any]) -> list[str]:
    """The ids of a list field that the typed map does not hold ([] when it is no list).

    Looks each id up in the map itself: copying the map per story made a listing's check
    quadratic in its size."""
    return [str(i) for i in ids if str(i) not in served] if isinstance(ids, list) else []
