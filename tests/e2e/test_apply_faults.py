"""Apply under faults: 503s, a 429 rate limit and connections dropped after the write
committed. Every seed must converge to exactly the state of a clean run, with nothing
created twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import ApplyFailed, apply_plan
from kxplan.client import Backoff, KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from kxplan.sandbox import Faults
from tests.support import TOKEN, checked_sandbox, duplicates, read, snapshot, write_manifest

from .scenario import STACK, WORKSPACE, base, edited

SEEDS = range(20)
STEPS = ((base, False), (edited, True))  # bootstrap, then every kind of edit with --prune


def _faults(seed: int) -> Faults:
    return Faults(seed=seed, p_503=0.2, rate_limit=200.0, burst=4, p_drop_after=0.1)


def converge(url: str, manifest_path: Path, prune: bool, seed: int) -> tuple[int, int]:
    """Plan and apply until nothing is left; (applies needed, creates found by look-up)."""
    manifest = load_manifest(manifest_path)
    backoff = Backoff(base=0.002, cap=0.02, seed=seed)  # fast: the faults are the point
    with KantataClient(url, TOKEN, max_retries=12, backoff=backoff, seed=seed) as client:
        applies = recovered = 0
        for _ in range(3):
            plan = build_plan(manifest, read_live(client, WORKSPACE), PlanOptions(prune=prune))
            if not plan.has_changes:
                return applies, recovered
            applies += 1
            try:
                recovered += apply_plan(plan, client).recovered
            except ApplyFailed:
                continue  # a hard failure: the next plan starts from what was applied
    raise AssertionError(f"seed {seed}: still not converged after {applies} applies")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Snapshots after each step of a run with no faults."""
    tmp = tmp_path_factory.mktemp("clean")
    with checked_sandbox() as server:
        server.model.create_workspace(WORKSPACE)
        snaps = []
        for make, prune in STEPS:
            path = write_manifest(tmp / "m.yaml", make())
            assert converge(server.url, path, prune, 0) == (1, 0)
            snaps.append(snapshot(read(server.url, WORKSPACE), STACK))
        yield snaps


@pytest.mark.slow
def test_apply_under_faults_matches_a_clean_run_with_no_duplicates(
    make_sandbox: Any, clean: list[dict[str, Any]], tmp_path: Path
) -> None:
    outcomes: set[str] = set()
    recovered = 0
    for seed in SEEDS:
        server = make_sandbox()
        server.model.create_workspace(WORKSPACE)
        for (make, prune), expected in zip(STEPS, clean, strict=True):
            path = write_manifest(tmp_path / "m.yaml", make())
            server.faults = _faults(seed)
            applies, found = converge(server.url, path, prune, seed)
            recovered += found
            server.faults = Faults()
            live = read(server.url, WORKSPACE)
            assert duplicates(live, STACK) == [], f"seed {seed}"
            assert snapshot(live, STACK) == expected, f"seed {seed}"
            assert applies == 1, f"seed {seed}"  # the first apply converges
        outcomes |= {e.outcome for e in server.log.entries}
        server.stop()
    # The faults really happened, and lost answers to creates were resolved by look-ups.
    assert {"503", "429", "dropped_after"} <= outcomes
    assert recovered > 0


def test_a_dropped_bulk_create_is_looked_up_not_repeated(make_sandbox: Any, tmp_path: Path) -> None:
    """Every write's connection drops after it commits: each create is found by its marker."""
    server = make_sandbox()
    server.model.create_workspace(WORKSPACE)
    server.faults = Faults(p_drop_after=1.0)
    doc = base()  # only task creates: every other write would be retried into the same drop
    del doc["status_set"]
    del doc["tasks"][0]["children"][0]["status"]
    doc["tasks"][0]["checklist"] = ["Kickoff call held", "Scope signed"]
    path = write_manifest(tmp_path / "m.yaml", doc)
    manifest = load_manifest(path)
    with KantataClient(server.url, TOKEN, backoff=Backoff(base=0.001, cap=0.01)) as client:
        plan = build_plan(manifest, read_live(client, WORKSPACE), PlanOptions())
        result = apply_plan(plan, client)
    server.faults = Faults()
    assert result.recovered >= 3  # the three levels of tasks, at least
    live = read(server.url, WORKSPACE)
    assert duplicates(live, STACK) == []
    assert len([t for t in live.tasks if t.key_for(STACK)]) == 7
    assert server.log.count("POST", "/stories") == 3
