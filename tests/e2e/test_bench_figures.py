"""bench/figures.py (docs/bench.md): the critical path computed from request intervals, and
the figure collection at a small size, its request counts held to their bounds (never time)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import bench_module

BENCH = Path(__file__).resolve().parents[2] / "bench"

critical = bench_module("_critical")
Span = critical.Span


# ---- the critical path, on hand-made request logs -------------------------------------


def test_requests_one_after_another_are_each_a_wave() -> None:
    log = [Span(0, 1, "GET /workspaces"), Span(1, 2, "GET /stories"), Span(2.5, 3.5, "PUT")]
    assert critical.waves(log) == 3


def test_requests_in_flight_together_are_one_wave() -> None:
    batch = [Span(0.0 + i * 0.01, 1.0 + i * 0.01, "POST /stories") for i in range(8)]
    after = Span(1.2, 2.2, "GET /stories")
    assert critical.waves([*batch, after]) == 2


def test_overlapping_requests_in_a_staircase_count_only_the_disjoint_ones() -> None:
    # Each overlaps its neighbours: at most every other one followed another.
    log = [Span(0, 2), Span(1, 3), Span(2, 4), Span(3, 5), Span(4, 6)]
    assert critical.waves(log) == 3


def test_a_long_request_does_not_hide_the_short_chain_beside_it() -> None:
    log = [Span(0, 10, "GET /stories"), Span(0, 1, "A"), Span(1, 2, "B"), Span(2, 3, "C")]
    chain = critical.critical_chain(log)
    assert [s.label for s in chain] == ["A", "B", "C"]


def test_the_order_of_the_log_does_not_matter() -> None:
    log = [Span(2, 3, "C"), Span(0, 1, "A"), Span(0.5, 1.5, "A2"), Span(1, 2, "B")]
    assert critical.waves(log) == 3
    assert critical.waves([]) == 0


def test_the_chain_reads_as_routes_with_repeats_folded() -> None:
    log = [Span(0, 1, "GET /workspaces"), *(Span(i, i + 1, "POST /stories") for i in (1, 2, 3))]
    assert critical.describe(critical.critical_chain(log)) == "GET /workspaces → POST /stories ×3"


def test_the_critical_path_is_the_longest_chain_of_round_trips_as_they_took() -> None:
    # Three quick reads one after another, or one slow create beside them: the create's 2.5 s
    # and the read after it are the longer chain, although the reads are more round trips.
    log = [Span(0, 1), Span(1, 2), Span(2, 2.5), Span(0.5, 3), Span(3, 4)]
    assert critical.critical_seconds(log) == pytest.approx(3.5)
    assert critical.critical_seconds([Span(0, 1), Span(0.5, 1.5)]) == pytest.approx(1.0)
    assert critical.critical_seconds([]) == 0


# ---- the figures at a small size --------------------------------------------------------


SMALL_BOOT, SMALL_PLAN = 60, 250


@pytest.fixture(scope="module")
def figures_module() -> Any:
    return bench_module("figures")


@pytest.fixture(scope="module")
def collected(figures_module: Any) -> dict[str, Any]:
    sizes = figures_module.Sizes(
        bootstraps=(SMALL_BOOT,), plans=(SMALL_PLAN,), fleet_workspaces=2, fleet_tasks=5
    )
    figures = figures_module.collect(sizes, latencies=(0.0,), runs=1)
    return {f.scenario: f for f in figures}


def _check(figure: Any, name: str) -> Any:
    return next(c for c in figure.checks if c.name == name)


def test_every_scenario_ran_and_holds_its_bounds(collected: dict[str, Any]) -> None:
    assert sorted(collected) == [
        "10% edit",
        "bootstrap",
        "fleet 2×5 bootstrap",
        "fleet 2×5 re-plan",
        "no-change plan",
    ]
    assert {s: f.failures for s, f in collected.items()} == {s: [] for s in collected}


def test_the_bootstrap_creates_each_level_in_batches_of_300(
    collected: dict[str, Any], figures_module: Any
) -> None:
    boot = collected["bootstrap"]
    levels = figures_module._apply_bench.level_sizes(SMALL_BOOT)
    assert boot.runs[0].by_route["POST /stories"] == sum(math.ceil(n / 300) for n in levels)
    target = _check(boot, "requests")
    assert not target.held
    assert target.top == len(levels) + 3 + boot.runs[0].status_ops
    # Held: that plus the lock's 5 requests and one count per level boundary, so a
    # bootstrap that nobody else writes to never looks keys up nor reads the lock per batch.
    safe = _check(boot, "requests with safety checks")
    assert safe.held and safe.ok and safe.top == target.top + 5 + len(levels) + 1
    # The bench's tree sets no status, so the status sets are not read; the lock is
    # released without reading it first (a read that showed it held is fresh): two under.
    assert "GET /task_status_sets" not in boot.runs[0].by_route
    assert boot.runs[0].requests == safe.top - 2


def test_the_edit_sends_one_put_per_renamed_task(collected: dict[str, Any]) -> None:
    edit = collected["10% edit"]
    assert edit.runs[0].by_route["PUT /stories/{id}"] == math.ceil(SMALL_BOOT / 10)
    assert "POST /stories" not in edit.runs[0].by_route


def test_the_no_change_plan_reads_within_pages_plus_three(collected: dict[str, Any]) -> None:
    plan = collected["no-change plan"]
    run = plan.runs[0]
    assert run.requests == sum(run.by_route.values())
    assert run.requests <= math.ceil(SMALL_PLAN / 200) + 3
    assert not [k for k in run.by_route if not k.startswith("GET ")]  # a plan only reads
    assert run.cpu_s > 0 and run.peak_mb > 0


def test_the_fleet_re_plan_holds_the_fleet_bounds(collected: dict[str, Any]) -> None:
    replan = collected["fleet 2×5 re-plan"]
    assert _check(replan, "requests").top == 2 * (1 + 1) + 1 + 3
    assert _check(replan, "GET /workspaces").got <= 2


def test_a_count_over_its_bound_fails_the_figure(figures_module: Any) -> None:
    m = figures_module
    run = m.Run(0, 9, {"GET /stories": 9}, 0, 0.0, 9, "", 1.0, 0.1, 0.5, 40.0, "")
    over = m.figure("no-change plan", 200, 0.0, [run], lambda r: m.plan_checks(200, r))
    assert over.failures == ["requests 9 (bound 4: OVER)"]
    missed = m.Check("requests", 9, 8, held=False)
    assert str(missed) == "requests 9 (target 8: over target)"


def test_the_ratios_divide_by_the_critical_path(figures_module: Any) -> None:
    run = figures_module.Run(0, 12, {}, 0, 50.0, 10, "", 0.75, 0.15, 0.5, 40.0, "", 0.5)
    assert run.ratio == pytest.approx(1.5)
    assert run.after_start_ratio == pytest.approx(1.2)


def test_the_launcher_reports_the_childs_memory_not_its_parents(figures_module: Any) -> None:
    ballast = b"x" * (160 * 1024 * 1024)  # this process now holds 160 MB
    m = figures_module
    with m.sandbox() as (server, recorder):
        run = m.launch(server, recorder, "plan", "--help")
    assert run.code == 0 and "Usage" in run.output
    assert 0 < run.peak_mb < 160
    assert len(ballast) > 0


def test_the_table_keeps_its_columns_when_a_figure_has_no_ratio(figures_module: Any) -> None:
    m = figures_module
    run = m.Run(0, 7, {"GET /stories": 7}, 0, 0.0, 3, "", 1.0, 0.1, 0.5, 40.0, "")
    row = m.row(m.figure("no-change plan", 1000, 0.0, [run], lambda r: m.plan_checks(1000, r)))
    assert len(row) == len(m.HEAD)
    assert row.split()[-6:] == ["-", "-", "0.10", "0.50", "40", "1"]


def test_the_interpreter_alone_is_measured_without_kxplan(
    figures_module: Any, tmp_path: Path
) -> None:
    # The baseline the figures are printed beside: the launcher's --python-only runs the
    # bare interpreter, which writes nothing (kxplan would print its usage or an error).
    out = tmp_path / "out.txt"
    done = subprocess.run(
        [sys.executable, str(BENCH / "_launch.py"), str(out), "--python-only"],
        capture_output=True,
        text=True,
        check=True,
    )
    cost = json.loads(done.stdout)
    assert cost["code"] == 0 and out.read_text() == ""
    assert cost["ended"] > cost["spawned"]
    line = figures_module.python_line(figures_module.python_alone(1))
    assert line.startswith("python alone (python -c pass, included in every figure): ")
