"""bench/fleet.py at a small size: the fleet bootstraps, re-plans to nothing, and the
requests it reports are held to the fleet bounds (docs/fleet.md, "Requests")."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.support import bench_module


@pytest.fixture(scope="module")
def figures() -> Any:
    return bench_module("fleet").run_bench(5, 20)


def test_the_bench_bootstraps_the_fleet_and_the_replan_is_empty(figures: Any) -> None:
    f = figures
    assert f.bootstrap.code == 0, f.bootstrap.out
    assert f.bootstrap.out.count("Verified: the workspace matches the manifest.") == 5
    assert f.replan.code == 0, f.replan.out
    assert "Fleet: 5 workspaces, 0 ok, 5 no changes, 0 failed" in f.replan.out


def test_the_bench_prints_the_bounds_of_a_no_change_fleet_plan(figures: Any) -> None:
    text = bench_module("fleet").report(figures)
    bound = 5 * (math.ceil(20 / 200) + 1) + math.ceil(5 / 200) + 3
    assert f"(bound {bound}: " in text
    assert "(bound 2: " in text  # ⌈W/200⌉ + 1 GET /workspaces


def test_each_workspace_reads_its_stories_in_one_page(figures: Any) -> None:
    """Per workspace of 20 tasks: one page of stories, and no request per task."""
    f = figures
    assert f.replan.requests <= 5 * (math.ceil(20 / 200) + 2) + 3


def test_a_no_change_fleet_plan_is_within_the_fleet_bounds(figures: Any) -> None:
    f = figures
    assert f.replan.requests <= f.bound
    assert f.replan.workspace_lists <= f.lists_bound
