"""A fleet against the sandbox: bootstrap W workspaces × N tasks, then a no-change re-plan.

    python bench/fleet.py [--workspaces 50] [--tasks 200] [--latency-ms 50]

    python bench/fleet.py --index [--account 2000] [--titles 1,3,50]

It starts a sandbox on loopback with `--latency-ms` per request, creates the W workspaces
(through the sandbox's model, as if people had made them), writes a fleet manifest of W
entries over one template of N top-level tasks (`for_each`), then runs the CLI in this
process: `kxplan apply FLEET --auto-approve` (the bootstrap, verification included) and
`kxplan plan FLEET --detailed-exitcode` (nothing to do). For each it prints the requests
the sandbox served (total, and `GET /workspaces`) and the wall time; for the re-plan also
the fleet bounds of docs/fleet.md, "Requests": at most W × (⌈N/200⌉ + 1) + ⌈W/200⌉ + 3
requests, of which at most ⌈W/200⌉ + 1 are `GET /workspaces`.

`--index` measures the workspace index instead: an account of A workspaces, and a fleet
naming T of them by title (one task each); `kxplan plan` of it, counting `GET /workspaces`
listings (page 1 of the index, its other pages, `matching` lookups) against min(⌈A/200⌉,
1 + T) (docs/fleet.md, "Requests").
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kxplan.cli import main
from kxplan.sandbox import SandboxServer
from kxplan.sandbox.faults import Faults
from kxplan.sandbox.wire import Arrival

TOKEN = "bench-token"


@dataclass(frozen=True, slots=True)
class Run:
    """One CLI run: its exit code, requests served (total, GET /workspaces), wall time."""

    code: int
    requests: int
    workspace_lists: int
    seconds: float
    out: str


@dataclass(frozen=True, slots=True)
class Figures:
    workspaces: int
    tasks: int
    bootstrap: Run
    replan: Run

    @property
    def bound(self) -> int:
        """Requests a no-change plan of the fleet may take."""
        w, n = self.workspaces, self.tasks
        return w * (math.ceil(n / 200) + 1) + math.ceil(w / 200) + 3

    @property
    def lists_bound(self) -> int:
        """`GET /workspaces` requests a no-change plan of the fleet may take."""
        return math.ceil(self.workspaces / 200) + 1


def fleet_manifest(workspaces: int, tasks: int) -> str:
    entries = "\n".join(
        f'  - workspace: "Client {i:03d}"\n    vars: {{client: "Client {i:03d}"}}'
        for i in range(workspaces)
    )
    items = ", ".join(str(i) for i in range(tasks))
    return (
        "version: 1\nname: bench-fleet\nvars:\n  client: Example\n"
        f"workspaces:\n{entries}\n"
        "tasks:\n"
        "  - key: task-${each}\n"
        f"    for_each: [{items}]\n"
        "    title: Task ${each} for ${client}\n"
    )


def _cli(server: SandboxServer, *args: str) -> Run:
    server.log.reset()
    out, err = io.StringIO(), io.StringIO()
    code = 0
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([*args, "--api-url", str(server.url)])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    seconds = time.perf_counter() - start
    total = len(server.log.entries)
    lists = server.log.count("GET", "/workspaces")
    return Run(code, total, lists, seconds, out.getvalue() + err.getvalue())


@contextlib.contextmanager
def _token() -> Iterator[None]:
    """KANTATA_TOKEN set for the runs, as it was afterwards."""
    before = os.environ.get("KANTATA_TOKEN")
    os.environ["KANTATA_TOKEN"] = TOKEN
    try:
        yield
    finally:
        if before is None:
            del os.environ["KANTATA_TOKEN"]
        else:
            os.environ["KANTATA_TOKEN"] = before


def run_bench(workspaces: int, tasks: int, latency_ms: float = 0.0) -> Figures:
    """Bootstrap and re-plan a fleet of `workspaces` × `tasks` against a fresh sandbox."""
    with _token(), tempfile.TemporaryDirectory() as tmp, SandboxServer() as server:
        for i in range(workspaces):
            server.model.create_workspace(f"Client {i:03d}")
        path = Path(tmp) / "fleet.yaml"
        path.write_text(fleet_manifest(workspaces, tasks), encoding="utf-8")
        server.faults = Faults(latency_ms=latency_ms)
        bootstrap = _cli(server, "apply", str(path), "--auto-approve")
        replan = _cli(server, "plan", str(path), "--detailed-exitcode")
    return Figures(workspaces, tasks, bootstrap, replan)


def report(f: Figures) -> str:
    b, r = f.bootstrap, f.replan
    verdict = "within" if r.requests <= f.bound else "OVER"
    lists = "within" if r.workspace_lists <= f.lists_bound else "OVER"
    return "\n".join(
        [
            f"fleet of {f.workspaces} workspaces × {f.tasks} tasks",
            f"  bootstrap (apply):  exit {b.code}, {b.requests} requests "
            f"({b.workspace_lists} GET /workspaces), {b.seconds:.2f} s",
            f"  no-change re-plan:  exit {r.code}, {r.requests} requests "
            f"(bound {f.bound}: {verdict}), {r.workspace_lists} GET /workspaces "
            f"(bound {f.lists_bound}: {lists}), {r.seconds:.2f} s",
        ]
    )


@dataclass(frozen=True, slots=True)
class IndexFigures:
    """One `kxplan plan` of a fleet naming `titles` of an account's `account` workspaces."""

    account: int
    titles: int
    run: Run
    matching: int  # of the run's GET /workspaces listings, the `matching` lookups

    @property
    def bound(self) -> int:
        """GET /workspaces listings the titles may cost: min(⌈A/200⌉, 1 + T)."""
        return min(math.ceil(self.account / 200), 1 + self.titles) if self.titles > 1 else 1


def index_bench(account: int, titles: tuple[int, ...]) -> list[IndexFigures]:
    """For each T of `titles`: plan a fleet of T title-named workspaces of an account of
    `account` workspaces (one sandbox for all), counting `GET /workspaces`."""
    out = []
    with _token(), tempfile.TemporaryDirectory() as tmp, SandboxServer() as server:
        for i in range(account):
            server.model.create_workspace(f"Client {i:04d} Onboarding")
        for t in titles:
            path = Path(tmp) / f"fleet-{t}.yaml"
            path.write_text(_index_fleet(account, t), encoding="utf-8")
            matching: list[str] = []
            server.on_request = functools.partial(_note_matching, seen=matching)
            run = _cli(server, "plan", str(path))
            server.on_request = None
            out.append(IndexFigures(account, t, run, len(matching)))
    return out


def _note_matching(arrival: Arrival, seen: list[str]) -> None:
    if (arrival.method, arrival.route) == ("GET", "/workspaces") and "matching" in arrival.params:
        seen.append(arrival.params["matching"])


def _index_fleet(account: int, titles: int) -> str:
    """A fleet of `titles` workspaces spread over the account, one task each."""
    step = max(1, account // max(titles, 1))
    entries = "\n".join(
        f'  - workspace: "Client {i * step:04d} Onboarding"\n    vars: {{n: "{i}"}}'
        for i in range(titles)
    )
    return (
        "version: 1\nname: index-bench\nvars:\n  n: '0'\n"
        f"workspaces:\n{entries}\n"
        "tasks:\n  - key: kickoff\n    title: Kickoff ${n}\n"
    )


def index_report(figures: list[IndexFigures]) -> str:
    lines = [f"workspace index, account of {figures[0].account} workspaces" if figures else ""]
    for f in figures:
        verdict = "within" if f.run.workspace_lists <= f.bound else "OVER"
        lines.append(
            f"  {f.titles:>3} titles: exit {f.run.code}, {f.run.workspace_lists} GET /workspaces "
            f"({f.matching} matching), bound {f.bound}: {verdict}; "
            f"{f.run.requests} requests in all, {f.run.seconds:.2f} s"
        )
    return "\n".join(lines)


def main_bench(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--index", action="store_true", help="measure the workspace index")
    parser.add_argument("--account", type=int, default=2000)
    parser.add_argument("--titles", default="1,3,50")
    args = parser.parse_args(argv)
    if args.index:
        found = index_bench(args.account, tuple(int(t) for t in args.titles.split(",")))
        print(index_report(found))
        return 0 if all(f.run.code in (0, 2) for f in found) else 1
    figures = run_bench(args.workspaces, args.tasks, args.latency_ms)
    print(report(figures))
    if figures.bootstrap.code != 0 or figures.replan.code != 0:
        print(figures.bootstrap.out[-2000:] + figures.replan.out[-2000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
