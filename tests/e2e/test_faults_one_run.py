"""Under the usual fault mix — 20 % 503s, 10 % connections dropped after the write committed,
a rate limit whose 429s carry `Retry-After` or not — the FIRST apply converges.

Several runs used to be needed because 429s and 503s drew on one budget of 7 attempts: a
request that met a few of each gave up, and the apply stopped part-way. 429s now retry for as
long as a time budget lasts (see docs/client.md, "Rate limits").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import apply_plan
from kxplan.client import Backoff, KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.planner import build_plan
from kxplan.sandbox import Faults
from kxplan.sandbox.variants import Variants
from tests.support import TOKEN, duplicates, read, write_manifest

from .scenario import STACK, WORKSPACE, base, edited

SEEDS = range(6)


def _mix(seed: int) -> Faults:
    return Faults(
        seed=seed, p_503=0.2, p_drop_after=0.1, rate_limit=150.0, burst=4, retry_after=0.01
    )


@pytest.mark.slow
@pytest.mark.parametrize("retry_after", ["present", "absent"])
def test_the_first_apply_converges_under_the_usual_fault_mix(
    make_sandbox: Any, tmp_path: Path, retry_after: str
) -> None:
    outcomes: set[str] = set()
    for seed in SEEDS:
        server = make_sandbox(variants=Variants(retry_after=retry_after))
        server.model.create_workspace(WORKSPACE)
        for make, prune in ((base, False), (edited, True)):
            manifest = load_manifest(write_manifest(tmp_path / "m.yaml", make()))
            options = PlanOptions(prune=prune)
            server.faults = _mix(seed)
            # Default retry counts and budgets; only the waits are shortened.
            backoff = Backoff(base=0.002, cap=0.02, seed=seed)
            with KantataClient(server.url, TOKEN, backoff=backoff, seed=seed) as client:
                plan = build_plan(manifest, read_live(client, WORKSPACE), options)
                assert plan.has_changes
                apply_plan(plan, client)  # raises ApplyFailed if this run does not finish
                again = build_plan(manifest, read_live(client, WORKSPACE), options)
            assert not again.has_changes, f"seed {seed}: {again.summary()}"
            server.faults = Faults()
            assert duplicates(read(server.url, WORKSPACE), STACK) == [], f"seed {seed}"
        outcomes |= {e.outcome for e in server.log.entries}
    assert {"503", "429", "dropped_after"} <= outcomes  # the faults really happened
