"""read_live against the sandbox over loopback: exact reads, request counts, concurrent edits."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.errors import PlanError
from kxplan.live import find_tasks_by_marker, find_workspace, read_live, read_tasks

Connect = Callable[..., KantataClient]
Seed = Callable[..., tuple[str, list[str]]]


@pytest.mark.parametrize("n", [0, 1, 199, 200, 201, 2500])
def test_reads_every_story_exactly_in_ceil_n_over_200_plus_2_requests(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed, n: int
) -> None:
    server = make_sandbox()
    ws_id, ids = seed_workspace(server, n)
    seed_workspace(server, 3, title="Other workspace")  # never mixed in
    server.log.reset()
    client = connect(server)

    live = read_live(client, ws_id)

    got = [t.id for t in live.tasks]
    assert len(got) == len(set(got)) == n
    assert set(got) == set(ids)
    expected = max(1, math.ceil(n / 200)) + 2
    assert live.requests == client.requests == server.log.count() == expected
    assert expected <= math.ceil(n / 200) + 3


def test_live_tasks_carry_parent_tags_checklist_markers_and_archived(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed, stack: str
) -> None:
    server = make_sandbox()
    ws_id, ids = seed_workspace(server, 20)
    live = read_live(connect(server), ws_id)
    by_id = {t.id: t for t in live.tasks}

    first = by_id[ids[0]]  # item 0: checklist, tags, archived, marker
    assert [i.name for i in first.checklist] == ["check 0a", "check 0b"]
    assert first.tags == ("Client", "phase-0")
    assert first.archived
    assert first.key_for(stack) == "task-0"
    assert by_id[ids[1]].key_for(stack) is None
    sub = by_id[ids[-1]]
    assert sub.parent_id in by_id
    assert [t.id for t in live.tasks] == sorted(by_id, key=int)


def test_deleted_stories_are_absent(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed
) -> None:
    server = make_sandbox()
    ws_id, ids = seed_workspace(server, 5)
    client = connect(server)
    client.delete(f"/stories/{ids[1]}")
    live = read_live(client, ws_id)
    assert ids[1] not in {t.id for t in live.tasks}
    assert len(live.tasks) == 4


def test_status_sets_are_read_with_their_statuses(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed
) -> None:
    server = make_sandbox()
    ws_id, _ = seed_workspace(server, 2)
    client = connect(server)
    created = client.post("/task_status_sets", json={"task_status_set": {"name": "Delivery"}})
    set_id = created["results"][0]["id"]
    client.post(
        "/custom_task_statuses",
        json={
            "custom_task_status": {
                "status": "Waiting",
                "category": "needs info",
                "status_set_id": int(set_id),
            }
        },
    )
    client.put(
        "/workspace_task_status_sets/bulk_update",
        json={
            "workspace_task_status_sets": [
                {"workspace_id": int(ws_id), "status_set_id": int(set_id)}
            ]
        },
    )

    live = read_live(client, ws_id)

    assigned = live.assigned_status_set()
    assert assigned is not None and assigned.name == "Delivery"
    names = [s.name for s in assigned.statuses]
    assert "Waiting" in names and len(names) == 5
    assert [s.position for s in assigned.statuses] == sorted(s.position for s in assigned.statuses)


def test_workspace_by_exact_title_ambiguous_or_missing(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed
) -> None:
    server = make_sandbox()
    ws_id, _ = seed_workspace(server, 3, title="Acme Onboarding")
    seed_workspace(server, 1, title="Acme Onboarding extras")
    client = connect(server)

    live = read_live(client, "Acme Onboarding")
    assert live.workspace.id == ws_id and len(live.tasks) == 3
    assert live.requests <= 1 + 3

    twin, _ = seed_workspace(server, 1, title="Acme Onboarding")
    with pytest.raises(PlanError) as info:
        read_live(client, "Acme Onboarding")
    assert ws_id in str(info.value) and twin in str(info.value)
    assert "--workspace" in info.value.format()

    with pytest.raises(PlanError, match="'Nope' was not found"):
        read_live(client, "Nope")
    with pytest.raises(PlanError, match="exactly 'acme onboarding extras'"):
        read_live(client, "acme onboarding extras")
    assert find_workspace(client, 999_999_999) is None
    with pytest.raises(PlanError, match="999999999 was not found"):
        read_live(client, 999_999_999)

    digits, _ = seed_workspace(server, 2, title="2027")  # a title that looks like an id
    live = read_live(client, "2027")
    assert live.workspace.id == digits and len(live.tasks) == 2


def test_read_is_exact_while_another_thread_edits_stories(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed
) -> None:
    from kxplan.sandbox import Faults

    server = make_sandbox()
    ws_id, ids = seed_workspace(server, 2500)
    server.faults = Faults(latency_ms=15)  # keep the read in flight while the edits land
    editor = connect(server)
    stop = threading.Event()
    edits = [0]

    def edit() -> None:
        # Every edit bumps updated_at: Kantata's default order would shuffle pages.
        while not stop.is_set():
            sid = ids[(edits[0] * 97) % len(ids)]
            editor.put(f"/stories/{sid}", json={"story": {"title": f"edited {edits[0]}"}})
            edits[0] += 1

    thread = threading.Thread(target=edit)
    thread.start()
    try:
        client = connect(server)
        live = read_live(client, ws_id)
    finally:
        stop.set()
        thread.join()
    got = [t.id for t in live.tasks]
    assert edits[0] > 0
    assert len(got) == len(set(got)) == 2500
    assert set(got) == set(ids)
    assert live.requests == math.ceil(2500 / 200) + 2


def test_read_tasks_and_find_by_marker(
    make_sandbox: Callable[..., Any], connect: Connect, seed_workspace: Seed, stack: str
) -> None:
    server = make_sandbox()
    ws_id, ids = seed_workspace(server, 450)
    client = connect(server)
    client.delete(f"/stories/{ids[3]}")

    wanted = [*ids[:250], "999999999"]
    before = client.requests
    tasks = read_tasks(client, ws_id, wanted)
    assert set(tasks) == set(ids[:250]) - {ids[3]}
    assert client.requests - before == 2  # two batches of at most 200 ids

    keys = [f"task-{i}" for i in range(0, 420, 2)] + ["task-1", "no-such-key"]
    found = find_tasks_by_marker(client, ws_id, stack, keys)
    assert set(found) == {f"task-{i}" for i in range(0, 405, 2)}  # 405 top-level stories
    assert found["task-4"].id == ids[4]
    assert find_tasks_by_marker(client, ws_id, "another-stack", ["task-4"]) == {}
