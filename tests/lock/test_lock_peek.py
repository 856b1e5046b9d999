"""The peek before planning is the workspace look-up's own answer: Kantata includes the
workspace's external references, the lock's among them, so `apply` reads the lock before
planning without a request of its own; an answer that does not include them is read
(docs/apply.md, "When two applies meet"). In a fleet the same answer is what the lock is
compared with at apply time, so an apply that ran in between is seen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kxplan.cli.flow import REPLANNED
from kxplan.cli.locking import peek_locks
from kxplan.client import KantataClient
from kxplan.live import workspace_from_api
from kxplan.lock import LOCK_MODEL, LOCK_SERVICE, WorkspaceLock, WorkspaceLocked
from kxplan.model import LiveWorkspace
from kxplan.sandbox import SandboxServer
from kxplan.sandbox.wire import Arrival
from tests.support import TOKEN, kxplan, tree, write_manifest
from tests.support.fleets import fleet_site, write_fleet

LOCK_READS = ("GET", "/external_references")


def _rival(client: KantataClient, workspace_id: str, *, release: bool) -> WorkspaceLock:
    """Another apply's claim on the workspace (released again with `release`)."""
    rival = WorkspaceLock(client, workspace_id, "rival's view", ttl=600, sleep=lambda s: None)
    rival.run_id, rival.holder = "rival0000001", "rival@ci"
    rival._write()
    if release:
        rival._write(released=True)
    return rival


def test_a_held_workspace_stops_apply_with_no_lock_read_and_no_plan_read(
    sandbox_workspace: tuple[SandboxServer, str],
    connect: Callable[..., KantataClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server, workspace_id = sandbox_workspace
    _rival(connect(server, token="rival-token"), workspace_id, release=False)
    manifest = write_manifest(tmp_path / "m.yaml", {**tree((2,)), "workspace": workspace_id})
    server.log.reset()
    done = kxplan("apply", manifest, "--api-url", server.url, "--auto-approve")
    assert done.code == 1, done.text
    assert "is locked by another kxplan apply: rival@ci (run rival0000001" in done.err
    # The look-up (GET /workspaces/{id}, with its references) was the only request.
    assert server.log.count(*LOCK_READS) == 0
    assert server.log.count("GET", "/stories") == 0
    assert [e.route for e in server.log.entries] == ["/workspaces/{id}"]


def test_a_free_workspace_is_applied_with_the_lock_read_only_to_take_it(
    sandbox_workspace: tuple[SandboxServer, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server, workspace_id = sandbox_workspace
    manifest = write_manifest(tmp_path / "m.yaml", {**tree((2,)), "workspace": workspace_id})
    done = kxplan("apply", manifest, "--api-url", server.url, "--auto-approve")
    assert done.code == 0, done.text
    assert "Verified: the workspace matches the manifest." in done.out
    # Read once to take it (then written, read back, and written released).
    assert server.log.count(*LOCK_READS) == 2
    assert REPLANNED not in done.text
    # The first marker count fills the pause between writing the claim and reading it
    # back (kxplan.lock, `acquire`); the creates come once the claim read back as ours.
    calls = [f"{e.method} {e.route}" for e in server.log.entries]
    claim = calls.index("POST /external_references/create_or_update")
    assert calls[claim : claim + 4] == [
        "POST /external_references/create_or_update",
        "GET /stories",
        "GET /external_references",
        "POST /stories",
    ]
    assert "Apply complete: 2 added, 0 changed, 0 moved, 0 deleted in 3 requests" in done.out


def test_the_look_ups_answer_tells_the_lock_only_when_it_includes_the_references() -> None:
    lock_ref = {"id": "7", "service_name": LOCK_SERVICE, "service_model": LOCK_MODEL}
    marker = {"id": "8", "service_name": "kxplan", "service_model": "stack"}
    refs = {"7": lock_ref, "8": marker}
    listed = {"id": "5", "title": "W", "external_reference_ids": ["7", "8"]}
    assert workspace_from_api(listed, refs).lock_refs == (lock_ref,)
    assert workspace_from_api({**listed, "external_reference_ids": []}, {}).lock_refs == ()
    # Not included (no ids list), or listed but not served: unknown, so the lock is read.
    assert workspace_from_api({"id": "5", "title": "W"}, refs).lock_refs is None
    assert workspace_from_api({**listed, "external_reference_ids": ["9"]}, refs).lock_refs is None
    assert workspace_from_api(listed, None).lock_refs is None


def test_an_unknown_answer_is_read_and_a_held_lock_found_there_stops_the_peek(
    sandbox_workspace: tuple[SandboxServer, str], connect: Callable[..., KantataClient]
) -> None:
    server, workspace_id = sandbox_workspace
    client = connect(server)
    _rival(connect(server, token="rival-token"), workspace_id, release=False)
    before = server.log.count(*LOCK_READS)
    with pytest.raises(WorkspaceLocked, match="rival@ci"):
        peek_locks(client, [LiveWorkspace(workspace_id, "W")], 0.0, say=lambda s: None)
    assert server.log.count(*LOCK_READS) == before + 1
    # The same claim, as a look-up included it: no read.
    refs = tuple(
        client.get(
            "/external_references", {"subject_type": "Workspace", "subject_id": workspace_id}
        )["external_references"].values()
    )
    seen = LiveWorkspace(workspace_id, "W", lock_refs=refs)
    before = server.log.count(*LOCK_READS)
    with pytest.raises(WorkspaceLocked, match="rival@ci"):
        peek_locks(client, [seen], 0.0, say=lambda s: None)
    assert server.log.count(*LOCK_READS) == before


def test_a_fleet_plans_again_when_an_apply_ran_between_its_plan_and_its_lock(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    fleet = write_fleet(tmp_path / "fleet.yaml", ("Acme",))
    acme = ids["Acme"]
    rival = KantataClient(sandbox.url, "rival-token", seed=1, sleep=lambda s: None)
    ran: list[bool] = []

    def between(arrival: Arrival) -> None:
        # The fleet's first lock read comes after its plan: another apply takes and
        # releases the workspace right then, before that read is answered.
        if arrival.token == "rival-token" or ran:
            return
        read = arrival.method == "GET" and arrival.route == "/external_references"
        if read and arrival.params.get("service_name") == LOCK_SERVICE:
            ran.append(True)
            _rival(rival, acme, release=True)

    sandbox.on_request = between
    try:
        done = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve")
    finally:
        sandbox.on_request = None
        rival.close()
    assert ran and done.code == 0, done.text
    assert REPLANNED in done.text
    assert "Verified: the workspace matches the manifest." in done.out
