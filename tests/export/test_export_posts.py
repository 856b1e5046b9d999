"""Export with posts (docs/export.md): the stack's posts come out under `posts:` with their
task links, and the exported manifest plans no change; people's posts and notifications
stay out."""

from __future__ import annotations

from pathlib import Path

from kxplan.export import export_manifest
from kxplan.manifest import load_manifest
from kxplan.model import LiveMarker, LivePost, LiveState, LiveTask, LiveWorkspace, PlanOptions
from kxplan.planner import build_plan
from kxplan.planner.posts import memory_text


def _marker(ref: str, stack: str = "s") -> LiveMarker:
    return LiveMarker("9" + str(len(ref)), "kxplan", stack, ref, message=memory_text("x", None))


def test_the_stacks_posts_are_exported_and_plan_no_change(tmp_path: Path) -> None:
    task = LiveTask("500", "Kickoff", None, markers=(LiveMarker("1", "kxplan", "s", "kickoff"),))
    posts = (
        LivePost("71", "Costs: ${budget}", None, _marker("welcome")),
        LivePost("72", "Agenda", "500", _marker("agenda")),
        LivePost("73", "Mine", None, None),
        LivePost("74", "kxplan updated the plan", None, _marker("notify:2027-01-01T00:00:00Z")),
        LivePost("75", "Theirs", None, _marker("x", stack="other")),
    )
    live = LiveState(LiveWorkspace("41001", "Acme"), (task,), posts=posts)
    text = export_manifest(live, "s")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    manifest = load_manifest(path)
    assert [(p.key, p.message, p.task) for p in manifest.posts] == [
        ("agenda", "Agenda", "kickoff"),
        ("welcome", "Costs: ${budget}", None),
    ]
    plan = build_plan(manifest, live, PlanOptions(prune=True))
    assert [c for c in plan.changes if c.kind.value == "post"] == []  # nothing kept or deleted
