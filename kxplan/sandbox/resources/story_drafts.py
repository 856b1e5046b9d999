"""Validating a story write: every attribute checked into a `Draft`, before any row is written.

A bulk create drafts every object first and writes only when none has a problem, so it is
all-or-nothing with each problem's `index` (docs/kantata-api.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kxplan.sandbox.constants import MAX_DEPTH, MAX_DESCRIPTION, MAX_TITLE, PRIORITIES, STORY_TYPES
from kxplan.sandbox.context import Ctx, as_bool, as_date, as_id
from kxplan.sandbox.errors import Problem, SandboxError, invalid
from kxplan.sandbox.resources.references import check_reference
from kxplan.sandbox.resources.statuses import set_statuses
from kxplan.sandbox.resources.story_progress import Writing, apply_progress, numeric
from kxplan.sandbox.store import SANDBOX_USER_ID, Row

# Story fields that are plain flags or non-negative counts (documented on create and update).
FLAG_FIELDS = ("billable", "fixed_fee", "time_trackable")
COUNT_FIELDS = ("budget_estimate_in_cents", "time_estimate_in_minutes", "weight")
KEPT_COLUMNS = (
    *("workspace_id", "title", "description", "story_type", "priority", "state", "status"),
    *("custom_task_status_id", "percentage_complete", "archived", "start_date", "due_date"),
    *("parent_id", "project_plan", *FLAG_FIELDS, *COUNT_FIELDS),
)
# A new story's columns before its attributes apply (`project_plan`: variant
# `project_plan_default`).
NEW_STORY: dict[str, Any] = {
    "story_type": "task",
    "priority": "normal",
    "state": "not started",
    "percentage_complete": 0,
    "archived": 0,
    "description": None,
    "start_date": None,
    "due_date": None,
    "parent_id": None,
    "billable": 1,
    "fixed_fee": 0,
    "time_trackable": 1,
    "weight": None,
    "budget_estimate_in_cents": None,
    "time_estimate_in_minutes": None,
}


@dataclass(slots=True)
class Draft:
    """One validated story write: columns plus the side tables it touches."""

    row: dict[str, Any]
    checklist: list[str] | None = None
    tags: list[str] | None = None
    assignees: list[int] | None = None
    reference: dict[str, Any] | None = None
    parent: Row | None = None
    problems: list[Problem] = field(default_factory=list)


class StoryDrafts:
    """Turns the attributes of a create or update into a `Draft` (reads only)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def for_create(self, item: Any, index: int | None) -> Draft:
        """The draft of one story to create (`index`: its place in a bulk create)."""
        draft = Draft(row={})
        if not isinstance(item, dict):
            draft.problems.append(Problem("base", "Each story must be an object", index))
            return draft
        workspace = self._workspace_for(item, index, draft)
        if not isinstance(item.get("title"), str) or not item["title"].strip():
            draft.problems.append(Problem("title", "Title can't be blank", index))
        if workspace is None:
            return draft
        plan = int(self.ctx.variants.project_plan_default == "task")
        row = {"workspace_id": workspace["id"], **NEW_STORY, "project_plan": plan}
        self._apply(draft, row, self._writing(item, workspace, index, creating=True))
        return draft

    def for_update(self, current: Row, attrs: dict[str, Any]) -> Draft:
        """The draft of an update of the (not deleted) story `current`."""
        draft = Draft(row={})
        workspace = self.ctx.store.by_id("workspaces", current["workspace_id"])
        assert workspace is not None
        if "title" in attrs and (not isinstance(attrs["title"], str) or not attrs["title"].strip()):
            draft.problems.append(Problem("title", "Title cannot be made blank"))
        self._apply(draft, dict(current), self._writing(attrs, workspace, None, creating=False))
        return draft

    def _writing(
        self, attrs: dict[str, Any], workspace: Row, index: int | None, *, creating: bool
    ) -> Writing:
        statuses = set_statuses(self.ctx, workspace["status_set_id"])
        return Writing(attrs, workspace, statuses, index, creating, self.ctx.variants)

    def _workspace_for(self, item: dict[str, Any], index: int | None, draft: Draft) -> Row | None:
        if item.get("workspace_id") in (None, ""):
            draft.problems.append(Problem("workspace_id", "Workspace can't be blank", index))
            return None
        try:
            ws_id = as_id(item["workspace_id"], "workspace_id", index)
        except SandboxError as err:
            draft.problems.extend(err.problems)
            return None
        workspace = self.ctx.store.by_id("workspaces", ws_id)
        if workspace is None:
            draft.problems.append(Problem("workspace_id", f"Workspace {ws_id} not found", index))
        return workspace

    def _apply(self, draft: Draft, row: dict[str, Any], w: Writing) -> None:
        try:
            _text_fields(row, w.attrs, w.index)
            _choice_fields(row, w.attrs, w.index)
            if "parent_id" in w.attrs:
                draft.parent = self._check_parent(row, w.attrs["parent_id"], w)
                row["parent_id"] = draft.parent["id"] if draft.parent else None
            apply_progress(row, w)
            _budget_fields(row, w.attrs, w.index)
            _side_fields(draft, w.attrs, w.index)
        except SandboxError as err:
            draft.problems.extend(err.problems or (Problem("base", err.message, w.index),))
        if row.get("start_date") and row.get("due_date") and row["due_date"] < row["start_date"]:
            draft.problems.append(Problem("due_date", "Due date must be after start date", w.index))
        draft.row = {k: row.get(k) for k in KEPT_COLUMNS}

    def _check_parent(self, row: dict[str, Any], value: Any, w: Writing) -> Row | None:
        if value is None or value == "":
            return None
        parent = self.ctx.store.by_id("stories", as_id(value, "parent_id", w.index))
        if parent is None or parent["deleted_at"] is not None:
            raise invalid("parent_id", "Parent task not found", w.index)
        if parent["workspace_id"] != row["workspace_id"]:
            raise invalid("parent_id", "Parent task must be in the same project", w.index)
        height = 0 if w.creating else row["subtree_depth"]
        if not w.creating and (
            parent["id"] == row["id"] or f"/{row['id']}/" in f"/{parent['ancestry']}"
        ):
            raise invalid("parent_id", "A task cannot be nested under itself or its subtasks")
        if parent["ancestry_depth"] + 1 + height > MAX_DEPTH:
            raise invalid("parent_id", f"Subtasks can be nested up to {MAX_DEPTH} levels", w.index)
        return parent


def _text_fields(row: dict[str, Any], attrs: dict[str, Any], index: int | None) -> None:
    if isinstance(attrs.get("title"), str) and attrs["title"].strip():
        if len(attrs["title"]) > MAX_TITLE:
            raise invalid("title", f"Title is too long (max {MAX_TITLE} characters)", index)
        row["title"] = attrs["title"].strip()
    if "description" in attrs:
        desc = attrs["description"]
        if desc is not None and not isinstance(desc, str):
            raise invalid("description", "Description must be text", index)
        if desc is not None and len(desc) >= MAX_DESCRIPTION:
            message = f"Description must be less than {MAX_DESCRIPTION} characters"
            raise invalid("description", message, index)
        row["description"] = desc


def _choice_fields(row: dict[str, Any], attrs: dict[str, Any], index: int | None) -> None:
    for name, label, allowed in (
        ("story_type", "Story type", STORY_TYPES),
        ("priority", "Priority", PRIORITIES),
    ):
        if name in attrs:
            if attrs[name] not in allowed:
                raise invalid(name, f"{label} must be one of {', '.join(allowed)}", index)
            row[name] = attrs[name]
    for name in ("start_date", "due_date"):
        if name in attrs:
            row[name] = as_date(attrs[name], name, index)
    if "archived" in attrs:
        row["archived"] = int(as_bool(attrs["archived"], "archived", index))
    if attrs.get("project_plan") is not None:  # null keeps the default / current value
        row["project_plan"] = int(as_bool(attrs["project_plan"], "project_plan", index))


def _budget_fields(row: dict[str, Any], attrs: dict[str, Any], index: int | None) -> None:
    """Billing flags, estimates, and the weight (top-level milestones only)."""
    for name in FLAG_FIELDS:
        if name in attrs:
            row[name] = int(as_bool(attrs[name], name, index))
    for name in COUNT_FIELDS:
        if name in attrs:
            row[name] = _count(attrs[name], name, index)
    top_milestone = row["story_type"] == "milestone" and row.get("parent_id") is None
    if "weight" in attrs and row["weight"] is not None and not top_milestone:
        raise invalid("weight", "Weight can only be set on a top-level milestone", index)


def _side_fields(draft: Draft, attrs: dict[str, Any], index: int | None) -> None:
    if "checklist" in attrs:
        draft.checklist = _checklist(attrs["checklist"], index)
    if "tag_list" in attrs:
        draft.tags = _tags(attrs["tag_list"], index)
    if "external_reference" in attrs:
        draft.reference = check_reference(attrs["external_reference"], index, subject=False)
    if "assignee_ids" in attrs:
        draft.assignees = _assignees(attrs["assignee_ids"], index)


def _checklist(items: Any, index: int | None) -> list[str]:
    """`checklist` on create: a list of non-blank item names."""
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise invalid("checklist", "Checklist must be a list of non-blank names", index)
    return [i.strip() for i in items]


def _tags(tags: Any, index: int | None) -> list[str]:
    """`tag_list`: a comma-separated string (null clears); blanks and repeats dropped."""
    if tags is None:
        tags = ""
    if not isinstance(tags, str):
        raise invalid("tag_list", "Tag list must be a comma-separated string", index)
    return list(dict.fromkeys(t.strip() for t in tags.split(",") if t.strip()))


def _count(value: Any, name: str, index: int | None) -> int | None:
    """A non-negative integer field, or null to clear it."""
    if value is None or value == "":
        return None
    number = numeric(value)
    if not isinstance(number, int) or number < 0:
        label = name.replace("_", " ").capitalize()
        raise invalid(name, f"{label} must be a whole number of at least 0", index)
    return number


def _assignees(value: Any, index: int | None) -> list[int]:
    """`assignee_ids`: user ids; the sandbox knows one user (docs/sandbox.md, "Fidelity")."""
    if not isinstance(value, list):
        raise invalid("assignee_ids", "Assignee ids must be a list of user ids", index)
    users = [as_id(v, "assignee_ids", index) for v in value]
    unknown = [u for u in users if u != SANDBOX_USER_ID]
    if unknown:
        raise invalid("assignee_ids", f"User {unknown[0]} is not a member of this project", index)
    return list(dict.fromkeys(users))
