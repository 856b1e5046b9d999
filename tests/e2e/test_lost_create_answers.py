"""Every kind of create whose answer is lost after it committed exists exactly once: the
create-once helper (kxplan/apply/_once.py) looks it up before sending it again."""

from __future__ import annotations

from pathlib import Path

from kxplan.apply import apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, LosesPostAnswers, duplicates, read, write_manifest

from .scenario import STACK, WORKSPACE, base, edited


def test_every_kind_of_create_whose_answer_is_lost_exists_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Status set, statuses, tasks, checklist items and the set's writer record: every POST
    answer lost, each found by a look-up, nothing sent twice, nothing missing."""
    sandbox.model.create_workspace(WORKSPACE)
    path = tmp_path / "onboarding.yaml"
    created: set[str] = set()
    for doc, prune in ((base(), False), (edited(), True)):
        manifest = load_manifest(write_manifest(path, doc))
        sandbox.log.reset()
        with KantataClient(sandbox.url, TOKEN) as client:
            plan = build_plan(manifest, read_live(client, WORKSPACE), PlanOptions(prune=prune))
            lossy = LosesPostAnswers(client)
            result = apply_plan(plan, lossy)  # type: ignore[arg-type]
        posts = [e.route for e in sandbox.log.entries if e.method == "POST"]
        assert len(posts) == len(lossy.lost)  # every create sent once, none re-sent
        assert result.recovered >= len(posts) > 0
        created.update(posts)
        live = read(sandbox.url, WORKSPACE)
        assert duplicates(live, STACK) == []
        again = build_plan(manifest, live, PlanOptions(prune=prune))
        assert [c.key for c in again.actionable] == []  # all there: nothing left to do
    assert {"/task_status_sets", "/custom_task_statuses", "/stories", "/story_tasks"} <= created
