"""CPU time and peak memory of the `kxplan` process alone for a no-change plan, and its start-up.

    python bench/cpu.py [--tasks 10000 20000] [--runs 5]

For each size N it starts the sandbox in its own process, creates the 5-level tree of N tasks of
bench/apply_bench.py there, then runs `python -m kxplan plan MANIFEST --api-url URL` `--runs`
times. Each run is started from a tiny launcher process, so the child's `ru_maxrss` is its own
(a forked child otherwise inherits its parent's peak). Figures are medians of the runs: CPU
seconds (user + system) and peak RSS of the kxplan process; CPU is used, not wall time, so a
loaded machine does not skew them. `startup` is the same for `kxplan validate` of a one-task
manifest (imports and start-up, no request).

`measure(n_tasks)` returns the figures as a dict, for bench scripts that print them all.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _launch  # noqa: E402
from apply_bench import TOKEN, fresh_apply, sandbox_process, tree_manifest  # noqa: E402


def run_kxplan(args: list[str]) -> dict[str, Any]:
    """CPU seconds, peak RSS (MB) and exit code of one `python -m kxplan ARGS` process,
    started from bench/_launch.py (so its `ru_maxrss` is its own)."""
    env = {**_launch.installed_env(), "KANTATA_TOKEN": TOKEN}
    with tempfile.NamedTemporaryFile("r", suffix=".out") as out:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "_launch.py"), out.name, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cpu": got["cpu_s"], "rss_mb": got["peak_mb"], "exit": got["code"]}


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cpu_seconds": round(statistics.median(r["cpu"] for r in runs), 3),
        "peak_rss_mb": round(statistics.median(r["rss_mb"] for r in runs), 1),
        "exit_codes": sorted({r["exit"] for r in runs}),
        "runs": len(runs),
    }


def measure_startup(runs: int = 5) -> dict[str, Any]:
    """Medians for `kxplan validate` of a one-task manifest: start-up with no request."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.yaml"
        path.write_text(yaml.safe_dump(tree_manifest(5)), encoding="utf-8")
        return _medians([run_kxplan(["validate", str(path)]) for _ in range(runs)])


def measure(n_tasks: int, runs: int = 5) -> dict[str, Any]:
    """Medians of `runs` no-change plans of an `n_tasks`-task tree against a sandbox process."""
    with tempfile.TemporaryDirectory() as tmp, sandbox_process(0.0) as url:
        work = Path(tmp)
        fresh_apply(url, n_tasks, work)  # writes work/tree-N.yaml and creates it in the sandbox
        path = work / f"tree-{n_tasks}.yaml"
        args = ["plan", str(path), "--api-url", url, "--detailed-exitcode"]
        figures = _medians([run_kxplan(args) for _ in range(runs)])
    # --detailed-exitcode: 0 = no change; anything else means the figures are not a no-change plan.
    return {"tasks": n_tasks, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10000, 20000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    _launch.compile_kxplan()  # as `pip install` does: no measured run compiles kxplan
    print("startup (validate, 5 tasks):", json.dumps(measure_startup(args.runs)))
    for n in args.tasks:
        print(f"no-change plan, {n} tasks:", json.dumps(measure(n, args.runs)))


if __name__ == "__main__":
    main()
