"""Every figure of docs/bench.md in one command, against the sandbox at 0 and 50 ms latency.

    python bench/figures.py [--quick] [--json] [--runs 3] [--latencies 0,50]

Scenarios: a fresh bootstrap of 1,000 and 5,000 tasks over 5 levels, a 10 % edit of each (one
task in ten renamed), a no-change plan of 10,000 and 20,000 tasks, and a fleet of 50
workspaces × 200 tasks (bench/fleet.py's manifest). `--quick`: small sizes, one run.

Each kxplan run is the real CLI (`python -m kxplan ...`) started from a tiny launcher
(bench/_launch.py), so its CPU time and peak memory are its own. The sandbox runs in this
process, on loopback, and timestamps every request (its `on_request`/`on_response` hooks);
bench/_critical.py turns those intervals into the critical path. For each run it reports
the requests (total and by "METHOD /route") against their bound, the waves of round trips
that had to follow one another, the critical path (the longest chain of round trips that
followed one another, each at the time it took: latency and server time), the wall time of the
kxplan process, wall ÷ critical path, the time from spawning kxplan to its first request,
and CPU seconds and peak MB of the kxplan process. Figures are medians over `--runs` runs;
request counts are exact. It exits 1 when a run fails or a count is over its bound.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from kxplan.sandbox import SandboxServer  # noqa: E402
from kxplan.sandbox.faults import Faults  # noqa: E402
from kxplan.sandbox.wire import Arrival, Exchange  # noqa: E402

TOKEN = "bench-token"
BULK_LIMIT = 300  # stories per create call (docs/apply.md)
PAGE_SIZE = 200  # stories per read page (docs/plan.md)
WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


def _sibling(name: str) -> ModuleType:
    """A bench/ script as a module (under a private name: `fleet` would shadow packages)."""
    key = f"_bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


_critical = _sibling("_critical")
_launcher = _sibling("_launch")
installed_env = _launcher.installed_env
PYTHON_ONLY = _launcher.PYTHON_ONLY
compile_kxplan = _launcher.compile_kxplan
_apply_bench = _sibling("apply_bench")
_fleet = _sibling("fleet")
Span = _critical.Span


# ---- sizes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sizes:
    """What to run: bootstrap (and 10 % edit) sizes, no-change plan sizes, the fleet."""

    bootstraps: tuple[int, ...] = (1000, 5000)
    plans: tuple[int, ...] = (10000, 20000)
    fleet_workspaces: int = 50
    fleet_tasks: int = 200


FULL = Sizes()
QUICK = Sizes(bootstraps=(200,), plans=(1000,), fleet_workspaces=5, fleet_tasks=20)


# ---- bounds (docs/bench.md, "Bounds") ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """A count held to a maximum. `held`: kxplan promises it today (a run over it fails the
    bench); otherwise it is a target of docs/bench.md, reported but not failed."""

    name: str
    got: int
    top: int
    held: bool = True

    @property
    def ok(self) -> bool:
        return self.got <= self.top

    def __str__(self) -> str:
        verdict = "ok" if self.ok else ("OVER" if self.held else "over target")
        kind = "bound" if self.held else "target"
        return f"{self.name} {self.got} ({kind} {self.top}: {verdict})"


def level_creates(tasks: int) -> int:
    """Story creates for a fresh 5-level tree of `tasks` tasks: Σ⌈n_level/300⌉."""
    return sum(math.ceil(n / BULK_LIMIT) for n in _apply_bench.level_sizes(tasks))


def read_bound(tasks: int) -> int:
    """Requests to read a workspace of `tasks` tasks: ⌈N/200⌉ + 3."""
    return math.ceil(tasks / PAGE_SIZE) + 3


#: What "no duplicates when two applies meet" costs a bootstrap that nobody else writes to
#: (docs/apply.md, "When two applies meet"): the workspace lock's requests (read, write and
#: read to take it; a write to release it, and a read before it when the last read of the
#: lock is older than 20 s, counted here; the peek before planning is the look-up's answer)
LOCK_REQUESTS = 5


def safety_checks(levels: int) -> int:
    """... and one count of the stack's stories before, between and after the levels."""
    return LOCK_REQUESTS + levels + 1


def bootstrap_checks(tasks: int, run: Run) -> list[Check]:
    """Story creates Σ⌈n_level/300⌉ (held); the whole bootstrap in Σ⌈n_level/300⌉ + 3 plus
    the status and set operations (the v2 target), and in that plus the safety checks
    (held: the lock and one count per level boundary, `safety_checks`)."""
    creates = level_creates(tasks)
    levels = sum(1 for n in _apply_bench.level_sizes(tasks) if n)
    target = creates + 3 + run.status_ops
    return [
        Check("POST /stories", run.by_route.get("POST /stories", 0), creates),
        Check("requests", run.requests, target, held=False),
        Check("requests with safety checks", run.requests, target + safety_checks(levels)),
    ]


def edit_checks(tasks: int, changed: int, run: Run) -> list[Check]:
    """One PUT per changed story (held); the read, those PUTs and the status and set
    operations, nothing else (target)."""
    return [
        Check("PUT /stories/{id}", run.by_route.get("PUT /stories/{id}", 0), changed),
        Check("requests", run.requests, read_bound(tasks) + changed + run.status_ops, held=False),
    ]


def plan_checks(tasks: int, run: Run) -> list[Check]:
    """A no-change plan is a read: ⌈N/200⌉ + 3 requests (held)."""
    return [Check("requests", run.requests, read_bound(tasks))]


# ---- one measured run ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """One kxplan run: exit code, requests, their timing, and the process's own cost."""

    code: int
    requests: int
    by_route: dict[str, int]
    status_ops: int  # writes to status sets and statuses
    latency_ms: float
    waves: int
    chain: str
    wall_s: float
    first_request_s: float | None
    cpu_s: float
    peak_mb: float
    output: str = field(repr=False)
    critical_s: float = 0.0  # the longest chain of round trips, each at the time it took

    @property
    def ratio(self) -> float | None:
        """Wall time ÷ critical path (None without requests)."""
        return self.wall_s / self.critical_s if self.critical_s else None

    @property
    def after_start_ratio(self) -> float | None:
        """(Wall time − time to the first request) ÷ critical path: the round trips' own
        efficiency, start-up left out (None without requests)."""
        if not self.critical_s or self.first_request_s is None:
            return None
        return (self.wall_s - self.first_request_s) / self.critical_s


class Recorder:
    """The sandbox's requests as `Span`s: arrival (before faults) to response sent."""

    def __init__(self, server: SandboxServer) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, tuple[float, str]] = {}
        self.spans: list[Any] = []
        server.on_request = self._arrived
        server.on_response = self._answered

    def _arrived(self, arrival: Arrival) -> None:
        with self._lock:
            label = f"{arrival.method} {arrival.route}"
            self._open[threading.get_ident()] = (time.monotonic(), label)

    def _answered(self, exchange: Exchange) -> None:
        end = time.monotonic()
        with self._lock:
            start, label = self._open.pop(threading.get_ident())
            self.spans.append(Span(start, end, label))

    def reset(self) -> None:
        with self._lock:
            self._open.clear()
            self.spans = []


def launch(
    server: SandboxServer, recorder: Recorder, *args: str, env: Mapping[str, str] | None = None
) -> Run:
    """Run `kxplan ARGS --api-url URL` from the launcher (`env`: variables to add); measure
    it and its requests."""
    server.log.reset()
    recorder.reset()
    env = {**installed_env(), "KANTATA_TOKEN": TOKEN, **(env or {})}
    with tempfile.NamedTemporaryFile("r", suffix=".out", encoding="utf-8") as out:
        done = subprocess.run(
            [sys.executable, str(HERE / "_launch.py"), out.name, *args, "--api-url", server.url],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        output = Path(out.name).read_text(encoding="utf-8")
    cost = json.loads(done.stdout)
    stats = server.log.stats()
    spans = list(recorder.spans)
    chain = _critical.critical_chain(spans)
    first = min((s.start for s in spans), default=None)
    status_ops = sum(
        n for key, n in stats["by_route"].items() if key.split()[0] in WRITES and "status" in key
    )
    return Run(
        code=int(cost["code"]),
        requests=int(stats["requests"]),
        by_route=dict(stats["by_route"]),
        status_ops=status_ops,
        latency_ms=server.faults.latency_ms,
        waves=len(chain),
        critical_s=_critical.critical_seconds(spans),
        chain=_critical.describe(chain),
        wall_s=cost["ended"] - cost["spawned"],
        first_request_s=None if first is None else first - cost["spawned"],
        cpu_s=float(cost["cpu_s"]),
        peak_mb=float(cost["peak_mb"]),
        output=output,
    )


# ---- scenarios -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """One scenario at one latency: its runs, the checks on their counts, medians."""

    scenario: str
    tasks: int
    latency_ms: float
    runs: tuple[Run, ...]
    checks: tuple[Check, ...]  # per name, the run with the highest count

    @property
    def failures(self) -> list[str]:
        """Runs that failed and held bounds exceeded (targets missed are not failures)."""
        out = [f"run {i + 1} exited {r.code}" for i, r in enumerate(self.runs) if r.code != 0]
        return out + [str(c) for c in self.checks if c.held and not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def median(self, pick: Callable[[Run], float | None]) -> float | None:
        values = [v for v in (pick(r) for r in self.runs) if v is not None]
        return statistics.median(values) if values else None

    def to_json(self) -> dict[str, Any]:
        last = self.runs[-1]
        return {
            "scenario": self.scenario,
            "tasks": self.tasks,
            "latency_ms": self.latency_ms,
            "runs": len(self.runs),
            "requests": last.requests,
            "by_route": last.by_route,
            "status_ops": last.status_ops,
            "checks": [
                {"name": c.name, "got": c.got, "max": c.top, "held": c.held, "ok": c.ok}
                for c in self.checks
            ],
            "waves": self.median(lambda r: r.waves),
            "critical_path_s": self.median(lambda r: r.critical_s),
            "wall_s": self.median(lambda r: r.wall_s),
            "ratio": self.median(lambda r: r.ratio),
            "after_start_ratio": self.median(lambda r: r.after_start_ratio),
            "first_request_s": self.median(lambda r: r.first_request_s),
            "cpu_s": self.median(lambda r: r.cpu_s),
            "peak_mb": self.median(lambda r: r.peak_mb),
            "critical_chain": last.chain,
            "failures": self.failures,
        }


def figure(scenario: str, tasks: int, latency_ms: float, runs: list[Run],
           checks: Callable[[Run], list[Check]]) -> Figure:  # fmt: skip
    """A Figure whose checks are, per name, the worst of the runs'."""
    worst: dict[str, Check] = {}
    for run in runs:
        for check in checks(run):
            if check.name not in worst or check.got > worst[check.name].got:
                worst[check.name] = check
    return Figure(scenario, tasks, latency_ms, tuple(runs), tuple(worst.values()))


@contextmanager
def sandbox(workspaces: tuple[str, ...] = ("Bench",)) -> Iterator[tuple[SandboxServer, Recorder]]:
    with SandboxServer() as server:
        for title in workspaces:
            server.model.create_workspace(title)
        yield server, Recorder(server)


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def edited(doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """`doc` with every tenth task renamed; (the new manifest, how many tasks changed)."""
    changed = 0
    stack = list(doc["tasks"])
    seen = 0
    while stack:
        task = stack.pop()
        if seen % 10 == 0:
            task["title"] += " (v2)"
            changed += 1
        seen += 1
        stack.extend(task.get("children", ()))
    return doc, changed


def bootstrap_and_edit(tasks: int, latency_ms: float, runs: int, work: Path) -> list[Figure]:
    """`runs` × (a fresh bootstrap of `tasks` tasks, then a 10 % edit), at `latency_ms`."""
    boots: list[Run] = []
    edits: list[Run] = []
    changed = 0
    for _ in range(runs):
        doc = _apply_bench.tree_manifest(tasks)
        path = _write(work / f"boot-{tasks}.yaml", doc)
        with sandbox() as (server, recorder):
            server.faults = Faults(latency_ms=latency_ms)
            boots.append(launch(server, recorder, "apply", str(path), "--auto-approve"))
            new_doc, changed = edited(doc)
            path = _write(work / f"edit-{tasks}.yaml", new_doc)
            edits.append(launch(server, recorder, "apply", str(path), "--auto-approve"))
    return [
        figure("bootstrap", tasks, latency_ms, boots, lambda r: bootstrap_checks(tasks, r)),
        figure("10% edit", tasks, latency_ms, edits, lambda r: edit_checks(tasks, changed, r)),
    ]


def handshakes(tasks: int, latency_ms: float, runs: int, work: Path) -> list[Figure]:
    """`runs` fresh bootstraps of `tasks` tasks at `latency_ms` where each new connection's
    handshakes take two round trips (TCP and TLS, the sandbox's `connect_ms`), with the
    connections opened while the manifest loads (kxplan.client._early) and without."""
    figures: list[Figure] = []
    for name, env in (
        ("handshakes, early connect", {}),
        ("handshakes, no early conn", {"KXPLAN_EARLY_CONNECT": "0"}),
    ):
        done: list[Run] = []
        for _ in range(runs):
            path = _write(work / f"hs-{tasks}.yaml", _apply_bench.tree_manifest(tasks))
            with sandbox() as (server, recorder):
                server.faults = Faults(latency_ms=latency_ms, connect_ms=2 * latency_ms)
                done.append(launch(server, recorder, "apply", str(path), "--auto-approve", env=env))
        figures.append(figure(name, tasks, latency_ms, done, lambda r: bootstrap_checks(tasks, r)))
    return figures


def no_change_plans(
    tasks: int, latencies: tuple[float, ...], runs: int, work: Path
) -> list[Figure]:
    """Bootstrap `tasks` tasks at no added latency, then `runs` no-change plans per latency."""
    path = _write(work / f"plan-{tasks}.yaml", _apply_bench.tree_manifest(tasks))
    figures: list[Figure] = []
    with sandbox() as (server, recorder):
        setup = launch(server, recorder, "apply", str(path), "--auto-approve")
        if setup.code != 0:
            raise SystemExit(f"setting up {tasks} tasks failed:\n{setup.output[-2000:]}")
        for latency in latencies:
            server.faults = Faults(latency_ms=latency)
            plan = ("plan", str(path), "--detailed-exitcode")
            done = [launch(server, recorder, *plan) for _ in range(runs)]
            checks = lambda r: plan_checks(tasks, r)  # noqa: E731
            figures.append(figure("no-change plan", tasks, latency, done, checks))
    return figures


def fleet(workspaces: int, tasks: int, latency_ms: float, runs: int, work: Path) -> list[Figure]:
    """bench/fleet.py's fleet: `runs` × (bootstrap, then a no-change re-plan)."""
    path = work / "fleet.yaml"
    path.write_text(_fleet.fleet_manifest(workspaces, tasks), encoding="utf-8")
    titles = tuple(f"Client {i:03d}" for i in range(workspaces))
    boots: list[Run] = []
    plans: list[Run] = []
    for _ in range(runs):
        with sandbox(titles) as (server, recorder):
            server.faults = Faults(latency_ms=latency_ms)
            boots.append(launch(server, recorder, "apply", str(path), "--auto-approve"))
            plans.append(launch(server, recorder, "plan", str(path), "--detailed-exitcode"))
    shape = _fleet.Figures(workspaces, tasks, None, None)
    creates = workspaces * math.ceil(tasks / BULK_LIMIT)
    name = f"fleet {workspaces}×{tasks}"
    total = workspaces * tasks

    def boot_checks(run: Run) -> list[Check]:
        return [Check("POST /stories", run.by_route.get("POST /stories", 0), creates)]

    def plan_checks(run: Run) -> list[Check]:
        lists = run.by_route.get("GET /workspaces", 0)
        return [
            Check("requests", run.requests, shape.bound),
            Check("GET /workspaces", lists, shape.lists_bound),
        ]

    return [
        figure(f"{name} bootstrap", total, latency_ms, boots, boot_checks),
        figure(f"{name} re-plan", total, latency_ms, plans, plan_checks),
    ]


def python_alone(runs: int) -> dict[str, float]:
    """Medians of spawning the bare interpreter (`python -c pass`) from the launcher: what
    every run pays before kxplan's first line. It depends on the machine (a .pth file in
    site-packages runs at every start), so it is printed beside the figures, which include it."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(max(3, runs)):
        with tempfile.NamedTemporaryFile("r", suffix=".out") as out:
            done = subprocess.run(
                [sys.executable, str(HERE / "_launch.py"), out.name, PYTHON_ONLY],
                capture_output=True,
                text=True,
                env=installed_env(),
                check=True,
            )
        cost = json.loads(done.stdout)
        walls.append(cost["ended"] - cost["spawned"])
        cpus.append(cost["cpu_s"])
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def python_line(alone: Mapping[str, float]) -> str:
    return (
        f"python alone (python -c pass, included in every figure): "
        f"{alone['wall_s']:.3f} s wall, {alone['cpu_s']:.3f} s CPU"
    )


def collect(
    sizes: Sizes,
    latencies: tuple[float, ...],
    runs: int,
    progress: Callable[[Figure], None] = lambda f: None,
) -> list[Figure]:
    """Every scenario at every latency; `progress` sees each figure as it is done."""
    figures: list[Figure] = []

    def add(done: list[Figure]) -> None:
        for f in done:
            progress(f)
        figures.extend(done)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for latency in latencies:
            for tasks in sizes.bootstraps:
                add(bootstrap_and_edit(tasks, latency, runs, work))
            if latency:
                add(handshakes(sizes.bootstraps[0], latency, runs, work))
        for tasks in sizes.plans:
            add(no_change_plans(tasks, latencies, runs, work))
        for latency in latencies:
            add(fleet(sizes.fleet_workspaces, sizes.fleet_tasks, latency, runs, work))
    return figures


def _progress(f: Figure) -> None:
    """A figure as it is done, on stderr (a full run takes minutes; nothing is lost if it
    is stopped part-way)."""
    print("done: " + row(f), *details(f), sep="\n", file=sys.stderr, flush=True)


# ---- report ----------------------------------------------------------------------------


def _num(value: float | None, fmt: str) -> str:
    """`value` in `fmt`, or "-" right-aligned to the format's width when there is none."""
    width = int(fmt.split(".")[0] or 0)
    return "-".rjust(width) if value is None else format(value, fmt)


HEAD = (
    f"{'scenario':<26} {'tasks':>6} {'lat':>5} {'req':>5} {'waves':>5} {'crit s':>6} "
    f"{'wall s':>6} {'ratio':>5} {'r-1st':>5} {'1st s':>5} {'cpu s':>5} {'MB':>5} {'runs':>4}"
)


def row(f: Figure) -> str:
    """The figure's medians on one line, under HEAD."""
    j = f.to_json()
    return (
        f"{f.scenario:<26} {f.tasks:>6} {f.latency_ms:>3.0f}ms {j['requests']:>5} "
        f"{_num(j['waves'], '5.0f')} {_num(j['critical_path_s'], '6.2f')} "
        f"{_num(j['wall_s'], '6.2f')} {_num(j['ratio'], '5.2f')} "
        f"{_num(j['after_start_ratio'], '5.2f')} "
        f"{_num(j['first_request_s'], '5.2f')} {_num(j['cpu_s'], '5.2f')} "
        f"{_num(j['peak_mb'], '5.0f')} {len(f.runs):>4}"
    )


def details(f: Figure) -> list[str]:
    """The figure's checks, requests by route and (with latency) its critical path."""
    last = f.runs[-1]
    lines = [
        f"{f.scenario} of {f.tasks} tasks at {f.latency_ms:.0f} ms:",
        "    " + "; ".join(str(c) for c in f.checks),
        "    " + ", ".join(f"{k} {v}" for k, v in last.by_route.items()),
    ]
    if f.latency_ms:
        lines.append(f"    critical path ({last.waves} waves): {last.chain}")
    return lines


def table(figures: list[Figure]) -> str:
    """One line per figure (medians), then each figure's details."""
    lines = [HEAD, *(row(f) for f in figures), ""]
    for f in figures:
        lines += details(f)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--latencies", default="0,50", help="ms, comma-separated")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    runs = args.runs or (1 if args.quick else 3)
    latencies = tuple(float(v) for v in args.latencies.split(","))
    compile_kxplan()
    alone = python_alone(runs)
    print(python_line(alone), file=sys.stderr, flush=True)
    figures = collect(sizes, latencies, runs, _progress)
    if args.json:
        print(json.dumps([f.to_json() for f in figures], indent=2))
    else:
        print(python_line(alone))
        print(table(figures))
    bad = [f for f in figures if not f.ok]
    for f in bad:
        print(
            f"{f.scenario} {f.tasks} @ {f.latency_ms:.0f} ms: {'; '.join(f.failures)}",
            file=sys.stderr,
        )
        print(f.runs[-1].output[-1500:], file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
