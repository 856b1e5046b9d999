"""A saved fleet plan (`kxplan plan FLEET.yaml --out PLANFILE`) read back offline, as the
fleet runner's outcomes `kxplan plan` printed: one reader for `kxplan show` and for
`kxplan ci comment|summary` (docs/plan.md, "Showing a saved plan").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kxplan.errors import UsageError
from kxplan.fleet.detect import FLEET_FORMAT
from kxplan.fleet.runner import Outcome, Target
from kxplan.render import render_text
from kxplan.saved_plans import MAKE_ONE, read_saved_plan


@dataclass(frozen=True, slots=True)
class SavedFleet:
    """The fleet's stack and one outcome per saved workspace, in the saved order."""

    stack: str
    outcomes: tuple[Outcome, ...]


def read_saved_fleet(path: Path, data: Mapping[str, Any]) -> SavedFleet:
    """The saved fleet plan `data` (the JSON of `path`); a UsageError naming what is wrong
    (another fleet format, no fleet or workspaces, an unreadable entry or plan)."""
    if data.get("fleet_format") != FLEET_FORMAT:
        raise UsageError(
            f"{path}: fleet_format {data.get('fleet_format')!r} is not {FLEET_FORMAT!r}: it was "
            "saved by another version of kxplan",
            hint="make a new plan with this kxplan: `kxplan plan FLEET.yaml --out PLANFILE`",
        )
    about, entries = data.get("fleet"), data.get("workspaces")
    if not isinstance(about, dict) or not isinstance(entries, list):
        raise UsageError(
            f"{path}: not a valid saved fleet plan (no fleet or workspaces)",
            hint="make one with `kxplan plan FLEET.yaml --out PLANFILE`",
        )
    outcomes = tuple(_outcome(path, i, e) for i, e in enumerate(entries))
    return SavedFleet(str(about.get("stack") or ""), outcomes)


def _outcome(path: Path, index: int, entry: Any) -> Outcome:
    """The Outcome of one saved workspace, as `plan` had it when it printed."""
    where = f" (workspaces[{index}])"
    if not isinstance(entry, dict) or not isinstance(entry.get("workspace"), dict):
        raise UsageError(f"{path}{where}: not a readable fleet entry", hint=MAKE_ONE)
    raw = entry.get("plan")
    plan = read_saved_plan(path, raw, where) if raw is not None else None
    return Outcome(
        Target(entry.get("entry") or "", None),
        str(entry.get("status") or ""),
        entry["workspace"],
        plan=plan,
        reason=str(entry.get("reason") or ""),
        text=render_text(plan, False) if plan is not None else "",
        result=str(entry.get("result") or ""),
        notes=tuple(str(n) for n in entry.get("notes") or ()),
        applied=entry.get("applied"),
    )
