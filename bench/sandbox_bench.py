"""How fast is the sandbox? Prints the time of a 1,000-story bulk create and a 10,000-story read.

    python bench/sandbox_bench.py [--stories 10000] [--data :memory:]

The create is four `POST /stories` requests of at most 300 stories (each with a checklist
item, a tag and a kxplan marker, as kxplan creates them). The read pages through the
workspace 200 at a time with the includes kxplan's live read uses.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx

from kxplan.changes.batches import BULK_LIMIT
from kxplan.sandbox import SandboxServer

INCLUDES = "parent,story_tasks,tags,external_references"


def _story(ws: str, i: int) -> dict[str, Any]:
    return {
        "workspace_id": int(ws),
        "title": f"Task {i:05d}",
        "checklist": [f"check {i}"],
        "tag_list": f"phase-{i % 5}",
        "external_reference": {
            "service_name": "kxplan",
            "service_model": "bench",
            "service_model_ref": f"task-{i}",
        },
    }


def bulk_create(client: httpx.Client, ws: str, n: int) -> tuple[float, int]:
    """Create n stories BULK_LIMIT at a time; (seconds, requests)."""
    started = time.perf_counter()
    requests = 0
    for start in range(0, n, BULK_LIMIT):
        items = [_story(ws, i) for i in range(start, min(start + BULK_LIMIT, n))]
        r = client.post("/stories", json={"stories": items})
        r.raise_for_status()
        requests += 1
    return time.perf_counter() - started, requests


def paged_read(client: httpx.Client, ws: str) -> tuple[float, int, int]:
    """Read every story of the workspace, 200 per page; (seconds, requests, stories)."""
    started = time.perf_counter()
    seen: set[str] = set()
    page, pages = 1, 1
    while page <= pages:
        params = {
            "workspace_id": ws,
            "per_page": 200,
            "page": page,
            "order": "created_at:asc",
            "include": INCLUDES,
            "show_archived": "true",
        }
        body = client.get("/stories", params=params).json()
        seen.update(r["id"] for r in body["results"])
        pages = body["meta"]["page_count"]
        page += 1
    return time.perf_counter() - started, page - 1, len(seen)


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=10_000, help="size of the read test")
    parser.add_argument("--data", default=":memory:", help="SQLite file (default in memory)")
    args = parser.parse_args()
    with SandboxServer(args.data) as server:
        headers = {"Authorization": "Bearer bench"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            ws = server.model.create_workspace("Bulk bench")["id"]
            seconds, requests = bulk_create(client, ws, 1000)
            print(f"bulk create 1,000 stories: {seconds:.2f} s in {requests} requests")
            big = server.model.create_workspace("Read bench")["id"]
            fill = time.perf_counter()
            bulk_create(client, big, args.stories)
            print(f"(seeded {args.stories:,} stories in {time.perf_counter() - fill:.2f} s)")
            seconds, requests, count = paged_read(client, big)
            print(
                f"paged read of {count:,} stories (per_page 200, include {INCLUDES}): "
                f"{seconds:.2f} s in {requests} requests"
            )


if __name__ == "__main__":
    main()
