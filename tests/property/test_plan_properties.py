"""Properties of the planner over random manifests and random live workspaces.

- apply the plan (to an in-memory workspace), plan again: no changes;
- planning twice, or with the live tasks in another order, gives the same bytes;
- unmanaged tasks and other stacks' tasks are never changed or lost;
- people's progress is never reverted without `enforce`.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kxplan.model import LiveState, Manifest, PlanOptions
from kxplan.plan import Action, Kind, Plan
from kxplan.planner import build_plan
from kxplan.render import render_json, render_text
from kxplan.resources import load_schema
from tests.property.memory_workspace import apply_to
from tests.property.strategies import STACK, live_states, manifests

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTIONS = st.builds(PlanOptions, prune=st.booleans(), allow_mass_delete=st.just(True))


@SETTINGS
@given(manifests(), live_states(), OPTIONS)
def test_apply_then_plan_again_gives_no_changes(
    desired: Manifest, live: LiveState, options: PlanOptions
) -> None:
    after = apply_to(live, build_plan(desired, live, options))
    again = build_plan(desired, after, options)
    assert not again.has_changes, render_text(again)


@SETTINGS
@given(manifests(), live_states(), OPTIONS, st.randoms(use_true_random=False))
def test_same_inputs_give_the_same_valid_bytes(
    desired: Manifest, live: LiveState, options: PlanOptions, rnd: random.Random
) -> None:
    first = render_json(build_plan(desired, live, options))
    jsonschema.validate(json.loads(first), load_schema("plan.schema.json"))
    assert render_json(build_plan(desired, live, options)) == first
    shuffled = list(live.tasks)
    rnd.shuffle(shuffled)
    assert render_json(build_plan(desired, replace(live, tasks=tuple(shuffled)), options)) == first


def _not_ours(live: LiveState) -> set[str]:
    return {t.id for t in live.tasks if t.key_for(STACK) is None}


@SETTINGS
@given(manifests(), live_states(), OPTIONS)
def test_unmanaged_tasks_are_never_changed_or_lost(
    desired: Manifest, live: LiveState, options: PlanOptions
) -> None:
    plan = build_plan(desired, live, options)
    foreign = _not_ours(live)
    touched = {c.id for c in plan.actionable if c.kind is Kind.TASK}
    assert not touched & foreign
    after = apply_to(live, plan)
    before = {t.id: t for t in live.tasks if t.id in foreign}
    now = {t.id: t for t in after.tasks if t.id in foreign}
    assert set(now) == set(before), "a task kxplan does not own was deleted"
    for tid, task in before.items():
        kept = (task.title, task.parent_id, task.markers, task.checklist, task.tags)
        assert (
            now[tid].title,
            now[tid].parent_id,
            now[tid].markers,
            now[tid].checklist,
            now[tid].tags,
        ) == kept


def _progress_reverted(desired: Manifest, plan: Plan) -> list[str]:
    enforce = {t.key: t.enforce for t in desired.tasks}
    found = []
    for c in plan.actionable:
        if c.kind is Kind.TASK and c.action in (Action.UPDATE, Action.ADOPT):
            found += [
                f"{c.key}.{f}"
                for f in c.fields
                if f in ("status", "percentage_complete") and f not in enforce[c.key]
            ]
        item_update = c.kind is Kind.CHECKLIST_ITEM and c.action is Action.UPDATE
        if item_update and "completed" in c.fields and "completed" not in enforce[str(c.parent)]:
            found.append(f"{c.parent}[{c.key}].completed")
    return found


@SETTINGS
@given(manifests(), live_states(), OPTIONS)
def test_progress_is_never_reverted_without_enforce(
    desired: Manifest, live: LiveState, options: PlanOptions
) -> None:
    plan = build_plan(desired, live, options)
    assert _progress_reverted(desired, plan) == []
    after = {t.id: t for t in apply_to(live, plan).tasks}
    enforced = {t.key: t.enforce for t in desired.tasks}
    for task in live.tasks:
        key = task.key_for(STACK)
        if key in enforced and task.id in after and "percentage_complete" not in enforced[key]:
            assert after[task.id].percentage_complete == task.percentage_complete
