"""Run the CLI as a user would (in-process, or on a terminal), write manifests, and look at
what a run left in a sandbox workspace (snapshot, duplicates)."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import select
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kxplan.cli import main
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.model import LiveState

TOKEN = "e2e-test-token"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def kxplan(*args: str) -> Result:
    """Run `kxplan ARGS` in this process, as a user would in a shell (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Result(code, out.getvalue(), err.getvalue())


def write_manifest(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def read(url: str, workspace: str | int) -> LiveState:
    with KantataClient(url, TOKEN) as client:
        return read_live(client, workspace)


def snapshot(live: LiveState, stack: str) -> dict[str, Any]:
    """What a user sees of the managed tree: key -> (title, parent key, tags, checklist, status),
    plus the workspace's status set. Ids and timestamps are left out so runs compare."""
    keys = {t.id: t.key_for(stack) or f"unmanaged:{t.title}" for t in live.tasks}
    tasks = {
        keys[t.id]: (
            t.title,
            keys.get(t.parent_id or ""),
            tuple(sorted(t.tags)),
            tuple((i.name, i.completed) for i in t.checklist),
            t.status,
            t.type,
            t.archived,
        )
        for t in live.tasks
    }
    assigned = live.assigned_status_set()
    statuses = tuple((s.name, s.category) for s in assigned.statuses) if assigned else ()
    return {"tasks": tasks, "status_set": assigned.name if assigned else None, "statuses": statuses}


def duplicates(live: LiveState, stack: str) -> list[str]:
    """Everything that exists twice: tasks with one key, checklist items, statuses, sets."""
    found: list[str] = []
    markers = Counter(t.key_for(stack) for t in live.tasks if t.key_for(stack))
    found += [f"task {k} x{n}" for k, n in markers.items() if n > 1]
    for t in live.tasks:
        names = Counter(i.name for i in t.checklist)
        found += [f"item {t.title}/{k} x{n}" for k, n in names.items() if n > 1]
    sets = Counter(s.name for s in live.status_sets)
    found += [f"set {k} x{n}" for k, n in sets.items() if n > 1]
    for s in live.status_sets:
        names = Counter(st.name for st in s.statuses)
        found += [f"status {s.name}/{k} x{n}" for k, n in names.items() if n > 1]
    return found


def tree(sizes: tuple[int, ...]) -> dict[str, Any]:
    """Level n's tasks spread round-robin under level n-1's; each with tags and a checklist."""
    levels: list[list[dict[str, Any]]] = []
    for depth, size in enumerate(sizes):
        row = [
            {
                "key": f"t{depth}-{i}",
                "title": f"Task {depth}.{i}",
                "tags": [f"level-{depth}"],
                "checklist": ["Prepare", "Review"],
            }
            for i in range(size)
        ]
        for i, task in enumerate(row):
            if levels:
                levels[-1][i % len(levels[-1])].setdefault("children", []).append(task)
        levels.append(row)
    return {"version": 1, "name": "big", "workspace": "Big", "tasks": levels[0]}


def run_on_terminal(args: list[str], answer: str, timeout: float = 60.0) -> tuple[int, str]:
    """Run `kxplan ARGS` with a pseudo-terminal as stdin/stdout/stderr; type `answer` at the
    prompt. Returns (exit code, everything it printed)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "KANTATA_TOKEN": TOKEN, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kxplan", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"Apply these changes?" in seen:
                os.write(leader, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=5), seen.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
