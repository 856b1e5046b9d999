"""Execute a `Plan` against Kantata: ordered, batched, and safe to interrupt.

    apply_plan(plan, client, progress=None) -> ApplyResult

Waves run in `kxplan.plan.WAVES` order: the status set and its statuses, the workspace's set,
task creates (level by level, up to 300 per `POST /stories`, each carrying its marker, checklist
and tags), updates and moves (concurrently), checklist items, then deletes (children first).

Nothing is created twice: a create whose outcome is unknown (the connection dropped after the
request was sent) is looked up by its identity — a task by its marker, a checklist item by its
task and name, a status by its set and name — before anything is re-sent (every create goes
through `kxplan.apply._once.create_once`). A run killed part-way leaves markers behind, so the
next plan starts from what was really applied.

On a hard failure `apply_plan` raises `ApplyFailed` (an `ApplyError`) that says what was
applied and what was not.
"""

from __future__ import annotations

from kxplan.apply._core import ApplyFailed, ApplyResult, apply_plan
from kxplan.apply._guard import CreateGuard, stack_count
from kxplan.apply._run import Progress
from kxplan.apply._verify import Observed, live_after

__all__ = [
    "ApplyFailed",
    "ApplyResult",
    "CreateGuard",
    "Observed",
    "Progress",
    "apply_plan",
    "live_after",
    "stack_count",
]
