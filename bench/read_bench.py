"""How many requests and how long reading a workspace takes, against the sandbox on loopback.

    python bench/read_bench.py [--sizes 1000,10000] [--latency-ms 50] [--concurrency 8]

For each size N it seeds a workspace of N tasks (a third with checklists, a quarter with tags,
half with kxplan markers, a tenth subtasks) through the sandbox's model layer, then reads it
with `read_live`: once with no added latency, once with `--latency-ms` per request. It prints
the requests (and the ⌈N/200⌉ + 3 bound), the wall time, and for the latency run the ideal
time requests ÷ concurrency × latency with the ratio to it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.sandbox import Faults, SandboxServer


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


def measure(server: SandboxServer, ws_id: str, n: int, concurrency: int) -> tuple[int, float]:
    """Read the workspace once; (requests, seconds). Checks the read was exact."""
    with KantataClient(server.url, "bench", max_concurrency=concurrency) as client:
        start = time.perf_counter()
        live = read_live(client, ws_id)
        elapsed = time.perf_counter() - start
    if len(live.tasks) != n or len({t.id for t in live.tasks}) != n:
        raise SystemExit(f"read {len(live.tasks)} tasks, expected {n}")
    return live.requests, elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    latency = args.latency_ms / 1000
    print(f"{'tasks':>7} {'latency':>8} {'requests':>8} {'bound':>6} {'wall s':>8} "
          f"{'ideal s':>8} {'ratio':>6}")  # fmt: skip
    for n in sizes:
        with SandboxServer() as server:
            t0 = time.perf_counter()
            ws_id = seed(server, n)
            seeded = time.perf_counter() - t0
            bound = math.ceil(n / 200) + 3
            requests, wall = measure(server, ws_id, n, args.concurrency)
            print(f"{n:>7} {'0 ms':>8} {requests:>8} {bound:>6} {wall:>8.2f} {'':>8} {'':>6}")
            server.faults = Faults(latency_ms=args.latency_ms)
            requests, wall = measure(server, ws_id, n, args.concurrency)
            ideal = requests / args.concurrency * latency
            print(f"{n:>7} {args.latency_ms:>5.0f} ms {requests:>8} {bound:>6} {wall:>8.2f} "
                  f"{ideal:>8.2f} {wall / ideal:>6.2f}")  # fmt: skip
            print(f"        (seeding {n} tasks took {seeded:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
