"""`kill -9` during apply, at many points, then apply again: it converges with no duplicates."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import Faults
from kxplan.sandbox.wire import Arrival
from tests.support import TOKEN, duplicates, kxplan, read, snapshot, write_manifest

from .scenario import STACK, WORKSPACE, base, edited

ROOT = Path(__file__).resolve().parents[2]
WRITES = ("POST", "PUT", "DELETE")


def _writes(server: Any) -> int:
    return sum(server.log.count(m) for m in WRITES)


def _apply_killed_after(server: Any, manifest: Path, writes: int, *flags: str) -> bool:
    """Run `kxplan apply` in a subprocess and SIGKILL it once the sandbox has seen `writes`
    writes. False if it finished first."""
    env = {**os.environ, "KANTATA_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "kxplan", "apply", str(manifest), "--auto-approve"]
    start = _writes(server)
    proc = subprocess.Popen(
        [*args, "--api-url", server.url, *flags],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while proc.poll() is None:
            if _writes(server) - start >= writes:
                proc.kill()  # SIGKILL: no cleanup, no goodbye
                proc.wait()
                return True
            time.sleep(0.0005)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _writes_of_clean_run(make_sandbox: Any, tmp_path: Path) -> tuple[int, int]:
    server = make_sandbox()
    server.model.create_workspace(WORKSPACE)
    counts = []
    for doc, flags in ((base(), ()), (edited(), ("--prune",))):
        before = _writes(server)
        path = write_manifest(tmp_path / "clean.yaml", doc)
        assert kxplan("apply", path, "--auto-approve", "--api-url", server.url, *flags).code == 0
        counts.append(_writes(server) - before)
    return counts[0], counts[1]


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_converges_without_duplicates(
    make_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    # A killed apply leaves its workspace lock behind until it expires: 1 s here, and the
    # rerun waits for it (docs/apply.md, "When two applies meet").
    monkeypatch.setenv("KXPLAN_LOCK_TTL", "1")
    bootstrap_writes, edit_writes = _writes_of_clean_run(make_sandbox, tmp_path)
    rng = random.Random(6)
    points = [("base", rng.randint(1, bootstrap_writes - 1)) for _ in range(6)]
    points += [("edit", rng.randint(1, edit_writes - 1)) for _ in range(6)]
    killed = 0
    for step, k in points:
        server = make_sandbox(faults=Faults(latency_ms=15))  # time to land between writes
        server.model.create_workspace(WORKSPACE)
        manifest = write_manifest(tmp_path / f"{step}-{k}.yaml", base())
        flags: tuple[str, ...] = ()
        if step == "edit":
            assert kxplan("apply", manifest, "--auto-approve", "--api-url", server.url).code == 0
            write_manifest(manifest, edited())
            flags = ("--prune",)
        killed += _apply_killed_after(server, manifest, k, *flags)
        server.faults = Faults()
        wait = ("--lock-timeout", "30s")
        result = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url, *wait, *flags)
        assert result.code == 0, f"{step} killed after {k} writes: {result.text}"
        # Killed after its last change but before releasing the lock (its last write), the
        # first run finished the work: the rerun waits the lock out and has nothing to do.
        finished = "No changes." in result.out
        assert finished or "Verified: the workspace matches the manifest." in result.out
        live = read(server.url, WORKSPACE)
        assert duplicates(live, STACK) == [], f"{step} killed after {k} writes"
        plan = kxplan("plan", manifest, "--detailed-exitcode", "--api-url", server.url, *flags)
        assert plan.code == 0, plan.text
        assert "kickoff" in snapshot(live, STACK)["tasks"] or step == "edit"
    assert killed >= 10


def test_ctrl_c_part_way_says_what_was_applied_and_a_rerun_finishes(
    make_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    server = make_sandbox(faults=Faults(latency_ms=40))
    server.model.create_workspace(WORKSPACE)
    manifest = write_manifest(tmp_path / "m.yaml", base())
    # The fourth write is held at the sandbox until Ctrl-C has been sent, so the apply is
    # part-way whatever the machine's speed (it once finished before the signal came).
    writes, signalled, held = [0], threading.Event(), threading.Event()

    def hold_the_fourth_write(arrival: Arrival) -> None:
        if arrival.method in WRITES:
            writes[0] += 1
            if writes[0] == 4:
                held.set()
                signalled.wait(timeout=30)

    server.on_request = hold_the_fourth_write
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "kxplan", "apply", str(manifest), "--auto-approve"]
    proc = subprocess.Popen(
        [*args, "--api-url", server.url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    while not held.wait(timeout=0.01) and proc.poll() is None:
        pass
    assert held.is_set(), "the apply finished before its fourth write"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    signalled.set()
    server.on_request = None
    assert proc.returncode == 1
    text = err.decode()
    assert "apply stopped: interrupted (Ctrl-C)" in text and "Not applied:" in text
    server.faults = Faults()
    result = kxplan("apply", manifest, "--auto-approve", "--api-url", server.url)
    assert result.code == 0, result.text
    assert duplicates(read(server.url, WORKSPACE), STACK) == []
