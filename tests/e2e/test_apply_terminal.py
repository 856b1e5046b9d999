"""On a terminal: apply shows the plan and asks; `n` writes nothing, `y` applies with a
progress bar."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .helpers import TOKEN, tree, write_manifest

ROOT = Path(__file__).resolve().parents[2]


def _run_on_terminal(args: list[str], answer: str, timeout: float = 60.0) -> tuple[int, str]:
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


def test_answering_no_writes_nothing(sandbox: Any, tmp_path: Path) -> None:
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "m.yaml", tree((3, 3)))
    code, text = _run_on_terminal(["apply", str(manifest), "--api-url", sandbox.url], "n")
    assert "Plan: 6 to add" in text and "Apply these changes? [y/N]" in text
    assert code == 1 and "Aborted" in text
    assert sandbox.log.count("POST") == 0


def test_answering_yes_applies_with_a_progress_bar(sandbox: Any, tmp_path: Path) -> None:
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "m.yaml", tree((10, 30)))
    code, text = _run_on_terminal(["apply", str(manifest), "--api-url", sandbox.url], "y")
    assert code == 0, text
    assert "Applying" in text and "100%" in text
    # Two bulk creates, each after a lock check and a marker look-up, and before a marker
    # check for copies made meanwhile (docs/apply.md, "When two applies meet").
    assert "Apply complete: 40 added, 0 changed, 0 moved, 0 deleted in 8 requests" in text
    assert "Verified: the workspace matches the manifest." in text
