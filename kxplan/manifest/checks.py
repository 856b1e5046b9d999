"""Semantic checks: what JSON Schema cannot say. Each check returns every problem it finds,
at the node that causes it, so one run reports everything.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kxplan.errors import Problem
from kxplan.jsontypes import JsonValue
from kxplan.manifest.build import Built, BuiltTask
from kxplan.manifest.keys import KEY_MAX
from kxplan.manifest.vars import parse_date
from kxplan.manifest.yaml_loader import Document, YamlPath, at
from kxplan.model import CATEGORIES, MAX_DEPTH, Location, SourceLocation

Check = Callable[[Built], Iterator[Problem]]


def check_manifest(built: Built) -> list[Problem]:
    """Every semantic problem of a built manifest."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(built))
    return problems


def check_keys(built: Built) -> Iterator[Problem]:
    """Keys are unique; derived keys fit KEY_MAX."""
    doc = built.doc
    # The first task of each key; its key's place is looked up only for a duplicate (a
    # valid manifest has none, and a look-up for each of 10,000 tasks is a tenth of the
    # checks).
    first: dict[str, BuiltTask] = {}
    both: set[str] = set()
    for bt in built.tasks:
        key = bt.task.key
        if not bt.explicit_key and len(key) > KEY_MAX:
            yield at(
                _key_loc(doc, bt),
                f"the derived key is {len(key)} characters long; at most {KEY_MAX} are allowed",
                "give this task (or its parent) a shorter `key:`",
            )
        if key in first:
            loc, first_loc = _key_loc(doc, bt), _key_loc(doc, first[key])
            hint = None if bt.explicit_key else "the key is derived from the title path; set `key:`"
            yield at(
                loc, f"duplicate task key '{key}' (also used by the task at {first_loc})", hint
            )
            # An include or a for_each copy: the first place is as likely the one to change.
            composed = isinstance(loc, SourceLocation) or isinstance(first_loc, SourceLocation)
            if composed and key not in both:
                both.add(key)
                yield at(first_loc, f"duplicate task key '{key}' (also used by the task at {loc})")
        else:
            first[key] = bt


def check_task_renames(built: Built) -> Iterator[Problem]:
    """A task's `renamed_from` keys are not current keys nor claimed twice."""
    renaming = [bt for bt in built.tasks if bt.task.renamed_from]
    if not renaming:  # most manifests: no key locations to look up
        return
    current = {bt.task.key: _key_loc(built.doc, bt) for bt in built.tasks}
    claimed: dict[str, Location] = {}
    for bt in renaming:
        path = (*bt.path, "renamed_from")
        yield from _renames(built.doc, path, bt.task.renamed_from, current, claimed, "task key")


def check_depth(built: Built) -> Iterator[Problem]:
    """No task deeper than MAX_DEPTH levels below a top-level task."""
    for bt in built.tasks:
        if bt.task.depth == MAX_DEPTH + 1:
            yield built.doc.problem(
                bt.path,
                f"task '{bt.task.key}' is {bt.task.depth} levels below a top-level task; "
                f"Kantata allows at most {MAX_DEPTH}",
                "move it and its children up a level",
            )


def check_dates(built: Built) -> Iterator[Problem]:
    """Dates are real calendar dates and a due date is not before its start date."""
    for bt in built.tasks:
        start, due = bt.task.start_date, bt.task.due_date
        if not start and not due:  # nothing to check (and no generator to run)
            continue
        bad = list(_bad_dates(built.doc, bt))
        yield from bad
        # Only real dates compare: a failed ${...} is reported by itself.
        if start and due and not bad and parse_date(start) and parse_date(due) and due < start:
            yield built.doc.problem(
                (*bt.path, "due_date"),
                f"due_date {due} is before start_date {start}",
                "move the due date later or the start date earlier",
            )


def check_workspace(built: Built) -> Iterator[Problem]:
    """The mapping form of `workspace:` names one workspace in one way."""
    yield from workspace_problems(built.doc, ("workspace",))


def workspace_problems(doc: Document, path: YamlPath) -> Iterator[Problem]:
    """Problems of the `workspace:` mapping at `path` (nothing for a title or an id)."""
    raw = _get(doc.data, path)
    if not isinstance(raw, dict):
        return
    if raw.get("create") is True and "id" in raw:
        yield doc.problem(
            (*path, "create"),
            "create: true with an id: kxplan creates a workspace by its title, "
            "and an id names one that already exists",
            "remove id: and give title:, or remove create:",
        )
    if "title" in raw and "id" in raw:
        yield doc.problem(
            (*path, "id"),
            "the workspace has both a title and an id",
            "give one: id: to name an existing workspace, or title: (exact)",
        )
    elif "title" not in raw and "id" not in raw:
        yield at(
            doc.key_loc(path),
            "the workspace mapping needs a title or an id",
            "add title: (the exact workspace title) or id: (its number)",
        )
    start, due = raw.get("start_date"), raw.get("due_date")
    bad = False
    for name, value in (("start_date", start), ("due_date", due)):
        if isinstance(value, str) and _looks_like_date(value) and parse_date(value) is None:
            bad = True
            yield doc.problem((*path, name), f"{name} '{value}' is not a calendar date")
    start_day = parse_date(start) if isinstance(start, str) and not bad else None
    due_day = parse_date(due) if isinstance(due, str) and not bad else None
    if start_day and due_day and due_day < start_day:
        yield doc.problem(
            (*path, "due_date"),
            f"the workspace's due_date {due} is before its start_date {start}",
            "move the due date later or the start date earlier",
        )


def _bad_dates(doc: Document, bt: BuiltTask) -> Iterator[Problem]:
    # Only values shaped like a date: anything else is the schema's to report.
    for name in ("start_date", "due_date"):
        value = getattr(bt.task, name)
        if value and _looks_like_date(value) and parse_date(value) is None:
            yield doc.problem((*bt.path, name), f"{name} '{value}' is not a calendar date")


def _looks_like_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-"


def check_task_statuses(built: Built) -> Iterator[Problem]:
    """A task's status is a status of the set, or a category when there is no set."""
    sset = built.manifest.status_set
    names = [s.name for s in sset.statuses] if sset else list(CATEGORIES)
    for bt in built.tasks:
        status = bt.task.status
        if status is None or status in names:
            continue
        close = difflib.get_close_matches(status, names, n=1)
        if sset:
            message = f"status '{status}' is not in status set '{sset.name}'"
        else:
            message = f"status '{status}' is not a status category"
        hint = f"did you mean '{close[0]}'?" if close else "use one of: " + ", ".join(names)
        if not sset and not close:
            hint += "; or declare a status_set"
        yield built.doc.problem((*bt.path, "status"), message, hint)


def check_status_set(built: Built) -> Iterator[Problem]:
    """Status names are unique in the set (ignoring case); renames do not collide."""
    sset = built.manifest.status_set
    if sset is None:
        return
    doc = built.doc
    raw = _get(doc.data, ("status_set", "statuses"))
    entries = [
        (("status_set", "statuses", i), name)
        for i, s in enumerate(raw if isinstance(raw, list) else ())
        if isinstance(s, dict) and isinstance(name := s.get("name"), str)
    ]
    current: dict[str, Location] = {}
    spelled: dict[str, str] = {}
    for path, name in entries:
        folded = name.casefold()
        if folded in current:
            message = f"status '{name}' appears twice in the set (also at {current[folded]})"
            hint = "status names are unique in a set"
            if spelled[folded] != name:
                message += f": it differs from '{spelled[folded]}' only in case"
                hint = "Kantata may match status names ignoring case; give them distinct names"
            yield doc.problem((*path, "name"), message, hint)
        else:
            current[folded] = doc.loc((*path, "name"))
            spelled[folded] = name
    by_name = {s.name: current[s.name.casefold()] for s in sset.statuses}
    claimed: dict[str, Location] = {}
    for (path, _), desired in zip(entries, sset.statuses, strict=True):
        renames_path = (*path, "renamed_from")
        yield from _renames(doc, renames_path, desired.renamed_from, by_name, claimed, "status")


def check_checklists(built: Built) -> Iterator[Problem]:
    """Checklist names are unique within a task; renames do not collide."""
    for bt in built.tasks:
        checklist = bt.task.checklist
        if len(checklist) < 2 and not (checklist and checklist[0].renamed_from):
            continue  # no item to repeat, no rename to check (most tasks)
        current: dict[str, Location] = {}
        for item in checklist:
            if item.name in current:
                message = (
                    f"checklist item '{item.name}' appears twice (also at {current[item.name]})"
                )
                yield at(item.loc, message, "checklist items are identified by their name")
            else:
                current[item.name] = item.loc
        if not any(item.renamed_from for item in bt.task.checklist):
            continue  # no renames to check (most tasks)
        claimed: dict[str, Location] = {}
        raw = _get(built.doc.data, (*bt.path, "checklist"))
        for i, item in zip(_named_indexes(raw), bt.task.checklist, strict=True):
            path = (*bt.path, "checklist", i, "renamed_from")
            names = item.renamed_from
            yield from _renames(built.doc, path, names, current, claimed, "checklist item")


def _named_indexes(raw: JsonValue) -> list[int]:
    """Indexes of the checklist entries the builder kept (a name, or a mapping with one)."""
    return [
        i
        for i, r in enumerate(raw if isinstance(raw, list) else ())
        if isinstance(r, str) or (isinstance(r, dict) and isinstance(r.get("name"), str))
    ]


def check_tags(built: Built) -> Iterator[Problem]:
    """A task lists each tag once (Kantata tags ignore case)."""
    for bt in built.tasks:
        seen: dict[str, str] = {}
        if len(bt.task.tags) < 2:  # the tags written as text: one cannot be listed twice
            continue
        raw = _get(built.doc.data, (*bt.path, "tags"))
        for i, tag in enumerate(raw if isinstance(raw, list) else ()):
            if not isinstance(tag, str):
                continue
            if tag.casefold() in seen:
                yield built.doc.problem(
                    (*bt.path, "tags", i),
                    f"tag '{tag}' is listed twice (as '{seen[tag.casefold()]}')",
                    "tags are not case-sensitive in Kantata; remove one",
                )
            seen.setdefault(tag.casefold(), tag)


def check_posts(built: Built) -> Iterator[Problem]:
    """Post keys are unique; a post's `task:` names a task of the manifest."""
    keys = {bt.task.key for bt in built.tasks}
    first: dict[str, Location] = {}
    raw = _get(built.doc.data, ("posts",))
    entries = [
        (i, r) for i, r in enumerate(raw if isinstance(raw, list) else ()) if isinstance(r, dict)
    ]
    for i, entry in entries:
        key = entry.get("key")
        if isinstance(key, str):
            loc = built.doc.loc(("posts", i, "key"))
            if key in first:
                yield at(loc, f"duplicate post key '{key}' (also used by the post at {first[key]})")
            else:
                first[key] = loc
        task = entry.get("task")
        if isinstance(task, str) and task not in keys:
            close = difflib.get_close_matches(task, sorted(keys), n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "give the key of a task listed in tasks:"
            )
            yield built.doc.problem(
                ("posts", i, "task"), f"post task '{task}' is not a task of this manifest", hint
            )


def _renames(
    doc: Document,
    path: YamlPath,
    old_names: Iterable[str],
    current: dict[str, Location],
    claimed: dict[str, Location],
    what: str,
) -> Iterator[Problem]:
    """`renamed_from` entries that name a current object, or one `claimed` already.

    `claimed` collects the old names seen so far in this scope (the caller owns it).
    """
    for i, old in enumerate(old_names):
        loc = doc.loc((*path, i))
        if old in current:
            message = f"renamed_from '{old}' is the {what} of a current entry (at {current[old]})"
            yield at(loc, message, "an old name cannot also be a current one; remove it")
        elif old in claimed:
            message = f"renamed_from '{old}' is also claimed at {claimed[old]}"
            yield at(loc, message, "only one entry can take over an old name")
        else:
            claimed[old] = loc


def _key_loc(doc: Document, bt: BuiltTask) -> Location:
    return doc.loc((*bt.path, "key")) if bt.explicit_key else doc.loc(bt.path)


def _get(data: JsonValue, path: YamlPath) -> JsonValue:
    """The value at `path` in `data`, or None when the path does not lead to one."""
    # Any: each step indexes blindly and a wrong one raises; narrowing every step with
    # isinstance makes this 2x slower, and it runs twice per task of a 10,000-task plan.
    node: Any = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    found: JsonValue = node
    return found


CHECKS: tuple[Check, ...] = (
    check_workspace,
    check_keys,
    check_task_renames,
    check_depth,
    check_dates,
    check_task_statuses,
    check_status_set,
    check_checklists,
    check_tags,
    check_posts,
)
