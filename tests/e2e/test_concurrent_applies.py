"""When two applies meet: real `kxplan apply` processes racing on one sandbox workspace
(docs/apply.md, "When two applies meet"). Whatever the interleaving, each key ends on
exactly one live task; the run that yields says who holds the workspace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kxplan.apply import ApplyFailed, CreateGuard, apply_plan
from kxplan.apply._payload import create_item
from kxplan.client import KantataClient
from kxplan.manifest import load_manifests
from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.sandbox import Faults, SandboxServer
from kxplan.sandbox.wire import Arrival
from tests.support import TOKEN, kxplan, read, tree, write_manifest

ROOT = Path(__file__).resolve().parents[2]
SIZES = (6, 18)  # two levels: 24 tasks, two create batches
KEYS = 24
LOCK_ROUTE = "/external_references/create_or_update"


@dataclass(frozen=True)
class Finished:
    pid: int
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def _start(
    url: str, manifest: Path, *flags: str, ttl: str = "30", token: str = TOKEN
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KANTATA_TOKEN": token,
        "PYTHONPATH": str(ROOT),
        "KXPLAN_LOCK_TTL": ttl,
    }
    args = [sys.executable, "-m", "kxplan", "apply", str(manifest), "--auto-approve"]
    return subprocess.Popen(
        [*args, "--api-url", url, *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _finish(proc: subprocess.Popen[bytes]) -> Finished:
    out, err = proc.communicate(timeout=120)
    return Finished(proc.pid, proc.returncode, out.decode(), err.decode())


def _per_key(url: str, workspace: str = "Big") -> Counter[str]:
    live = read(url, workspace)
    return Counter(k for t in live.tasks if (k := t.key_for("big")) is not None)


def _manifest(server: SandboxServer, path: Path, workspace: str) -> Path:
    """A 24-task manifest for a new, empty workspace."""
    server.model.create_workspace(workspace)
    return write_manifest(path, {**tree(SIZES), "workspace": workspace})


def _lock_written(server: SandboxServer) -> bool:
    return server.log.count("POST", LOCK_ROUTE) > 0


class _Turns:
    """A barrier the test holds so that two applies certainly meet, however loaded the
    machine: on the sandbox's `on_request` hook, each process known by its own token.

    A run peeks at the lock before it plans through its workspace look-up (which includes
    the lock's references) and reads it to acquire it, after its plan (its first lock read).
    The first run to acquire goes on; the other's acquiring
    read waits until the first run's first create arrives (it then holds the lock), so the
    two never acquire at once. That create waits until the other run has had its answer
    (it sent anything after that read) or has gone (it yielded): the other run planned
    before any create landed and saw the lock held."""

    def __init__(self, server: SandboxServer, tokens: tuple[str, str]) -> None:
        self._tokens = tokens
        self._reads = dict.fromkeys(tokens, 0)
        self._first: str | None = None
        self._mutex = threading.Lock()
        self._answered = {t: threading.Event() for t in tokens}
        self._creating = {t: threading.Event() for t in tokens}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.met = False  # the first create waited for the other run, and not in vain
        server.on_request = self

    def start(self, url: str, manifest: Path, *flags: str) -> list[subprocess.Popen[bytes]]:
        """Both applies, at once, each with its own token."""
        self._procs = {t: _start(url, manifest, *flags, token=t) for t in self._tokens}
        return list(self._procs.values())

    def __call__(self, arrival: Arrival) -> None:
        token = arrival.token
        if token not in self._reads:
            return
        other = self._tokens[1 - self._tokens.index(token)]
        with self._mutex:
            if self._reads[token] >= 1:
                self._answered[token].set()
            acquiring = _is_lock_read(arrival) and self._reads[token] == 0
            self._reads[token] += _is_lock_read(arrival)
            self._first = self._first or (token if acquiring else None)
            second = acquiring and self._first == other
            create = arrival.method == "POST" and arrival.route == "/stories"
            first_create = create and not self._creating[token].is_set()
            if create:
                self._creating[token].set()
        if second:
            self._wait(self._creating[other], other)
        elif first_create and self._first == token:
            self.met = self._wait(self._answered[other], other)

    def _wait(self, event: threading.Event, other: str) -> bool:
        """Until `event` or the `other` run's end (True), or a safety net's end (False)."""
        deadline = time.monotonic() + 45
        while not event.wait(0.02):
            proc = self._procs.get(other)
            if proc is not None and proc.poll() is not None:
                return True
            if time.monotonic() > deadline:
                return False
        return True


def _is_lock_read(arrival: Arrival) -> bool:
    return (
        arrival.method == "GET"
        and arrival.route == "/external_references"
        and arrival.params.get("service_name") == "kxplan-lock"
    )


@pytest.fixture
def race(make_sandbox: Any, tmp_path: Path) -> tuple[SandboxServer, Path]:
    """A sandbox whose every request takes 20 ms, an empty workspace "Big", and a 24-task
    manifest for it."""
    server = make_sandbox(faults=Faults(latency_ms=20))
    server.model.create_workspace("Big")
    return server, write_manifest(tmp_path / "big.yaml", tree(SIZES))


def test_two_applies_started_together_leave_one_task_per_key(
    race: tuple[SandboxServer, Path], tmp_path: Path
) -> None:
    server, _ = race
    yielded = 0
    for round_ in range(3):
        workspace = f"Race {round_}"
        manifest = _manifest(server, tmp_path / f"race-{round_}.yaml", workspace)
        tokens = (f"{TOKEN}-{round_}-a", f"{TOKEN}-{round_}-b")
        turns = _Turns(server, tokens)
        results = [_finish(p) for p in turns.start(server.url, manifest)]
        assert turns.met, [r.text for r in results]
        counts = _per_key(server.url, workspace)
        assert len(counts) == KEYS and set(counts.values()) == {1}, (round_, counts)
        assert any(r.code == 0 for r in results), [r.text for r in results]
        for loser, winner in ((results[0], results[1]), (results[1], results[0])):
            if loser.code == 0:
                continue
            yielded += 1
            # The loser names the holder (the other process) and how to retry. (In the
            # rare interleaving where both took the lock, the overtaken one stops at its
            # next create batch, saying who took it.)
            overtaken = "another apply took the lock on workspace" in loser.err
            assert overtaken or "is locked by another kxplan apply" in loser.err, loser.text
            assert f"pid {winner.pid} (run " in loser.err
            assert re.search(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, until ", loser.err)
            assert overtaken or "--lock-timeout" in loser.err
            assert "Apply complete" not in loser.out
        for done in (r for r in results if r.code == 0):
            assert "Verified: the workspace matches the manifest." in done.out, done.text
    assert yielded >= 1


def test_with_lock_timeout_the_second_waits_then_finds_nothing_to_do(
    race: tuple[SandboxServer, Path], tmp_path: Path
) -> None:
    server, _ = race
    manifest = _manifest(server, tmp_path / "wait.yaml", "Waiting")
    tokens = (f"{TOKEN}-a", f"{TOKEN}-b")
    turns = _Turns(server, tokens)
    results = [_finish(p) for p in turns.start(server.url, manifest, "--lock-timeout", "60s")]
    assert turns.met, [r.text for r in results]
    assert [r.code for r in results] == [0, 0], [r.text for r in results]
    applied = [r for r in results if f"Apply complete: {KEYS} added" in r.out]
    assert len(applied) == 1, [r.text for r in results]
    (waited,) = [r for r in results if r is not applied[0]]
    assert "Another apply wrote to the workspace since it was planned; planning again." in (
        waited.out
    )
    assert "No changes. The workspace matches the manifest." in waited.out
    assert "Apply complete" not in waited.out
    assert server.log.count("POST", "/stories") == len(SIZES)  # one bulk create per level
    assert set(_per_key(server.url, "Waiting").values()) == {1}


def test_a_crashed_holders_lock_expires_and_is_taken_over(
    race: tuple[SandboxServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, manifest = race
    crashed = _start(server.url, manifest, ttl="2")
    while server.log.count("POST", "/stories") < 1 and crashed.poll() is None:
        time.sleep(0.002)
    crashed.kill()  # SIGKILL: the lock is never released
    crashed.wait()
    server.faults = Faults()
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)

    refused = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url)
    assert refused.code == 1
    assert f"pid {crashed.pid} (run " in refused.err
    assert "If that run is dead, its lock expires at" in refused.err

    taken = kxplan(
        "apply", manifest, "--auto-approve", "--api-url", server.url, "--lock-timeout", "30s"
    )
    assert taken.code == 0, taken.text
    assert 'Taking over the lock on workspace "Big"' in taken.err
    assert f"pid {crashed.pid}" in taken.err and "(that run stopped)" in taken.err
    assert "Verified: the workspace matches the manifest." in taken.out
    counts = _per_key(server.url)
    assert len(counts) == KEYS and set(counts.values()) == {1}


def test_an_invalid_lock_timeout_is_a_usage_error_before_any_request(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    manifest = write_manifest(tmp_path / "big.yaml", tree((2,)))
    result = kxplan(
        "apply", manifest, "--auto-approve", "--api-url", sandbox.url, "--lock-timeout", "soon"
    )
    assert result.code == 1
    assert "--lock-timeout 'soon' is not a duration" in result.err
    assert "e.g. 30s, 5m or 1h" in result.err
    assert sandbox.log.count() == 0


# ----------------------------------------------------------------- the marker checks alone


class _RivalCreates(httpx.BaseTransport):
    """The loopback transport, plus a rival: right before this client's first bulk create
    reaches the server, another apply's create of `key` commits (after the marker check)."""

    def __init__(self, server: SandboxServer, workspace_id: str, key: str) -> None:
        self._inner = httpx.HTTPTransport()
        self._server, self._workspace_id, self._key = server, workspace_id, key
        self.fired = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/stories") and not self.fired:
            self.fired = True
            item = create_item(
                "big", self._key, {"title": "Rival's copy"}, self._workspace_id, None
            )
            self._server.model.create_stories(self._workspace_id, [item])
        return self._inner.handle_request(request)


def _plan(url: str, manifest: Path) -> Plan:
    return build_plan(load_manifests([manifest], {})[0], read(url, "Big"))


def test_a_key_created_since_the_plan_is_adopted_not_created_again(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.model.create_workspace("Big")
    plan = _plan(sandbox.url, write_manifest(tmp_path / "big.yaml", tree((3, 3))))
    live = read(sandbox.url, "Big")
    item = create_item("big", "t0-1", {"title": "Made by another apply"}, live.workspace.id, None)
    sandbox.model.create_stories(live.workspace.id, [item])
    guard = CreateGuard()
    with KantataClient(sandbox.url, TOKEN) as client:
        apply_plan(plan, client, guard=guard)
    assert guard.adopted == ["t0-1"] and guard.merged == []
    after = read(sandbox.url, "Big")
    counts = Counter(t.key_for("big") for t in after.tasks)
    assert len(counts) == 6 and set(counts.values()) == {1}
    adopted = next(t for t in after.tasks if t.key_for("big") == "t0-1")
    child = next(t for t in after.tasks if t.key_for("big") == "t1-1")
    assert child.parent_id == adopted.id  # its child went under the existing task


def test_a_copy_made_at_the_same_moment_is_deleted_and_the_oldest_kept(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.model.create_workspace("Big")
    plan = _plan(sandbox.url, write_manifest(tmp_path / "big.yaml", tree((3, 3))))
    workspace_id = read(sandbox.url, "Big").workspace.id
    rival = _RivalCreates(sandbox, workspace_id, "t0-2")
    guard = CreateGuard()
    with KantataClient(sandbox.url, TOKEN, transport=rival) as client:
        apply_plan(plan, client, guard=guard)
    assert rival.fired and guard.merged == ["t0-2"] and guard.adopted == []
    after = read(sandbox.url, "Big")
    kept = [t for t in after.tasks if t.key_for("big") == "t0-2"]
    assert [t.title for t in kept] == ["Rival's copy"]  # the older one
    counts = Counter(t.key_for("big") for t in after.tasks)
    assert len(counts) == 6 and set(counts.values()) == {1}
    child = next(t for t in after.tasks if t.key_for("big") == "t1-2")
    assert child.parent_id == kept[0].id


class _RivalThenRefusal(httpx.BaseTransport):
    """A rival's copy of the first key of this client's first bulk create commits just
    before it; the second bulk create is refused (422): the level stops part-way."""

    def __init__(self, server: SandboxServer, workspace_id: str) -> None:
        self._inner = httpx.HTTPTransport()
        self._server, self._workspace_id = server, workspace_id
        self.creates = 0
        self.key = ""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/stories"):
            self.creates += 1
            if self.creates == 1:
                first = json.loads(request.content)["stories"][0]
                self.key = first["external_reference"]["service_model_ref"]
                item = create_item(
                    "big", self.key, {"title": "Rival's copy"}, self._workspace_id, None
                )
                self._server.model.create_stories(self._workspace_id, [item])
            else:
                body = {"errors": [{"type": "validation", "message": "refused for the test"}]}
                return httpx.Response(422, json=body, request=request)
        return self._inner.handle_request(request)


def test_a_level_stopped_part_way_still_deletes_the_copy_it_made(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    # 301 top-level tasks: two batches (300 + 1) of one level; the second fails, so the
    # look-up that would have gone before the next level runs on the way out instead.
    sandbox.model.create_workspace("Big")
    plan = _plan(sandbox.url, write_manifest(tmp_path / "big.yaml", tree((301,))))
    workspace_id = read(sandbox.url, "Big").workspace.id
    rival = _RivalThenRefusal(sandbox, workspace_id)
    guard = CreateGuard()
    with KantataClient(sandbox.url, TOKEN, transport=rival) as client, pytest.raises(ApplyFailed):
        apply_plan(plan, client, guard=guard)
    assert rival.creates == 2 and guard.merged == [rival.key]
    after = read(sandbox.url, "Big")
    counts = Counter(t.key_for("big") for t in after.tasks)
    assert len(counts) == 300 and set(counts.values()) == {1}  # one story per key
    kept = [t for t in after.tasks if t.key_for("big") == rival.key]
    assert [t.title for t in kept] == ["Rival's copy"]  # the older one


# ----------------------------------------------------------------- copies made by anything else


def _copy(client: KantataClient, workspace_id: str, key: str, title: str) -> str:
    """A story carrying the marker of `key`, as an older kxplan or a copied task leaves."""
    item = create_item("big", key, {"title": title}, workspace_id, None)
    made = client.request("POST", "/stories", json={"stories": [item]})
    return str(made["results"][0]["id"])


def test_copies_are_reported_once_and_prune_deletes_only_those_without_peoples_work(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "big.yaml", tree((3, 3)))
    assert kxplan("apply", manifest, "--auto-approve", "--api-url", sandbox.url).code == 0
    live = read(sandbox.url, "Big")
    wid = live.workspace.id
    with KantataClient(sandbox.url, TOKEN) as client:
        idle = [_copy(client, wid, f"t{n % 2}-{n % 3}", "Copy") for n in range(12)]
        done = _copy(client, wid, "t0-0", "Worked on")
        client.request("PUT", f"/stories/{done}", json={"story": {"percentage_complete": 40}})
        parent = _copy(client, wid, "t0-1", "Has a subtask")
        child = {"title": "Someone's subtask", "workspace_id": int(wid), "parent_id": int(parent)}
        client.request("POST", "/stories", json={"stories": [child]})

    planned = kxplan("plan", manifest, "--api-url", sandbox.url)
    assert planned.code == 1
    assert planned.out.count("the marker of another task") == 1  # one problem, not 14 lines
    assert "14 stories carry the marker of another task (6 keys" in planned.out
    assert "and 4 more" in planned.out
    assert "12 carry no people's work: `kxplan apply --prune` deletes them" in planned.out
    assert f"(#{done}: 40 % done" in planned.out and f"(#{parent}: 1 subtask" in planned.out
    assert "duplicates in the workspace: 14 stories carry" in planned.err
    assert "`kxplan apply --prune` deletes the 12 that carry no people's work" in planned.err

    pruned = kxplan("apply", manifest, "--auto-approve", "--prune", "--api-url", sandbox.url)
    assert "Apply complete: 0 added, 0 changed, 0 moved, 12 deleted" in pruned.out, pruned.text
    assert pruned.code == 1  # the two copies with people's work are still there to pick
    assert "verification found duplicates after apply: 2 stories carry" in pruned.err
    after = {t.id: t for t in read(sandbox.url, "Big").tasks}
    assert not set(idle) & set(after)
    assert {done, parent} <= set(after)
    for task in live.tasks:  # the oldest story of each key is the task, untouched
        assert task.id in after


def test_a_saved_plan_takes_the_lock_too_and_allows_lock_timeout(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "big.yaml", tree((2, 2)))
    saved = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--api-url", sandbox.url, "--out", saved).code == 0
    result = kxplan(
        "apply", saved, "--auto-approve", "--api-url", sandbox.url, "--lock-timeout", "5s"
    )
    assert result.code == 0, result.text
    assert "Apply complete: 4 added" in result.out
    assert sandbox.log.count("POST", LOCK_ROUTE) == 2  # taken, then released
    refs = sandbox.model.query_external_references(
        {"subject_type": "Workspace", "service_name": "kxplan-lock"}
    )[0]
    assert [r["external_status"] for r in refs] == ["released"]
