"""A story's progress: how `status`, `state` and `percentage_complete` follow each other.

The rules (docs/kantata-api.md; the assumptions are listed in docs/sandbox.md): a status
names the state (its category); a state without a status takes the set's first status of
that category; a percentage moves the state unless a status or state was given too;
`completed` means 100 and an explicit `not started` means 0. Issue-only states exist only
for issues in a workspace without a status set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kxplan.sandbox.constants import CATEGORIES, ISSUE_STATES
from kxplan.sandbox.errors import invalid
from kxplan.sandbox.resources.statuses import default_status, find_status
from kxplan.sandbox.store import Row
from kxplan.sandbox.variants import Variants


@dataclass(frozen=True, slots=True)
class Writing:
    """What one story write is checked against: its attributes, its workspace and that
    workspace's statuses (position order), its bulk `index`, and whether it creates."""

    attrs: dict[str, Any]
    workspace: Row
    statuses: list[Row]
    index: int | None
    creating: bool
    variants: Variants


def apply_progress(row: dict[str, Any], w: Writing) -> None:
    """Set state, status and percentage on `row` from the attributes of the write."""
    # Issue-only states exist only for issues in a workspace without a set (docs).
    issue_states = row["story_type"] == "issue" and not w.statuses
    explicit = _explicit_state(row, w, issue_states)
    if "percentage_complete" in w.attrs:
        row["percentage_complete"] = _percentage(w.attrs["percentage_complete"], w.index)
        if not explicit:
            _state_from_percentage(row, w.statuses)
    _check_issue_state(row, w, issue_states)
    if row["state"] == "completed":
        row["percentage_complete"] = 100
    elif row["state"] == "not started" and explicit:
        row["percentage_complete"] = 0


def _check_issue_state(row: dict[str, Any], w: Writing, issue_states: bool) -> None:
    """An issue-only state is refused once the write touches the kind or the state of a
    story that may not have one (a story keeps one it already has otherwise)."""
    changes_kind = any(name in w.attrs for name in ("state", "status", "story_type"))
    if row["state"] in ISSUE_STATES and changes_kind and not issue_states:
        raise invalid(
            "state",
            f"State {row['state']!r} is only valid for issues in a project without a task "
            "status set",
            w.index,
        )


def _explicit_state(row: dict[str, Any], w: Writing, issue_states: bool) -> bool:
    """Apply a given `status` or `state` (True), or on create the default status (False)."""
    status, state = w.attrs.get("status"), w.attrs.get("state")
    if status not in (None, ""):
        row["state"], row["status"], row["custom_task_status_id"] = _by_status(status, w)
        return True
    if state not in (None, ""):
        allowed = CATEGORIES + (ISSUE_STATES if issue_states else ())
        if state not in allowed:
            raise invalid("state", f"State must be one of {', '.join(allowed)}", w.index)
        row["state"] = state
        row["status"], row["custom_task_status_id"] = default_status(w.statuses, state)
        return True
    if w.creating:
        row["status"], row["custom_task_status_id"] = default_status(w.statuses, row["state"])
    return False


def _by_status(name: Any, w: Writing) -> tuple[str, str, int | None]:
    """(state, status, custom status id) for a status name given in the write."""
    if w.statuses:
        found = find_status(w.statuses, name, w.variants) if isinstance(name, str) else None
        if found is None:
            names = ", ".join(s["status"] for s in w.statuses)
            raise invalid(
                "status", f"Status {name!r} is not in this project's set: {names}", w.index
            )
        return found["category"], found["status"], found["id"]
    if name not in CATEGORIES:
        raise invalid("status", f"Status must be one of {', '.join(CATEGORIES)}", w.index)
    return name, name, None


def _percentage(value: Any, index: int | None) -> int:
    pct = numeric(value)
    if not isinstance(pct, int) or not 0 <= pct <= 100:
        raise invalid("percentage_complete", "Percentage complete must be between 0 and 100", index)
    return pct


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


def numeric(value: Any) -> Any:
    """An integer from a body: JSON integers, or digit strings (form bodies; Rails casts them)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value
