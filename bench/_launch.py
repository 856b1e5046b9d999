"""A tiny launcher: run `python -m kxplan ARGS...` as its child and report the child alone.

    python bench/_launch.py OUTPUT_FILE ARG...
    python bench/_launch.py OUTPUT_FILE --python-only    # the interpreter alone: python -c pass

It prints one JSON object: the child's exit code, its user + system CPU seconds and peak
resident memory (from `wait4`, i.e. the child's own rusage), and the `time.monotonic()`
readings just before the child was spawned and just after it was reaped (CLOCK_MONOTONIC,
the same clock across processes on Linux, so a sandbox in another process can compare its
request times with them). The child's stdout and stderr go to OUTPUT_FILE.

Why a launcher: a child's peak RSS starts from its parent's at the spawn (Linux carries the
parent's high-water mark across fork/vfork and exec), so a kxplan child of the bench — whose
process holds the sandbox and its data — would report the bench's memory, not its own. This
process imports almost nothing, so what it passes on is a few MB, well below kxplan's own.
"""

from __future__ import annotations

import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout
PYTHON_ONLY = "--python-only"


def installed_env() -> dict[str, str]:
    """The environment kxplan runs in, as when installed: `pip install` byte-compiles the
    package, so the bench lets Python write and use `__pycache__` (PYTHONDONTWRITEBYTECODE,
    set on some machines, would make every run compile all of kxplan again: ~0.3-0.5 s of
    start-up no installed kxplan pays). `compile_kxplan()` fills the cache before the runs."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_kxplan() -> None:
    """Byte-compile kxplan, as `pip install` does, so no measured run compiles it."""
    import subprocess  # here: the launcher itself stays small (its peak passes to the child)

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "kxplan")],
        env=installed_env(),
        check=True,
    )


def main(argv: list[str]) -> int:
    """Spawn kxplan with `argv[1:]`, its output to `argv[0]`; print what it cost."""
    out_path, args = argv[0], argv[1:]
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    actions = [
        (os.POSIX_SPAWN_DUP2, fd, 1),
        (os.POSIX_SPAWN_DUP2, fd, 2),
        (os.POSIX_SPAWN_CLOSE, fd),
    ]
    # `--python-only`: the interpreter alone (`python -c pass`), the start-up every run pays
    # before kxplan's first line (site-packages' .pth files included: machine-dependent).
    bare = args == [PYTHON_ONLY]
    command = [sys.executable, "-c", "pass"] if bare else [sys.executable, "-m", "kxplan", *args]
    spawned = time.monotonic()
    pid = os.posix_spawn(sys.executable, command, dict(os.environ), file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    ended = time.monotonic()
    os.close(fd)
    report = {
        "code": os.waitstatus_to_exitcode(status),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
        "spawned": spawned,
        "ended": ended,
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
