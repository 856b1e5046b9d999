"""Rules for stories (tasks): create (single and bulk), update, soft delete, and queries.

docs/kantata-api.md Everything here is plain Python over the store; the HTTP layer only
unwraps bodies and presents rows. Checks run for every object of a bulk create before any
row is written, so a bulk create is all-or-nothing with each problem's `index`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from kxplan.sandbox.context import Ctx, as_bool, as_date, as_id, collect
from kxplan.sandbox.errors import Problem, SandboxError, invalid, not_found
from kxplan.sandbox.params import Page, Params, csv, flag, int_param, order_sql, parse_page
from kxplan.sandbox.params import timestamp_param as ts
from kxplan.sandbox.present import CATEGORIES, in_clause
from kxplan.sandbox.statuses import default_status, find_status, set_statuses
from kxplan.sandbox.store import SANDBOX_USER_ID, Row

MAX_BULK = 300
MAX_DEPTH = 4  # levels below a top-level task
FIRST_POSITION = 100_000_000
POSITION_STEP = 10_000  # between siblings; which end a new one takes: `new_siblings`
MAX_TITLE = 255
MAX_DESCRIPTION = 1000
STORY_TYPES = ("task", "deliverable", "milestone", "issue")
PRIORITIES = ("low", "normal", "high", "critical")
ISSUE_STATES = (
    "new",
    "reopened",
    "in progress",
    "blocked",
    "fixed",
    "duplicate",
    "can't repro",
    "resolved",
    "won't fix",
)

ORDER_FIELDS = {
    "created_at": "stories.created_at",
    "updated_at": "stories.updated_at",
    "due_date": "stories.due_date",
    "start_date": "stories.start_date",
    "position": "stories.position",
    "parent_and_position": "COALESCE(stories.parent_id, 0)|stories.position",
    "priority_level": "CASE stories.priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2 "
    "WHEN 'normal' THEN 1 ELSE 0 END",
    # Most important first when ascending (the default direction): critical, high, normal,
    # low; then the id tie-breaker every order gets (docs/sandbox.md, "Fidelity").
    "importance": "CASE stories.priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "
    "WHEN 'normal' THEN 2 ELSE 3 END",
}
# Story fields that are plain flags or non-negative counts (documented on create and update).
FLAG_FIELDS = ("billable", "fixed_fee", "time_trackable")
COUNT_FIELDS = ("budget_estimate_in_cents", "time_estimate_in_minutes", "weight")
REFERENCE_STATUSES = ("pending", "successful", "failed")
KEPT_COLUMNS = (
    *("workspace_id", "title", "description", "story_type", "priority", "state", "status"),
    *("custom_task_status_id", "percentage_complete", "archived", "start_date", "due_date"),
    *("parent_id", "project_plan", *FLAG_FIELDS, *COUNT_FIELDS),
)


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


class StoryRules:
    """Stories (no HTTP)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    # ---- reads -------------------------------------------------------------------------

    def get(self, story_id: int, params: Params | None = None) -> Row:
        """One story as the show route sees it: default filters apply (404 when hidden)."""
        params = params or {}
        rows, _, _ = self.query({**params, "only": str(story_id)})
        if not rows:
            raise not_found()
        return rows[0]

    def row(self, story_id: int) -> Row | None:
        """The raw row of a story, deleted or not."""
        return self.ctx.store.one("SELECT * FROM stories WHERE id = ?", [story_id])

    def query(self, params: Params) -> tuple[list[Row], int, Page]:
        """Matching stories (one page of them), the total count, and the page used."""
        page = parse_page(params)
        where, args = self._filters(params, page)
        sql_where = " AND ".join(where) or "1"
        store = self.ctx.store
        count = int(store.scalar(f"SELECT COUNT(*) FROM stories WHERE {sql_where}", args) or 0)
        order = order_sql(params, ORDER_FIELDS, "updated_at:desc", "stories")
        term = _search_term(params, page)
        if term and not params.get("order", "").strip():
            # Relevance (docs/sandbox.md, "Fidelity"): exact title, then prefix, then the rest.
            rank = (
                "CASE WHEN casefold(stories.title) = ? THEN 0 "
                "WHEN substr(casefold(stories.title), 1, length(?)) = ? THEN 1 ELSE 2 END"
            )
            order = f"{rank}, {order}"
            args = [*args, term, term, term]
        sql = f"SELECT * FROM stories WHERE {sql_where} ORDER BY {order}"
        if page.limit is not None:
            sql += f" LIMIT {page.limit} OFFSET {page.offset}"
        return store.all(sql, args), count, page

    def _filters(self, params: Params, page: Page) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []

        def add(clause: str, *values: Any) -> None:
            where.append(clause)
            args.extend(values)

        if page.only is not None:
            clause, ids = in_clause(page.only)
            add(f"stories.id IN {clause}", *ids)
        self._visibility(params, add)
        self._tree_filters(params, add)
        for name, op, col in (
            ("updated_after", ">", "updated_at"),
            ("updated_before", "<", "updated_at"),
            ("created_after", ">", "created_at"),
            ("created_before", "<", "created_at"),
        ):
            value = ts(params, name)
            if value is not None:
                add(f"stories.{col} {op} ?", value)
        self._attribute_filters(params, add)
        self._reference_filters(params, add)
        term = _search_term(params, page)
        if term:
            add("instr(casefold(stories.title), ?) > 0", term)
        return where, args

    def _visibility(self, params: Params, add: Any) -> None:
        # Default filters (docs/kantata-api.md): deleted, archived, archived-workspace tasks hidden.
        if flag(params, "only_deleted"):
            add("stories.deleted_at IS NOT NULL")
        elif not flag(params, "show_deleted"):
            add("stories.deleted_at IS NULL")
        archived = params.get("archived", "").strip().lower()
        if flag(params, "only_archived") or archived == "only":
            add("stories.archived = 1")
        elif archived == "exclude" or (archived != "include" and not flag(params, "show_archived")):
            add("stories.archived = 0")
        if not flag(params, "show_from_archived_workspaces"):
            add("stories.workspace_id IN (SELECT id FROM workspaces WHERE archived = 0)")
        # To Dos (`project_plan: false`) are hidden unless asked for (docs/sandbox.md).
        if flag(params, "only_todos"):
            add("stories.project_plan = 0")
        elif not flag(params, "show_todos"):
            add("stories.project_plan = 1")

    def _tree_filters(self, params: Params, add: Any) -> None:
        projects = [int(p) for p in csv(params, "with_projects") if p.isdigit()]
        workspace_id = int_param(params, "workspace_id")
        if workspace_id is not None:
            add("stories.workspace_id = ?", workspace_id)
        if projects:
            clause, ids = in_clause(projects)
            add(f"stories.workspace_id IN {clause}", *ids)
        for name, col in (
            ("with_parent_id", "parent_id"),
            ("with_root_id", "root_id"),
            ("with_ancestry_depth", "ancestry_depth"),
        ):
            value = int_param(params, name)
            if value is not None:
                add(f"stories.{col} = ?", value)
        if flag(params, "parents_only"):
            add("stories.parent_id IS NULL")

    def _attribute_filters(self, params: Params, add: Any) -> None:
        types = csv(params, "story_types") or csv(params, "story_type")
        if types:
            clause, _ = in_clause(range(len(types)))
            add(f"stories.story_type IN {clause}", *types)
        fold = self.ctx.variants.name_match == "ignore_case"  # variant `name_match`
        statuses = csv(params, "by_status")
        if statuses:
            clause, _ = in_clause(range(len(statuses)))
            if fold:
                lowered = "(" + ", ".join(["LOWER(?)"] * len(statuses)) + ")"
                add(f"LOWER(stories.status) IN {lowered}", *statuses)
            else:
                add(f"stories.status IN {clause}", *statuses)
        priorities = csv(params, "priority")
        if priorities:
            clause, _ = in_clause(range(len(priorities)))
            add(f"stories.priority IN {clause}", *priorities)
        tag_name = "LOWER(t.name) = LOWER(?)" if fold else "t.name = ?"
        tag_sql = (
            "EXISTS (SELECT 1 FROM story_tags st JOIN tags t ON t.id = st.tag_id "
            f"WHERE st.story_id = stories.id AND {tag_name})"
        )
        for name in csv(params, "by_tag_name"):
            add(tag_sql, name)
        any_tags = csv(params, "by_any_tag")
        if any_tags:
            add("(" + " OR ".join([tag_sql] * len(any_tags)) + ")", *any_tags)
        if flag(params, "completed"):
            add("stories.state = 'completed'")
        if flag(params, "uncompleted"):
            add("stories.state != 'completed'")

    def _reference_filters(self, params: Params, add: Any) -> None:
        conds: list[str] = []
        values: list[Any] = []
        for name, col in (
            ("external_reference_service_name", "service_name"),
            ("external_reference_service_model", "service_model"),
            ("external_reference_service_model_ref", "service_model_ref"),
            ("external_reference_status", "status"),
            ("external_reference_external_status", "external_status"),
        ):
            value = params.get(name, "").strip()
            if value:
                conds.append(f"e.{col} = ?")
                values.append(value)
        refs = csv(params, "external_reference_service_model_refs")
        if refs:
            clause, _ = in_clause(range(len(refs)))
            conds.append(f"e.service_model_ref IN {clause}")
            values.extend(refs)
        exists = (
            "EXISTS (SELECT 1 FROM external_references e WHERE e.subject_type = 'Story' "
            "AND e.subject_id = stories.id"
        )
        if conds:
            add(exists + " AND " + " AND ".join(conds) + ")", *values)
        without = params.get("without_external_reference_service_name", "").strip()
        if without:
            add("NOT " + exists + " AND e.service_name = ?)", without)
        if "has_external_references" in params:
            prefix = "" if flag(params, "has_external_references") else "NOT "
            add(prefix + exists + ")")

    # ---- writes ------------------------------------------------------------------------

    def create(self, items: list[Any], *, bulk: bool = False) -> list[int]:
        """Create stories (1..300), all or nothing; returns their ids in request order.

        `bulk` (the plural `stories` key was used) makes each problem carry its `index`.
        The items are inserted one by one in request order, so each takes its place among
        its siblings (`new_siblings`) as if it had been created alone, after the ones before
        it. The order of the response is `response_order`'s business.
        """
        if not items:
            raise SandboxError("missing_root")
        if len(items) > MAX_BULK:
            raise invalid("base", f"Bulk create is limited to {MAX_BULK} objects per request")
        drafts = [self._draft_create(item, i if bulk else None) for i, item in enumerate(items)]
        collect([p for d in drafts for p in d.problems])
        ids = [self._insert(d) for d in drafts]
        self._recount({self._root_of(d) for d in drafts})
        return ids

    def response_order(self, ids: list[int]) -> list[int]:
        """The ids of one create in the order its `results` list them (`results_order`)."""
        how = self.ctx.variants.results_order
        if how == "reversed":
            return ids[::-1]
        if how == "sorted":
            # The list default, updated_at desc: one request's stories share their timestamp
            # (seconds), and the newest id comes first among equals.
            rows = [r for i in ids if (r := self.row(i)) is not None]
            rows.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=True)
            return [int(r["id"]) for r in rows]
        if how == "shuffled":
            shuffled = list(ids)
            random.Random(ids[0] if ids else 0).shuffle(shuffled)  # seeded: reproducible
            return shuffled
        return list(ids)

    def update(self, story_id: int, attrs: dict[str, Any]) -> None:
        """Update a story; a deleted story is not found."""
        current = self.row(story_id)
        if current is None or current["deleted_at"] is not None:
            raise not_found()
        draft = self._draft_update(current, attrs)
        collect(draft.problems)
        now = self.ctx.now()
        changes = {k: v for k, v in draft.row.items() if current.get(k) != v}
        if "parent_id" in changes:
            self._reparent(current, draft.parent, now)
            del changes["parent_id"]
        self._save_side_tables(story_id, draft, now)
        side = (draft.tags, draft.reference, draft.assignees)
        if changes or any(v is not None for v in side):
            self.ctx.store.update("stories", story_id, {**changes, "updated_at": now})
        if "state" in changes:
            self._state_changed(story_id, changes["state"], now)

    def delete(self, story_id: int) -> None:
        """Soft delete a story; its descendants too under `delete_cascade=cascade`.

        Under `none` only the story is marked deleted: its subtasks stay visible, their
        `parent_id` still naming the deleted story (a soft delete touches one row).
        """
        current = self.row(story_id)
        if current is None or current["deleted_at"] is not None:
            raise not_found()
        now = self.ctx.now()
        store = self.ctx.store
        if self.ctx.variants.delete_cascade == "cascade":
            prefix = f"{current['ancestry']}{story_id}/"
            store.run(
                "UPDATE stories SET deleted_at = ?, updated_at = ? WHERE deleted_at IS NULL AND "
                "(id = ? OR (root_id = ? AND ancestry LIKE ?))",
                [now, now, story_id, current["root_id"] or story_id, prefix + "%"],
            )
        else:
            store.update("stories", story_id, {"deleted_at": now, "updated_at": now})
        self._recount({current["root_id"] or story_id})

    # ---- drafting (validation) ---------------------------------------------------------

    def _draft_create(self, item: Any, index: int | None) -> Draft:
        draft = Draft(row={})
        if not isinstance(item, dict):
            draft.problems.append(Problem("base", "Each story must be an object", index))
            return draft
        workspace = self._workspace_for(item, index, draft)
        if not isinstance(item.get("title"), str) or not item["title"].strip():
            draft.problems.append(Problem("title", "Title can't be blank", index))
        if workspace is None:
            return draft
        base = {
            "workspace_id": workspace["id"],
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
            "project_plan": int(self.ctx.variants.project_plan_default == "task"),
        }
        self._apply_attrs(draft, base, item, workspace, index, creating=True)
        return draft

    def _workspace_for(self, item: dict[str, Any], index: int | None, draft: Draft) -> Row | None:
        if item.get("workspace_id") in (None, ""):
            draft.problems.append(Problem("workspace_id", "Workspace can't be blank", index))
            return None
        try:
            ws_id = as_id(item["workspace_id"], "workspace_id", index)
        except SandboxError as err:
            draft.problems.extend(err.problems)
            return None
        workspace = self.ctx.store.one("SELECT * FROM workspaces WHERE id = ?", [ws_id])
        if workspace is None:
            draft.problems.append(Problem("workspace_id", f"Workspace {ws_id} not found", index))
        return workspace

    def _draft_update(self, current: Row, attrs: dict[str, Any]) -> Draft:
        draft = Draft(row={})
        workspace = self.ctx.store.one(
            "SELECT * FROM workspaces WHERE id = ?", [current["workspace_id"]]
        )
        assert workspace is not None
        if "title" in attrs and (not isinstance(attrs["title"], str) or not attrs["title"].strip()):
            draft.problems.append(Problem("title", "Title cannot be made blank"))
        self._apply_attrs(draft, dict(current), attrs, workspace, None, creating=False)
        return draft

    def _apply_attrs(
        self,
        draft: Draft,
        row: dict[str, Any],
        attrs: dict[str, Any],
        workspace: Row,
        index: int | None,
        *,
        creating: bool,
    ) -> None:
        try:
            self._plain_fields(row, attrs, index)
            if "parent_id" in attrs:
                draft.parent = self._check_parent(row, attrs["parent_id"], index, creating)
                row["parent_id"] = draft.parent["id"] if draft.parent else None
            self._progress(row, attrs, workspace, index, creating)
            self._budget_fields(row, attrs, index)
            self._side_fields(draft, attrs, index)
        except SandboxError as err:
            draft.problems.extend(err.problems or (Problem("base", err.message, index),))
        if row.get("start_date") and row.get("due_date") and row["due_date"] < row["start_date"]:
            draft.problems.append(Problem("due_date", "Due date must be after start date", index))
        draft.row = {k: row.get(k) for k in KEPT_COLUMNS}

    def _plain_fields(self, row: dict[str, Any], attrs: dict[str, Any], index: int | None) -> None:
        if isinstance(attrs.get("title"), str) and attrs["title"].strip():
            if len(attrs["title"]) > MAX_TITLE:
                raise invalid("title", f"Title is too long (max {MAX_TITLE} characters)", index)
            row["title"] = attrs["title"].strip()
        if "description" in attrs:
            desc = attrs["description"]
            if desc is not None and not isinstance(desc, str):
                raise invalid("description", "Description must be text", index)
            if desc is not None and len(desc) >= MAX_DESCRIPTION:
                raise invalid(
                    "description",
                    f"Description must be less than {MAX_DESCRIPTION} characters",
                    index,
                )
            row["description"] = desc
        if "story_type" in attrs:
            if attrs["story_type"] not in STORY_TYPES:
                raise invalid(
                    "story_type", f"Story type must be one of {', '.join(STORY_TYPES)}", index
                )
            row["story_type"] = attrs["story_type"]
        if "priority" in attrs:
            if attrs["priority"] not in PRIORITIES:
                raise invalid("priority", f"Priority must be one of {', '.join(PRIORITIES)}", index)
            row["priority"] = attrs["priority"]
        for name in ("start_date", "due_date"):
            if name in attrs:
                row[name] = as_date(attrs[name], name, index)
        if "archived" in attrs:
            row["archived"] = int(as_bool(attrs["archived"], "archived", index))
        if attrs.get("project_plan") is not None:  # null keeps the default / current value
            row["project_plan"] = int(as_bool(attrs["project_plan"], "project_plan", index))

    def _budget_fields(self, row: dict[str, Any], attrs: dict[str, Any], index: int | None) -> None:
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

    def _check_parent(
        self, row: dict[str, Any], value: Any, index: int | None, creating: bool
    ) -> Row | None:
        if value is None or value == "":
            return None
        parent = self.row(as_id(value, "parent_id", index))
        if parent is None or parent["deleted_at"] is not None:
            raise invalid("parent_id", "Parent task not found", index)
        if parent["workspace_id"] != row["workspace_id"]:
            raise invalid("parent_id", "Parent task must be in the same project", index)
        height = 0 if creating else row["subtree_depth"]
        if not creating and (
            parent["id"] == row["id"] or f"/{row['id']}/" in f"/{parent['ancestry']}"
        ):
            raise invalid("parent_id", "A task cannot be nested under itself or its subtasks")
        if parent["ancestry_depth"] + 1 + height > MAX_DEPTH:
            raise invalid("parent_id", f"Subtasks can be nested up to {MAX_DEPTH} levels", index)
        return parent

    def _progress(
        self,
        row: dict[str, Any],
        attrs: dict[str, Any],
        workspace: Row,
        index: int | None,
        creating: bool,
    ) -> None:
        """status/state/percentage_complete rules (docs/kantata-api.md; assumptions in the docs)."""
        statuses = set_statuses(self.ctx, workspace["status_set_id"])
        # Issue-only states exist only for issues in a workspace without a set (docs).
        issue_states = row["story_type"] == "issue" and not statuses
        explicit = False
        if attrs.get("status") not in (None, ""):
            row["state"], row["status"], row["custom_task_status_id"] = self._by_status(
                statuses, attrs["status"], index
            )
            explicit = True
        elif attrs.get("state") not in (None, ""):
            state = attrs["state"]
            allowed = CATEGORIES + (ISSUE_STATES if issue_states else ())
            if state not in allowed:
                raise invalid("state", f"State must be one of {', '.join(allowed)}", index)
            row["state"] = state
            row["status"], row["custom_task_status_id"] = default_status(statuses, state)
            explicit = True
        elif creating:
            row["status"], row["custom_task_status_id"] = default_status(statuses, row["state"])
        if "percentage_complete" in attrs:
            pct = _numeric(attrs["percentage_complete"])
            if not isinstance(pct, int) or not 0 <= pct <= 100:
                raise invalid(
                    "percentage_complete", "Percentage complete must be between 0 and 100", index
                )
            row["percentage_complete"] = pct
            if not explicit:
                self._state_from_percentage(row, statuses)
        changes_kind = "state" in attrs or "status" in attrs or "story_type" in attrs
        if row["state"] in ISSUE_STATES and changes_kind and not issue_states:
            raise invalid(
                "state",
                f"State {row['state']!r} is only valid for issues in a project without a task "
                "status set",
                index,
            )
        if row["state"] == "completed":
            row["percentage_complete"] = 100
        elif row["state"] == "not started" and explicit:
            row["percentage_complete"] = 0

    def _by_status(
        self, statuses: list[Row], name: Any, index: int | None
    ) -> tuple[str, str, int | None]:
        if statuses:
            v = self.ctx.variants
            found = find_status(statuses, name, v) if isinstance(name, str) else None
            if found is None:
                names = ", ".join(s["status"] for s in statuses)
                raise invalid(
                    "status", f"Status {name!r} is not in this project's set: {names}", index
                )
            return found["category"], found["status"], found["id"]
        if name not in CATEGORIES:
            raise invalid("status", f"Status must be one of {', '.join(CATEGORIES)}", index)
        return name, name, None

    @staticmethod
    def _state_from_percentage(row: dict[str, Any], statuses: list[Row]) -> None:
        pct, state = row["percentage_complete"], row["state"]
        if pct == 100:
            new = "completed"
        elif pct > 0 and state in ("not started", "completed"):
            new = "started"
        elif pct == 0 and state in ("started", "completed"):
            new = "not started"
        else:
            return
        row["state"] = new
        row["status"], row["custom_task_status_id"] = default_status(statuses, new)

    def _side_fields(self, draft: Draft, attrs: dict[str, Any], index: int | None) -> None:
        if "checklist" in attrs:
            items = attrs["checklist"]
            if not isinstance(items, list) or not all(
                isinstance(i, str) and i.strip() for i in items
            ):
                raise invalid("checklist", "Checklist must be a list of non-blank names", index)
            draft.checklist = [i.strip() for i in items]
        if "tag_list" in attrs:
            tags = attrs["tag_list"]
            if tags is None:
                tags = ""
            if not isinstance(tags, str):
                raise invalid("tag_list", "Tag list must be a comma-separated string", index)
            draft.tags = list(dict.fromkeys(t.strip() for t in tags.split(",") if t.strip()))
        if "external_reference" in attrs:
            draft.reference = check_reference(attrs["external_reference"], index, subject=False)
        if "assignee_ids" in attrs:
            draft.assignees = _assignees(attrs["assignee_ids"], index)

    # ---- persisting --------------------------------------------------------------------

    def _insert(self, draft: Draft) -> int:
        now = self.ctx.now()
        row = dict(draft.row)
        parent = draft.parent
        ancestry = f"{parent['ancestry']}{parent['id']}/" if parent else "/"
        row.update(
            root_id=(parent["root_id"] or parent["id"]) if parent else None,
            ancestry=ancestry,
            ancestry_depth=parent["ancestry_depth"] + 1 if parent else 0,
            position=self._next_position(row["workspace_id"], row["parent_id"]),
            created_at=now,
            updated_at=now,
            creator_id=SANDBOX_USER_ID,
        )
        story_id = self.ctx.store.insert("stories", row)
        self._save_side_tables(story_id, draft, now)
        self._state_changed(story_id, row["state"], now)
        return story_id

    def _next_position(self, workspace_id: int, parent_id: int | None) -> int:
        """The position of a story joining these siblings: before them all (`new_siblings`
        = first: the lowest position minus a step) or after them all (last: the highest plus
        a step). Deleted siblings count, as they keep their rows."""
        first = self.ctx.variants.new_siblings == "first"
        agg = "MIN" if first else "MAX"
        # `= ?` / `IS NULL` (not `IS ?`) so SQLite uses the (workspace, parent, position) index.
        sql = f"SELECT {agg}(position) FROM stories WHERE workspace_id = ? AND parent_id "
        if parent_id is None:
            sql += "IS NULL"
            args: list[Any] = [workspace_id]
        else:
            sql += "= ?"
            args = [workspace_id, parent_id]
        end = self.ctx.store.scalar(sql, args)
        if end is None:
            return FIRST_POSITION
        return int(end) - POSITION_STEP if first else int(end) + POSITION_STEP

    def _save_side_tables(self, story_id: int, draft: Draft, now: str) -> None:
        if draft.checklist:
            for pos, name in enumerate(draft.checklist, start=1):
                self.ctx.store.insert(
                    "story_tasks",
                    {
                        "story_id": story_id,
                        "name": name,
                        "completed": 0,
                        "position": pos,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
        if draft.tags is not None:
            self._set_tags(story_id, draft.tags)
        if draft.assignees is not None:
            self.ctx.store.run("DELETE FROM story_assignees WHERE story_id = ?", [story_id])
            for user_id in draft.assignees:
                self.ctx.store.run("INSERT INTO story_assignees VALUES (?, ?)", [story_id, user_id])
        if draft.reference is not None:
            upsert_reference(
                self.ctx, {**draft.reference, "subject_type": "Story", "subject_id": story_id}
            )

    def _set_tags(self, story_id: int, names: list[str]) -> None:
        """`tag_list` replaces the whole tag set of the story; an existing tag is reused
        (found ignoring case under variant `name_match=ignore_case`, keeping its spelling)."""
        store = self.ctx.store
        store.run("DELETE FROM story_tags WHERE story_id = ?", [story_id])
        fold = self.ctx.variants.name_match == "ignore_case"
        sql = "SELECT id FROM tags WHERE " + ("LOWER(name) = LOWER(?)" if fold else "name = ?")
        for name in names:
            tag_id = store.scalar(sql + " ORDER BY id LIMIT 1", [name])
            if tag_id is None:
                tag_id = store.insert("tags", {"name": name})
            store.run("INSERT OR IGNORE INTO story_tags VALUES (?, ?)", [story_id, tag_id])

    def _state_changed(self, story_id: int, state: str, now: str) -> None:
        self.ctx.store.insert(
            "story_state_changes",
            {
                "story_id": story_id,
                "state": state,
                "user_id": SANDBOX_USER_ID,
                "created_at": now,
                "updated_at": now,
            },
        )

    def _reparent(self, current: Row, parent: Row | None, now: str) -> None:
        """Move a story (with its subtree) under a new parent, or to the top level."""
        store = self.ctx.store
        old_prefix = f"{current['ancestry']}{current['id']}/"
        new_ancestry = f"{parent['ancestry']}{parent['id']}/" if parent else "/"
        new_root = (parent["root_id"] or parent["id"]) if parent else None
        depth = parent["ancestry_depth"] + 1 if parent else 0
        old_root = current["root_id"] or current["id"]
        store.update(
            "stories",
            current["id"],
            {
                "parent_id": parent["id"] if parent else None,
                "root_id": new_root,
                "ancestry": new_ancestry,
                "ancestry_depth": depth,
                "position": self._next_position(
                    current["workspace_id"], parent["id"] if parent else None
                ),
            },
        )
        for d in store.all(
            "SELECT id, ancestry FROM stories WHERE root_id = ? AND ancestry LIKE ?",
            [old_root, old_prefix + "%"],
        ):
            ancestry = new_ancestry + f"{current['id']}/" + d["ancestry"][len(old_prefix) :]
            store.update(
                "stories",
                d["id"],
                {
                    "ancestry": ancestry,
                    "root_id": new_root or current["id"],
                    "ancestry_depth": ancestry.count("/") - 1,
                },
            )
        self._recount({old_root, new_root or current["id"]})

    def _root_of(self, draft: Draft) -> int | None:
        parent = draft.parent
        return (parent["root_id"] or parent["id"]) if parent else None

    def _recount(self, roots: set[int | None]) -> None:
        """Refresh sub_story_count and subtree_depth in the given trees."""
        for root in roots - {None}:
            tree = self.ctx.store.all(
                "SELECT id, ancestry, ancestry_depth, sub_story_count, subtree_depth "
                "FROM stories WHERE (id = ? OR root_id = ?) AND deleted_at IS NULL",
                [root, root],
            )
            counts = {r["id"]: 0 for r in tree}
            heights = {r["id"]: 0 for r in tree}
            for r in tree:
                ancestors = [int(a) for a in r["ancestry"].strip("/").split("/") if a]
                for level, anc in enumerate(ancestors):
                    if anc in counts:
                        counts[anc] += 1
                        heights[anc] = max(heights[anc], r["ancestry_depth"] - level)
            for r in tree:
                fresh = {"sub_story_count": counts[r["id"]], "subtree_depth": heights[r["id"]]}
                if (r["sub_story_count"], r["subtree_depth"]) != tuple(fresh.values()):
                    self.ctx.store.update("stories", r["id"], fresh)


REFERENCE_FIELDS = (
    "service_name",
    "service_model",
    "service_model_ref",
    "status",
    "external_link",
    "external_status",
    "external_message",
    "locked",
)


def check_reference(value: Any, index: int | None, *, subject: bool) -> dict[str, Any]:
    """Validate an external reference object (service name/model/ref required)."""
    if not isinstance(value, dict):
        raise invalid("external_reference", "External reference must be an object", index)
    required = ["service_name", "service_model", "service_model_ref"]
    if subject:
        required = ["subject_type", "subject_id", *required]
    problems = [
        Problem(name, f"{name.replace('_', ' ').capitalize()} can't be blank", index)
        for name in required
        if value.get(name) in (None, "")
    ]
    collect(problems)
    ref = {k: value[k] for k in REFERENCE_FIELDS if k in value}
    for key in ("service_name", "service_model", "service_model_ref"):
        ref[key] = str(ref[key])
    if "locked" in ref:
        ref["locked"] = int(as_bool(ref["locked"], "locked", index))
    if ref.get("status") is not None and ref["status"] not in REFERENCE_STATUSES:
        where = "status" if subject else "external_reference.status"
        allowed = ", ".join(REFERENCE_STATUSES)
        raise invalid(where, f"Status {ref['status']!r} is not one of {allowed}", index)
    if subject:
        ref["subject_type"] = str(value["subject_type"])
        ref["subject_id"] = as_id(value["subject_id"], "subject_id", index)
    return ref


def upsert_reference(ctx: Ctx, ref: dict[str, Any]) -> int:
    """create_or_update: one reference per (subject, service_name)."""
    store = ctx.store
    now = ctx.now()
    existing = store.one(
        "SELECT id FROM external_references WHERE subject_type = ? AND subject_id = ? "
        "AND service_name = ?",
        [ref["subject_type"], ref["subject_id"], ref["service_name"]],
    )
    if existing is not None:
        store.update("external_references", existing["id"], {**ref, "updated_at": now})
        return int(existing["id"])
    return store.insert("external_references", {**ref, "created_at": now, "updated_at": now})


def _search_term(params: Params, page: Page) -> str:
    """The casefolded `search` text; search does not apply to `only` requests (documented)."""
    if page.only is not None:
        return ""
    return params.get("search", "").strip().casefold()


def _numeric(value: Any) -> Any:
    """An integer from a body: JSON integers, or digit strings (form bodies; Rails casts them)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _count(value: Any, name: str, index: int | None) -> int | None:
    """A non-negative integer field, or null to clear it."""
    if value is None or value == "":
        return None
    number = _numeric(value)
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
