"""Apply benchmark: requests and time for a fresh 1,000-task / 5-level apply, and CPU time and
peak memory of kxplan itself for a no-change plan of 10,000 tasks.

    python bench/apply_bench.py [--tasks 1000] [--plan-tasks 10000] [--latency-ms 0]

`--plan-tasks 0` skips the no-change plan; `--latency-ms` applies to the fresh apply and
the rename-every-task apply (whose time is compared with requests ÷ concurrency × latency).

The sandbox runs in a separate process so the figures are kxplan's alone. Prints figures;
asserts nothing (the tests hold the limits).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kxplan._runtime import tune_gc  # noqa: E402
from kxplan.apply import apply_plan  # noqa: E402
from kxplan.changes.batches import BULK_LIMIT  # noqa: E402
from kxplan.client import KantataClient  # noqa: E402
from kxplan.live import read_live  # noqa: E402
from kxplan.manifest import load_manifest  # noqa: E402
from kxplan.model import PlanOptions  # noqa: E402
from kxplan.planner import build_plan  # noqa: E402

TOKEN = "bench"
LEVEL_SHARES = (0.01, 0.04, 0.15, 0.30, 0.50)  # tasks per level (5 levels), of the total

_SERVER = """
import sys, time
from kxplan.sandbox import Faults, SandboxServer
faults = Faults(latency_ms=float(sys.argv[2]))
server = SandboxServer(":memory:", port=int(sys.argv[1]), faults=faults)
server.start()
server.model.create_workspace("Bench")
print(server.url, flush=True)
while True:
    time.sleep(3600)
"""


def level_sizes(total: int) -> list[int]:
    """Tasks per level for a 5-level tree of `total` tasks (the last level takes the rest)."""
    sizes = [max(1, int(total * share)) for share in LEVEL_SHARES[:-1]]
    return [*sizes, total - sum(sizes)]


def tree_manifest(total: int, name: str = "bench") -> dict[str, Any]:
    """A manifest of `total` tasks over 5 levels; each task has tags and a 2-item checklist."""
    levels: list[list[dict[str, Any]]] = []
    for depth, size in enumerate(level_sizes(total)):
        row = [
            {
                "key": f"l{depth}-{i}",
                "title": f"Task {depth}.{i}",
                "tags": [f"level-{depth}"],
                "checklist": ["Prepare", "Review"],
            }
            for i in range(size)
        ]
        if levels:
            parents = levels[-1]
            for i, task in enumerate(row):
                parents[i % len(parents)].setdefault("children", []).append(task)
        levels.append(row)
    return {"version": 1, "name": name, "workspace": "Bench", "tasks": levels[0]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sandbox_process(latency_ms: float) -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(free_port()), str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()


def fresh_apply(url: str, total: int, workdir: Path) -> dict[str, Any]:
    path = workdir / f"tree-{total}.yaml"
    path.write_text(yaml.safe_dump(tree_manifest(total), sort_keys=False), encoding="utf-8")
    manifest = load_manifest(path)
    with KantataClient(url, TOKEN) as client:
        live = read_live(client, "Bench")
        plan = build_plan(manifest, live, PlanOptions())
        start = time.perf_counter()
        result = apply_plan(plan, client)
        seconds = time.perf_counter() - start
        by_method = client.requests_by_method
    bound = sum(math.ceil(n / BULK_LIMIT) for n in level_sizes(total))
    return {
        "tasks": total,
        "levels": level_sizes(total),
        "apply_requests": result.requests,
        "bulk_bound": bound,
        "by_method": by_method,
        "seconds": round(seconds, 2),
    }


def edit_apply(url: str, total: int, workdir: Path, latency_ms: float) -> dict[str, Any]:
    """Rename every task of the fresh tree: one PUT each, run concurrently."""
    doc = tree_manifest(total)
    stack = list(doc["tasks"])
    while stack:
        task = stack.pop()
        task["title"] += " (v2)"
        stack.extend(task.get("children", ()))
    path = workdir / f"tree-{total}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    manifest = load_manifest(path)
    with KantataClient(url, TOKEN) as client:
        plan = build_plan(manifest, read_live(client, "Bench"), PlanOptions())
        start = time.perf_counter()
        result = apply_plan(plan, client)
        seconds = time.perf_counter() - start
        concurrency = client.max_concurrency
    ideal = result.requests / concurrency * latency_ms / 1000
    return {
        "updates": len(plan.actionable),
        "apply_requests": result.requests,
        "seconds": round(seconds, 2),
        "ideal_seconds": round(ideal, 2),
        "ratio": round(seconds / ideal, 2) if ideal else None,
    }


def no_change_plan(url: str, path: Path) -> dict[str, Any]:
    """Load, read and plan (nothing to do), measuring this process's CPU time and peak RSS."""
    cpu = time.process_time()
    wall = time.perf_counter()
    manifest = load_manifest(path)
    with KantataClient(url, TOKEN) as client:
        live = read_live(client, "Bench")
        plan = build_plan(manifest, live, PlanOptions())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "tasks": len(live.tasks),
        "changes": len(plan.actionable),
        "read_requests": live.requests,
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--plan-tasks", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--measure-plan", nargs=2, metavar=("URL", "MANIFEST"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.measure_plan:  # child process: only the planning side in this process
        tune_gc()  # as the `kxplan` command does
        print(json.dumps(no_change_plan(args.measure_plan[0], Path(args.measure_plan[1]))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with sandbox_process(args.latency_ms) as url:
            print("fresh apply:", json.dumps(fresh_apply(url, args.tasks, work)))
            edit = edit_apply(url, args.tasks, work, args.latency_ms)
            print("rename every task:", json.dumps(edit))
        if args.plan_tasks <= 0:
            return
        with sandbox_process(0.0) as url:
            created = fresh_apply(url, args.plan_tasks, work)
            print("setup for the no-change plan:", json.dumps(created))
            path = work / f"tree-{args.plan_tasks}.yaml"
            child = subprocess.run(
                [sys.executable, __file__, "--measure-plan", url, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            print("no-change plan:", child.stdout.strip())


if __name__ == "__main__":
    main()
