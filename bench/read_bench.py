"""How many requests and how long reading a workspace takes, against the sandbox on loopback.

    python bench/read_bench.py [--sizes 1000,10000] [--latency-ms 50] [--concurrency 8]

For each size N it seeds a workspace of N tasks (a third with checklists, a quarter with tags,
half with kxplan markers, a tenth subtasks) through the sandbox's model layer, then reads it
with `read_live`: once with no added latency, once with `--latency-ms` per request. The sandbox
runs in a child process, so its CPU does not compete with kxplan's for one interpreter.
Columns: requests (and the ⌈N/200⌉ + 3 bound), wall time, kxplan's own CPU time; for the
latency run also the ideal time requests ÷ concurrency × latency, the ratio to it, and the
floor set by the round trip that must finish before pages 2..n are known:
(1 + ⌈(pages − 1) / concurrency⌉) × latency.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.sandbox import SandboxServer


def items(n: int) -> list[dict[str, Any]]:
    """Create bodies for `n` top-level stories with checklists, tags and markers."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        item: dict[str, Any] = {"title": f"Task {i:06d}"}
        if i % 3 == 0:
            item["checklist"] = [f"step {i}a", f"step {i}b", f"step {i}c"]
        if i % 4 == 0:
            item["tag_list"] = f"phase-{i % 5},client"
        if i % 2 == 0:
            item["external_reference"] = {
                "service_name": "kxplan",
                "service_model": "bench",
                "service_model_ref": f"task-{i}",
            }
        out.append(item)
    return out


def seed(server: SandboxServer, n: int) -> str:
    """A workspace of `n` stories (a tenth of them subtasks); its id."""
    ws = server.model.create_workspace(f"Bench {n}")
    tops = n - n // 10
    ids = server.model.create_stories(ws["id"], items(tops))
    subs = [{"title": f"Sub {i}", "parent_id": int(ids[i % tops])} for i in range(n - tops)]
    if subs:
        server.model.create_stories(ws["id"], subs)
    return str(ws["id"])


def serve(n: int, conn: Connection) -> None:
    """Child process: seed a sandbox with `n` stories, report (url, workspace id, seconds),
    serve until told to stop. The server gets its own process (and core), as Kantata would."""
    with SandboxServer() as server:
        t0 = time.perf_counter()
        ws_id = seed(server, n)
        conn.send((server.url, ws_id, time.perf_counter() - t0))
        conn.recv()


def set_latency(url: str, latency_ms: float) -> None:
    """Set the sandbox's simulated latency through its control endpoint."""
    root = url.split("/api/v1")[0]
    httpx.put(f"{root}/__sandbox/faults", json={"latency_ms": latency_ms}).raise_for_status()


def measure(url: str, ws_id: str, n: int, concurrency: int) -> tuple[int, float, float]:
    """Read the workspace once; (requests, wall seconds, kxplan CPU seconds). Checks the read
    was exact."""
    with KantataClient(url, "bench", max_concurrency=concurrency) as client:
        start, cpu = time.perf_counter(), time.process_time()
        live = read_live(client, ws_id)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if len(live.tasks) != n or len({t.id for t in live.tasks}) != n:
        raise SystemExit(f"read {len(live.tasks)} tasks, expected {n}")
    return live.requests, elapsed, cpu


def report(url: str, ws_id: str, n: int, concurrency: int, latency_ms: float) -> None:
    """Print the read at no added latency and at `latency_ms`, against the ideal time."""
    bound = math.ceil(n / 200) + 3
    requests, wall, cpu = measure(url, ws_id, n, concurrency)
    print(f"{n:>7} {'0 ms':>8} {requests:>8} {bound:>6} {wall:>8.2f} {cpu:>6.2f}")
    set_latency(url, latency_ms)
    requests, wall, cpu = measure(url, ws_id, n, concurrency)
    ideal = requests / concurrency * latency_ms / 1000
    # Page 1 must answer before pages 2..n are known: the dependency chain is the floor.
    pages = requests - 2
    floor = (1 + math.ceil((pages - 1) / concurrency)) * latency_ms / 1000
    print(f"{n:>7} {latency_ms:>5.0f} ms {requests:>8} {bound:>6} {wall:>8.2f} {cpu:>6.2f} "
          f"{ideal:>8.2f} {wall / ideal:>6.2f} {floor:>8.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'tasks':>7} {'latency':>8} {'requests':>8} {'bound':>6} {'wall s':>8} {'cpu s':>6} "
          f"{'ideal s':>8} {'ratio':>6} {'floor s':>8}")  # fmt: skip
    for n in sizes:
        parent, child = multiprocessing.Pipe()
        proc = multiprocessing.Process(target=serve, args=(n, child))
        proc.start()
        try:
            url, ws_id, seeded = parent.recv()
            report(url, ws_id, n, args.concurrency, args.latency_ms)
            print(f"        (seeding {n} tasks took {seeded:.1f} s)", file=sys.stderr)
        finally:
            parent.send("stop")
            proc.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
