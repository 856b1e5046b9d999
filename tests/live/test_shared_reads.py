"""One run, many workspaces: the shared request budget (docs/client.md, "One run, many
workspaces"). Every figure is counted from the sandbox's request log, never timed.

The bound for a no-change plan of W workspaces × N tasks is
W × (⌈N/200⌉ + 1) + ⌈W/200⌉ + 3 requests, of which at most ⌈W/200⌉ + 1 are GET /workspaces.
"""

from __future__ import annotations

import itertools
import math
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from kxplan.cli.plan_options import PlanFlags, make_plans
from kxplan.client import KantataClient
from kxplan.errors import PlanError
from kxplan.live import SharedReads, read_live
from kxplan.manifest import load_fleet, load_manifests
from kxplan.model import LiveWorkspace
from kxplan.sandbox import Faults, SandboxServer
from tests.support import TOKEN, kxplan, write_manifest

STACK = "onboarding"


def _tasks(n: int, statuses: bool = True) -> list[dict[str, Any]]:
    """`n` tasks; with `statuses`, the first sets one (so its plans read the status sets)."""
    tasks: list[dict[str, Any]] = [{"key": f"t{i}", "title": f"Task {i}"} for i in range(n)]
    if statuses and tasks:
        tasks[0]["status"] = "started"
    return tasks


def _manifest(workspace: str | int, n: int, statuses: bool = True) -> dict[str, Any]:
    return {"version": 1, "name": STACK, "workspace": workspace, "tasks": _tasks(n, statuses)}


def _bound(w: int, n: int) -> tuple[int, int]:
    """(all requests, GET /workspaces) a no-change plan of W × N may make."""
    return w * (math.ceil(n / 200) + 1) + math.ceil(w / 200) + 3, math.ceil(w / 200) + 1


def _applied(
    server: SandboxServer, tmp_path: Path, titles: list[str], n: int, statuses: bool = True
) -> list[Path]:
    """One manifest per title, each applied in its own run (the workspaces exist)."""
    paths = []
    for i, title in enumerate(titles):
        server.model.create_workspace(title)
        path = write_manifest(tmp_path / f"m{i}.yaml", _manifest(title, n, statuses))
        applied = kxplan("apply", path, "--auto-approve", "--api-url", server.url)
        assert applied.code == 0, applied.text
        paths.append(path)
    return paths


def _count(server: SandboxServer, route: str, status: int | None = None) -> int:
    return sum(
        1
        for e in server.log.entries
        if e.method == "GET" and e.route == route and (status is None or e.status == status)
    )


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)


# --------------------------------------------------------------------------- several manifests


@pytest.mark.usefixtures("token")
def test_plan_of_several_manifests_lists_the_workspaces_once_and_reads_the_sets_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    titles = ["Acme", "Globex", "Initech", "Umbrella"]
    paths = _applied(sandbox, tmp_path, titles, n=3)
    sandbox.log.reset()

    result = kxplan("plan", *paths, "--detailed-exitcode", "--api-url", sandbox.url)

    assert result.code == 0, result.text
    assert result.out.count("No changes.") == len(titles)
    total, listings = _bound(len(titles), 3)
    assert _count(sandbox, "/workspaces") == 1 <= listings  # one index finds all four titles
    assert _count(sandbox, "/task_status_sets") == 1  # once for the whole run
    assert _count(sandbox, "/stories") == len(titles)
    assert sandbox.log.count() == len(titles) + 2 <= total


@pytest.mark.usefixtures("token")
def test_a_single_manifest_still_costs_one_title_lookup_not_an_index(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    for i in range(450):  # listing them all would take three pages
        sandbox.model.create_workspace(f"Other {i}")
    (path,) = _applied(sandbox, tmp_path, ["Acme"], n=2)
    (tmp_path / "plain").mkdir()
    (plain,) = _applied(sandbox, tmp_path / "plain", ["Globex"], n=2, statuses=False)
    sandbox.log.reset()

    result = kxplan("plan", path, "--detailed-exitcode", "--api-url", sandbox.url)

    assert result.code == 0, result.text
    assert _count(sandbox, "/workspaces") == 1  # `matching`, not the list
    assert sandbox.log.count() == 3  # the title lookup, the sets, one page of stories
    sandbox.log.reset()
    result = kxplan("plan", plain, "--detailed-exitcode", "--api-url", sandbox.url)
    assert result.code == 0, result.text
    assert _count(sandbox, "/task_status_sets") == 0  # no status in the manifest: no sets
    assert sandbox.log.count() == 2  # the title lookup, one page of stories


@pytest.mark.usefixtures("token")
def test_apply_of_several_manifests_looks_them_up_once_for_the_locks_and_the_plans(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    paths = _applied(sandbox, tmp_path, ["Acme", "Globex", "Initech"], n=2)
    for path in paths:  # a change in each, so the apply goes all the way
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["tasks"].append({"key": "extra", "title": "Extra"})
        write_manifest(path, doc)
    sandbox.log.reset()

    result = kxplan("apply", *paths, "--auto-approve", "--api-url", sandbox.url)

    assert result.code == 0, result.text
    before_verify = [e for e in sandbox.log.entries if e.route == "/workspaces"]
    # One index for the locks and the first plans; the verification after the writes is
    # made from their answers (docs/apply.md, "Verification"), with no index of its own.
    assert len(before_verify) == 1, [e.path for e in before_verify]


# --------------------------------------------------------------------------- a fleet


def _fleet(tmp_path: Path, titles: list[str], n: int, missing: str | None = None) -> Path:
    entries: list[dict[str, Any]] = [{"workspace": t, "vars": {"client": t}} for t in titles]
    if missing is not None:
        entries.insert(1, {"workspace": missing, "vars": {"client": missing}})
    doc = {
        "version": 1,
        "name": STACK,
        "vars": {"client": "x"},
        "workspaces": entries,
        "tasks": _tasks(n),
    }
    return write_manifest(tmp_path / "fleet.yaml", doc)


@pytest.mark.usefixtures("token")
def test_a_fleet_no_change_plan_stays_within_the_bound(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    titles, n = ["Acme", "Globex", "Initech"], 201  # two pages of stories each
    _applied(sandbox, tmp_path, titles, n)
    fleet = load_fleet(_fleet(tmp_path, titles, n))
    sandbox.log.reset()

    with KantataClient(sandbox.url, TOKEN) as client:
        shared = SharedReads(client, expect=[m.workspace for m in fleet.members])
        plans = make_plans([m.manifest for m in fleet.members], client, PlanFlags(), shared=shared)

    assert [p.has_changes for p in plans] == [False, False, False]
    total, listings = _bound(len(titles), n)
    assert _count(sandbox, "/workspaces") == 1 <= listings
    assert _count(sandbox, "/task_status_sets") == 1
    assert _count(sandbox, "/stories") == len(titles) * 2
    assert sandbox.log.count() <= total
    # Each plan says what its own read cost, though the workspaces were read at once.
    reads = [p.requests["read"] for p in plans]
    assert sum(reads) == sandbox.log.count()
    assert min(reads) == 2  # its two story pages; each shared read counted by one plan only


@pytest.mark.usefixtures("token")
def test_fleet_workspaces_are_planned_concurrently_each_isolated(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    titles = ["Acme", "Globex", "Initech"]
    _applied(sandbox, tmp_path, titles, n=2)
    fleet = load_fleet(_fleet(tmp_path, titles, 2, missing="Nowhere"))
    sandbox.log.reset()

    with KantataClient(sandbox.url, TOKEN) as client:
        shared = SharedReads(client, expect=[m.workspace for m in fleet.members])

        def plan_one(member: Any) -> Any:
            (plan,) = make_plans([member.manifest], client, PlanFlags(), shared=shared)
            return plan

        outcomes = shared.each(plan_one, list(fleet.members))

    assert [o.ok for o in outcomes] == [True, False, True, True]
    assert isinstance(outcomes[1].error, PlanError)
    assert "'Nowhere' was not found" in str(outcomes[1].error)
    assert [o.value.workspace["title"] for o in outcomes if o.value] == titles
    assert _count(sandbox, "/workspaces") == 1  # four titles, one index
    assert _count(sandbox, "/task_status_sets") == 1


# --------------------------------------------------------------------------- 429s on /workspaces


def test_a_429_storm_on_get_workspaces_neither_fails_nor_narrows_story_reads(
    make_sandbox: Any, tmp_path: Path
) -> None:
    ticks = itertools.count()
    # One token a second on the workspaces bucket, the sandbox's clock 0.05 s a request:
    # about 20 requests between two that get through, however fast the machine is.
    storm = Faults(workspaces_rate_limit=1.0, workspaces_burst=1, retry_after=0.05)
    server = make_sandbox(faults=storm, fault_clock=lambda: next(ticks) * 0.05)
    for i in range(250):  # two pages of workspaces: the second meets the storm
        server.model.create_workspace(f"Filler {i:03d}")
    titles = ["Acme", "Globex"]
    for title in titles:
        ws = server.model.create_workspace(title)
        server.model.create_stories(ws["id"], [{"title": f"T{i}"} for i in range(201)])
    manifests = [write_manifest(tmp_path / f"{t}.yaml", _manifest(t, 0)) for t in titles]

    with KantataClient(server.url, TOKEN, sleep=lambda _s: None) as client:
        plans = make_plans(load_manifests(manifests), client, PlanFlags())
        story_limit = client.limit.limit

    assert [p.workspace["title"] for p in plans] == titles
    assert _count(server, "/workspaces", status=429) >= 10  # the storm
    assert _count(server, "/workspaces", status=200) == 2  # one index, each page once
    # Every story page got through at its first attempt, at the full concurrency.
    assert _count(server, "/stories") == _count(server, "/stories", status=200) == 2 * 2
    assert story_limit == client.max_concurrency


# --------------------------------------------------------------------------- SharedReads itself


def test_a_workspace_created_in_the_run_is_found_without_a_request(
    sandbox: SandboxServer,
) -> None:
    sandbox.model.create_workspace("Acme")
    with KantataClient(sandbox.url, TOKEN) as client:
        shared = SharedReads(client, expect=["Acme", "New"])
        assert shared.workspace("Acme") is not None  # reads the index
        created = LiveWorkspace("999", "New")
        shared.add_workspace(created)
        before = client.requests
        assert shared.workspace("New") == created
        assert shared.workspace("999") == created
        assert shared.workspaces().titled("New") == created
        assert client.requests == before


def test_an_id_already_in_the_index_costs_no_request(sandbox: SandboxServer) -> None:
    wid = str(sandbox.model.create_workspace("Acme")["id"])
    with KantataClient(sandbox.url, TOKEN) as client:
        shared = SharedReads(client)
        assert len(shared.workspaces()) == 1
        before = client.requests
        found = shared.workspace(int(wid))
        assert found is not None and found.title == "Acme"
        assert client.requests == before


def test_an_ambiguous_title_in_the_index_is_an_error_listing_the_ids(
    sandbox: SandboxServer,
) -> None:
    ids = [str(sandbox.model.create_workspace("Acme")["id"]) for _ in range(2)]
    with KantataClient(sandbox.url, TOKEN) as client:
        shared = SharedReads(client, expect=["Acme", "Other"])
        with pytest.raises(PlanError, match="ambiguous: 2 workspaces have it") as err:
            shared.workspace("Acme")
    assert all(i in str(err.value) for i in ids)


def test_status_sets_are_read_once_however_many_workspaces_ask_at_once(
    sandbox: SandboxServer,
) -> None:
    ids = [str(sandbox.model.create_workspace(f"W{i}")["id"]) for i in range(6)]
    with KantataClient(sandbox.url, TOKEN) as client:
        shared = SharedReads(client)
        start = threading.Barrier(len(ids))

        def read(wid: str) -> int:
            start.wait()
            return len(read_live(client, wid, shared).tasks)

        outcomes = shared.each(read, ids)
    assert [o.value for o in outcomes] == [0] * len(ids)
    assert _count(sandbox, "/task_status_sets") == 1


def test_apply_sandbox_creates_several_workspaces_with_one_list_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the embedded sandbox keeps its data in .kxplan/
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    paths = [
        write_manifest(tmp_path / f"{t}.yaml", {**_manifest(t, 2), "name": t.lower()})
        for t in ("Acme", "Globex")
    ]

    result = kxplan("apply", *paths, "--sandbox", "--auto-approve", "--log-level", "debug")

    assert result.code == 0, result.text
    assert result.out.count("Created workspace") == 2
    assert "Verified: the workspace matches the manifest." in result.out
    listings = [
        line for line in result.err.splitlines() if "GET " in line and "/workspaces?" in line
    ]
    # One list for both titles before the writes (the created ones join it); the
    # verification reads each created workspace by id, not the list; a `matching` lookup
    # only for each workspace created, right after its create (two applies creating one
    # workspace: docs/apply.md).
    matching = [line for line in listings if "matching=" in line]
    assert len(listings) - len(matching) == 1, listings
    assert len(matching) == 2, listings
