"""Inputs that are not manifest files: pipes, devices, huge files, bad bytes.

The pipe and device cases run the CLI in a subprocess with a timeout, so a regression
(blocking on a FIFO, reading /dev/zero until memory runs out) fails the test instead of
hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kxplan.inputfile import MAX_INPUT_BYTES
from kxplan.manifest.yaml_loader import read_document

REPO = Path(__file__).resolve().parents[2]
DEAD_API = "http://127.0.0.1:9/api/v1"  # never reached: inputs are refused first
HEAD = "version: 1\nname: demo\nworkspace: Acme\ntasks:\n  - title: Kickoff\n"


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KANTATA_TOKEN": "t", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kxplan", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
    )


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    path = tmp_path / "manifest.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_named_pipe_is_refused_at_once(fifo: Path, tmp_path: Path, command: str) -> None:
    extra = ["--api-url", DEAD_API] if command == "plan" else []
    done = cli(command, fifo, *extra, cwd=tmp_path)
    assert done.returncode == 1
    assert f"{fifo}:1:1: is a named pipe (FIFO), not a regular file" in done.stderr
    assert "save the content to a file" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_named_pipe_given_as_a_plan_file_is_refused(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    planfile = tmp_path / "plan.json"
    os.mkfifo(planfile)
    done = cli("apply", planfile, "--auto-approve", "--api-url", DEAD_API, cwd=tmp_path)
    assert done.returncode == 1
    assert "is a named pipe (FIFO), not a regular file" in done.stderr
    assert "plan file" in done.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    done = cli("validate", "/dev/zero", cwd=tmp_path)
    assert done.returncode == 1
    assert "/dev/zero:1:1: is a character device, not a regular file" in done.stderr
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr


def test_a_file_over_the_limit_is_refused_and_the_limit_is_named(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)  # sparse: no disk used
    doc, problems = read_document(huge)
    assert doc is None
    assert [(p.line, p.col) for p in problems] == [(1, 1)]
    assert "larger than 32 MiB" in problems[0].message
    assert "split it into several manifests" in (problems[0].hint or "")


def test_a_nul_byte_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_bytes((HEAD + "  - title: Re\x00view\n").encode())
    doc, problems = read_document(path)
    assert doc is None
    assert [(p.line, p.col) for p in problems] == [(6, 14)]
    assert "U+0000" in problems[0].message


def test_invalid_utf8_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    # "é" is two bytes in UTF-8 but one column: the bad byte is the 14th character.
    path.write_bytes(HEAD.encode() + "  - title: Ré".encode() + b"\xe9sum\n")
    doc, problems = read_document(path)
    assert doc is None
    assert [(p.line, p.col) for p in problems] == [(6, 14)]
    assert problems[0].message == "not a text file (invalid UTF-8 byte 0xe9)"


def test_validate_shows_the_position_of_a_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(HEAD.encode() + b"  - title: \xff\n")
    done = cli("validate", path, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(f"{path}:6:12: not a text file (invalid UTF-8 byte 0xff)")
