"""Translate plan values into Kantata request bodies (the one place that knows API field names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kxplan.model import PROTECTED, SERVICE_NAME, UNPROTECTED
from kxplan.planner.memory import encode, remember

#: Plan task field -> story attribute, for fields written as they are.
_STORY_FIELDS: dict[str, str] = {
    "title": "title",
    "type": "story_type",
    "description": "description",
    "start_date": "start_date",
    "due_date": "due_date",
    "priority": "priority",
    "status": "status",
    "percentage_complete": "percentage_complete",
    "archived": "archived",
}


def marker(
    stack: str, key: str, protect: bool | None = None, memory: str | None = None
) -> dict[str, str]:
    """The external reference that makes a story this stack's task `key`.

    `memory` (kxplan.planner.memory) goes in `external_message`, the reference's free-text
    "optional message about the external object"; None leaves it as it is.

    `protect` True/False writes the flag into `external_status` ("protected"/"managed"),
    the reference's free-text "status of the external object": Kantata keeps it, returns
    it with `include=external_references` and filters on it. None leaves the flag as it is
    (Kantata updates a story's reference in place, field by field).
    """
    ref = {"service_name": SERVICE_NAME, "service_model": stack, "service_model_ref": key}
    if protect is not None:
        ref["external_status"] = PROTECTED if protect else UNPROTECTED
    if memory is not None:
        ref["external_message"] = memory
    return ref


def merge_reference(body: dict[str, Any], ref: dict[str, str]) -> None:
    """Add `ref` to a story body's `external_reference`, field by field (one PUT may carry
    a key rewrite, the protect flag and the memory)."""
    body["external_reference"] = {**body.get("external_reference", {}), **ref}


def created_memory(after: Mapping[str, Any]) -> str:
    """The memory a create writes: the fields it sends and the checklist items it makes."""
    return encode(remember(after, checklist_names(after)))


def tag_list(tags: Any) -> str:
    """Kantata takes tags as one comma-separated string that replaces the whole set."""
    return ",".join(str(t) for t in (tags or ()))


def story_attributes(
    values: Mapping[str, Any], fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Story attributes for the plan fields in `values` (all of them, or only `fields`).

    `parent`, `checklist` and bookkeeping keys are not story attributes: parents travel as
    `parent_id` and checklist items have their own calls after a create. `protect` on an
    update rewrites the marker named by `values["marker"]` ({"stack", "key"}) with the flag.
    """
    names = fields if fields is not None else tuple(values)
    body: dict[str, Any] = {}
    for name in names:
        if name not in values:
            continue
        if name == "tags":
            body["tag_list"] = tag_list(values[name])
        elif name in _STORY_FIELDS:
            body[_STORY_FIELDS[name]] = values[name]
        elif name == "protect" and isinstance(values.get("marker"), Mapping):
            owner = values["marker"]
            body["external_reference"] = marker(
                str(owner["stack"]), str(owner["key"]), bool(values[name])
            )
    return body


def unwritable(values: Mapping[str, Any], fields: tuple[str, ...] | None) -> list[str]:
    """The `fields` of an update that `story_attributes` would not write (no value, or no
    story attribute for it): sending the rest and calling it applied would hide them.
    `key` is written by the caller (the marker)."""
    out = []
    for name in fields or ():
        if name == "key":
            continue
        if name == "protect":
            ok = name in values and isinstance(values.get("marker"), Mapping)
        else:
            ok = name in values and (name == "tags" or name in _STORY_FIELDS)
        if not ok:
            out.append(name)
    return out


def create_item(
    stack: str, key: str, after: Mapping[str, Any], workspace_id: str, parent_id: str | None
) -> dict[str, Any]:
    """One element of a bulk `POST /stories`: marker, checklist and tags ride in the same call."""
    item = story_attributes(after)
    item["workspace_id"] = int(workspace_id)
    item.setdefault("title", key)
    if parent_id is not None:
        item["parent_id"] = int(parent_id)
    checklist = checklist_names(after)
    if checklist:
        item["checklist"] = checklist
    item["external_reference"] = marker(
        stack, key, True if after.get("protect") else None, created_memory(after)
    )
    # A project task, whatever Kantata's default (a To Do is not in the project plan).
    item["project_plan"] = True
    return item


def checklist_names(after: Mapping[str, Any]) -> list[str]:
    """Names of the checklist items a create carries, in order."""
    return [_item_name(i) for i in after.get("checklist") or ()]


def completed_names(after: Mapping[str, Any]) -> tuple[str, ...]:
    """Checklist items created as completed: the create makes them open, one PUT each fixes it."""
    return tuple(
        _item_name(i)
        for i in after.get("checklist") or ()
        if isinstance(i, Mapping) and i.get("completed")
    )


def _item_name(item: Any) -> str:
    return str(item["name"]) if isinstance(item, Mapping) else str(item)
