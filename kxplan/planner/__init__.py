"""The planner: desired + live -> an ordered, deterministic `Plan`. Pure: no I/O.

    plan = build_plan(manifest, live, PlanOptions(prune=True))

Parts: `matching` (who is who), `statuses` (the status set), `tasks` (creates, updates,
moves), `checklist`, `deletes` (prune, keep, blocked, the mass-delete guard), `notes`
(warnings), `scope` (--target), `order` (waves and request estimates), `status_model` (the
status writes, counted by the applier's rules), `renames` (suspected renames: creates that look
like a task the plan keeps or deletes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kxplan._runtime import gc_paused
from kxplan.changes.base import Action, Change, Kind
from kxplan.errors import PlanError
from kxplan.model import LiveState, LiveTask, Manifest, PlanOptions
from kxplan.plan import Plan, SuspectedRename
from kxplan.planner.context import make_context
from kxplan.planner.deletes import check_mass_delete, plan_orphans
from kxplan.planner.matching import match_tasks
from kxplan.planner.notes import plan_notes
from kxplan.planner.order import Step, arrange, estimate_writes
from kxplan.planner.placement import learn_placement
from kxplan.planner.posts import plan_posts
from kxplan.planner.scope import live_filter, resolve_scope
from kxplan.planner.statuses import plan_statuses
from kxplan.planner.tasks import memory_after, plan_task
from kxplan.planner.workspace import plan_workspace

__all__ = ["Adopter", "build_plan"]

#: Finds unmanaged live tasks to adopt: task key -> live task (kxplan.adopt.match_for_adoption).
Adopter = Callable[[Manifest, LiveState], Mapping[str, LiveTask]]


def build_plan(
    manifest: Manifest,
    live: LiveState,
    options: PlanOptions | None = None,
    *,
    adopter: Adopter | None = None,
) -> Plan:
    """Plan `manifest` against `live`. Same inputs, same plan.

    Raises UnsafePlanError for a mass delete without `allow_mass_delete`, PlanError for an
    unknown `--target` or an ambiguous adoption.
    """
    with gc_paused():  # many small acyclic objects: the collector's passes free nothing
        return _build_plan(manifest, live, options, adopter)


def _build_plan(
    manifest: Manifest, live: LiveState, options: PlanOptions | None, adopter: Adopter | None
) -> Plan:
    options = options or PlanOptions()
    adoption = _adoption(manifest, live, adopter) if options.adopt else {}
    matching = match_tasks(manifest, live, adoption)
    statuses = plan_statuses(manifest.status_set, live, prune=options.prune or manifest.prune)
    ctx = make_context(
        manifest, live, options, matching, statuses.status_after, switches_set=statuses.switches_set
    )
    scope = resolve_scope(ctx)
    inside = live_filter(ctx, scope)
    steps: list[Step] = [*plan_workspace(manifest, live), *statuses.steps]
    memory: dict[str, dict[str, str]] = {}
    for task in manifest.tasks:
        if not scope.covers(task.key):
            continue
        own = plan_task(ctx, task, create_only=task.key in scope.create_only)
        if not own:
            continue  # no steps, no memory to write (memory_after): most tasks are in line
        live_task = matching.by_key.get(task.key)
        text = memory_after(ctx, task, live_task, own) if live_task is not None else None
        if live_task is not None and text is not None:
            memory[task.key] = {"id": live_task.id, "text": text}
        steps.extend(own)
    if not options.targets:  # a targeted plan covers its tasks only
        steps.extend(plan_posts(manifest, live.posts, matching.by_key, prune=ctx.prune))
    steps.extend(plan_orphans(ctx, inside))
    steps.extend(plan_notes(ctx, inside))
    changes = arrange(steps)
    check_mass_delete(ctx, changes)
    suspects: tuple[SuspectedRename, ...] = ()
    if any(c.kind is Kind.TASK and c.action is Action.CREATE for c in changes):
        # Only a create can be a suspected rename: the look-alike search (and its import)
        # is for plans that create a task.
        from kxplan.planner.renames import find_suspected_renames, mark_suspects

        suspects = find_suspected_renames(ctx, changes)
        changes = mark_suspects(changes, suspects)
    return Plan(
        stack=manifest.name,
        manifest=manifest.path,
        workspace={"id": live.workspace.id or None, "title": live.workspace.title},
        changes=changes,
        requests={
            "read": live.requests,
            "write": estimate_writes(changes, live) + memory_puts(changes, memory),
        },
        options={
            "prune": ctx.prune,
            "allow_mass_delete": options.allow_mass_delete,
            "targets": list(options.targets),
            "adopt": options.adopt,
            # Where Kantata puts a new sibling, when the live tasks tell (None: unknown);
            # the applier orders its creates by it (docs/apply.md, "Sibling order").
            "new_siblings": learn_placement((t.parent_id, t.id, t.position) for t in live.tasks),
        },
        suspected_renames=suspects,
        memory=memory,
        stack_stories=matching.stories,
    )


def memory_puts(changes: tuple[Change, ...], memory: Mapping[str, object]) -> int:
    """The PUTs that write a task's memory after its checklist changes: one per task whose
    memory changes while no update, adoption or move of it carries it (kxplan.apply)."""
    carried = {
        c.key
        for c in changes
        if c.kind is Kind.TASK and c.action in (Action.UPDATE, Action.ADOPT, Action.MOVE)
    }
    return sum(1 for key in memory if key not in carried)


def _adoption(
    manifest: Manifest, live: LiveState, adopter: Adopter | None
) -> Mapping[str, LiveTask]:
    if adopter is None:
        try:
            from kxplan.adopt import match_for_adoption
        except ImportError as err:  # the export engineer's module is not in this build
            raise PlanError(
                "--adopt is not available in this build of kxplan",
                hint="plan without --adopt, or upgrade kxplan",
            ) from err
        adopter = match_for_adoption
    return adopter(manifest, live)
