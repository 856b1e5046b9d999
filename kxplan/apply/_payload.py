"""Every request body kxplan sends to change Kantata: the one place that knows the API's
field names and envelopes (docs/kantata-api.md). Callers say what to write; the functions
here say how Kantata spells it.

Sections: stories (tasks), story tasks (checklist items), status sets and statuses,
workspaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kxplan.changes.workspace import WORKSPACE_FIELDS
from kxplan.model import PROTECTED, SERVICE_NAME, UNPROTECTED, WORKSPACE_MARKER_REF
from kxplan.planner.memory import encode, remember
from kxplan.planner.workspace import workspace_memory_text

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


def stories_create(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A bulk `POST /stories` of `items` (each from `create_item`)."""
    return {"stories": items}


def story_update(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A `PUT /stories/{id}` writing these story attributes."""
    return {"story": dict(attributes)}


def story_lift() -> dict[str, Any]:
    """A `PUT /stories/{id}` that moves a story to the top level of its workspace."""
    return story_update({"parent_id": None})


def story_marker(ref: dict[str, str]) -> dict[str, Any]:
    """A `PUT /stories/{id}` that writes only the story's marker (see `marker`)."""
    return story_update({"external_reference": ref})


def story_status(name: str) -> dict[str, Any]:
    """A `PUT /stories/{id}` that puts the story on the status `name`."""
    return story_update({"status": name})


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


# --------------------------------------------------------------------------- checklist items

#: What a checklist item update may write (story task attributes of the same names).
ITEM_FIELDS = ("name", "position", "completed")


def item_create(story_id: str, name: str, completed: bool, position: int | None) -> dict[str, Any]:
    """A `POST /story_tasks`: the item `name` on the story `story_id` (at `position`)."""
    body: dict[str, Any] = {"story_id": int(story_id), "name": name, "completed": completed}
    if position is not None:
        body["position"] = position
    return {"story_task": body}


def item_update(values: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any] | None:
    """A `PUT /story_tasks/{id}` writing `fields` from `values`; None when none of them is an
    item attribute kxplan can write (ITEM_FIELDS)."""
    body = {f: values.get(f) for f in fields if f in ITEM_FIELDS and f in values}
    return {"story_task": body} if body else None


def item_completed() -> dict[str, Any]:
    """A `PUT /story_tasks/{id}` that marks the item completed."""
    return {"story_task": {"completed": True}}


# --------------------------------------------------------------------------- statuses


def status_set_create(name: str) -> dict[str, Any]:
    """A `POST /task_status_sets` of a set named `name`."""
    return {"task_status_set": {"name": name}}


def status_create(name: str, category: str, set_id: str) -> dict[str, Any]:
    """A `POST /custom_task_statuses`: the status `name` of `category` in the set `set_id`."""
    body = {"status": name, "category": category, "status_set_id": int(set_id)}
    return {"custom_task_status": body}


def status_rename(name: str) -> dict[str, Any]:
    """A `PUT /custom_task_statuses/{id}` that renames the status."""
    return {"custom_task_status": {"status": name}}


def status_position(position: int) -> dict[str, Any]:
    """A `PUT /custom_task_statuses/{id}` that moves the status to `position` in its set."""
    return {"custom_task_status": {"position": position}}


def set_assignment(workspace_id: str, set_id: str) -> dict[str, Any]:
    """A `PUT /workspace_task_status_sets/bulk_update`: the workspace uses the set `set_id`."""
    entry = {"workspace_id": int(workspace_id), "status_set_id": int(set_id)}
    return {"workspace_task_status_sets": [entry]}


# --------------------------------------------------------------------------- workspaces


def workspace_marker(stack: str, memory: str | None = None) -> dict[str, str]:
    """The stack's marker on a workspace it creates or manages; `memory` (kxplan's memory of
    the fields it wrote, kxplan.planner.workspace) goes in `external_message`."""
    ref = {
        "service_name": SERVICE_NAME,
        "service_model": stack,
        "service_model_ref": WORKSPACE_MARKER_REF,
    }
    if memory is not None:
        ref["external_message"] = memory
    return ref


def created_workspace_memory(values: Mapping[str, Any]) -> str:
    """The memory a workspace create writes: the title it is created with (its identity:
    kxplan.planner.workspace.remembered) and the fields the mapping manages that it sends."""
    return workspace_memory_text(values)


def workspace_create(values: Mapping[str, Any], role: str, stack: str) -> dict[str, Any]:
    """A `POST /workspaces`: the planned workspace (`values`: title and the fields the
    mapping sets), its creator's team `role`, and the stack's marker (with the memory) in
    the same call."""
    body = {k: v for k, v in values.items() if v is not None}
    ref = workspace_marker(stack, created_workspace_memory(values))
    return {"workspace": {**body, "creator_role": role, "external_reference": ref}}


def workspace_update(
    values: Mapping[str, Any], fields: Sequence[str], stack: str
) -> dict[str, Any]:
    """A `PUT /workspaces/{id}`: the `fields` the mapping manages, with the marker and the
    memory the plan computed (`values["memory"]`, when it has one)."""
    body: dict[str, Any] = {n: values.get(n) for n in fields if n in WORKSPACE_FIELDS}
    memory = values.get("memory")
    ref = workspace_marker(stack, str(memory) if memory is not None else None)
    return {"workspace": {**body, "external_reference": ref}}


def workspace_reference(workspace_id: str, stack: str, memory: str | None = None) -> dict[str, Any]:
    """A `POST /external_references/create_or_update`: the marker on an existing workspace."""
    body: dict[str, Any] = {"subject_type": "Workspace", "subject_id": int(workspace_id)}
    return {"external_reference": {**body, **workspace_marker(stack, memory)}}
