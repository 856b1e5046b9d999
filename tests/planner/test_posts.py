"""Planning posts (kxplan.planner.posts, pure): the manifest's posts against the stack's
marked posts, with the marker's memory telling a person's edit from a manifest change."""

from __future__ import annotations

from dataclasses import replace

from kxplan.changes import Action, Kind, ReasonCode
from kxplan.model import DesiredPost, LiveMarker, LivePost, PlanOptions
from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.planner.posts import memory_text
from tests.support import live_from, manifest_from

TASKS = {"tasks": [{"key": "kickoff", "title": "Kickoff"}]}


def _marker(ref: str, memory: str = "", stack: str = "demo") -> LiveMarker:
    return LiveMarker(f"9{len(ref)}", "kxplan", stack, ref, message=memory)


def _plan(
    posts: tuple[DesiredPost, ...], live_posts: tuple[LivePost, ...], *, prune: bool = False
) -> Plan:
    manifest = replace(manifest_from(TASKS), posts=posts)
    live = live_from({"tasks": [{"key": "kickoff", "title": "Kickoff", "id": "500"}]})
    return build_plan(manifest, replace(live, posts=live_posts), PlanOptions(prune=prune))


def _posts(plan: Plan) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (c.action.value, c.key, c.fields)
        for c in plan.changes
        if c.kind is Kind.POST or c.code is ReasonCode.EDITED_IN_KANTATA
    ]


def _written(key: str, message: str, task: str | None = None, **kw: object) -> LivePost:
    """A post as kxplan wrote it (memory of exactly this message and task)."""
    story = "500" if task == "kickoff" else None
    return LivePost(f"7{key}", message, story, _marker(key, memory_text(message, task)), **kw)  # type: ignore[arg-type]


def test_new_posts_are_created_and_cost_two_writes_each() -> None:
    plan = _plan((DesiredPost("welcome", "Hi"), DesiredPost("agenda", "A", "kickoff")), ())
    assert _posts(plan) == [("create", "welcome", ()), ("create", "agenda", ())]
    agenda = plan.changes[-1]
    assert agenda.after == {"message": "A", "task": "kickoff", "task_id": "500"}  # type: ignore[attr-defined]
    assert plan.requests["write"] == 4


def test_posts_as_kxplan_wrote_them_need_nothing() -> None:
    posts = (DesiredPost("welcome", "Hi"), DesiredPost("agenda", "A", "kickoff"))
    live = (_written("welcome", "Hi"), _written("agenda", "A", "kickoff"))
    assert not _plan(posts, live).has_changes


def test_a_manifest_change_updates_message_and_task_link() -> None:
    live = (_written("agenda", "A", "kickoff"),)
    plan = _plan((DesiredPost("agenda", "B"),), live)
    assert _posts(plan) == [("update", "agenda", ("message", "task"))]
    (change,) = plan.actionable
    assert change.before == {"message": "A", "task": "kickoff"}  # type: ignore[attr-defined]
    assert plan.requests["write"] == 2


def test_a_persons_edit_is_kept_with_a_note_until_the_manifest_changes() -> None:
    edited = replace(_written("welcome", "Hi"), message="Hi all (edited)")
    kept = _plan((DesiredPost("welcome", "Hi"),), (edited,))
    assert _posts(kept) == [("warn", "post welcome", ())] and not kept.has_changes
    replaced = _plan((DesiredPost("welcome", "Hello"),), (edited,))
    (change,) = replaced.actionable
    assert change.fields == ("message",) and "replaces an edit made in Kantata" in change.reason


def test_with_no_memory_the_manifest_wins() -> None:
    bare = LivePost("71", "Old", None, _marker("welcome"))
    (change,) = _plan((DesiredPost("welcome", "New"),), (bare,)).actionable
    assert change.action is Action.UPDATE and "the manifest wins" in change.reason


def test_dropped_posts_are_kept_without_prune_deleted_with_it_unless_people_replied() -> None:
    live = (_written("old", "Bye"), _written("thread", "Talk", replies=2))
    kept = _plan((), live)
    assert _posts(kept) == [("keep", "old", ()), ("keep", "thread", ())]
    pruned = _plan((), live, prune=True)
    assert _posts(pruned) == [("delete", "old", ()), ("keep", "thread", ())]
    thread = next(c for c in pruned.changes if c.key == "thread")
    assert "2 replies people wrote would go with it" in thread.reason


def test_notifications_and_other_stacks_posts_are_never_planned() -> None:
    note = LivePost("81", "kxplan updated the plan", None, _marker("notify:2027-01-04T10:00:00Z"))
    other = LivePost("82", "Theirs", None, _marker("welcome", stack="other"))
    assert not _plan((), (note, other), prune=True).changes


def test_a_targeted_plan_leaves_posts_alone() -> None:
    manifest = replace(manifest_from(TASKS), posts=(DesiredPost("welcome", "Hi"),))
    live = replace(live_from({"tasks": []}), posts=())
    plan = build_plan(manifest, live, PlanOptions(targets=("kickoff",)))
    assert not [c for c in plan.changes if c.kind is Kind.POST]


def test_a_post_on_a_task_created_in_this_plan_resolves_it_at_apply() -> None:
    manifest = replace(manifest_from(TASKS), posts=(DesiredPost("agenda", "A", "kickoff"),))
    plan = build_plan(manifest, replace(live_from({"tasks": []}), posts=()), PlanOptions())
    (post,) = [c for c in plan.changes if c.kind is Kind.POST]
    assert post.after == {"message": "A", "task": "kickoff", "task_id": None}  # type: ignore[attr-defined]
    assert [c.kind for c in plan.actionable] == [Kind.TASK, Kind.POST]
