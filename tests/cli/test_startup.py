"""Start-up: `kxplan --help` and `kxplan validate` import neither the HTTP client nor the
sandbox, the command list they print is the one the commands themselves declare, and the
first request of `plan` and `apply` goes out before their planner, renderers and writers
are imported."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from kxplan.cli import LAZY, cli

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("httpx", "httpcore", "ssl", "jsonschema", "kxplan.sandbox", "kxplan.client")

# Runs the command in a fresh interpreter, then reports which heavy modules it imported.
_PROBE = """
import json, sys
from kxplan.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
"""


def _probe(*args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_help_imports_no_client_no_sandbox() -> None:
    assert _probe("--help") == {"code": 0, "loaded": []}


def test_validate_of_a_valid_manifest_imports_no_client_no_sandbox(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nname: s\nworkspace: W\ntasks:\n  - title: A\n")
    assert _probe("validate", str(path)) == {"code": 0, "loaded": []}


def test_plan_loads_the_client_when_it_needs_it(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nname: s\nworkspace: W\ntasks:\n  - title: A\n")
    got = _probe("plan", str(path), "--api-url", "http://127.0.0.1:9")  # nothing listens
    assert got["code"] != 0 and "httpx" in got["loaded"]  # type: ignore[operator]


_TRIO_PROBE = """
import json, sys
import kxplan.client
import httpcore._synchronization as sync
loaded = "trio" in sys.modules
import trio  # still importable for whoever wants it
print(json.dumps({"loaded_by_client": loaded, "httpcore_trio": sync.trio is not None}))
"""


def test_the_client_does_not_import_trio_for_httpcore() -> None:
    """httpcore imports trio when installed (0.13 s of start-up); the client hides it."""
    pytest.importorskip("trio")
    out = subprocess.run(
        [sys.executable, "-c", _TRIO_PROBE],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == {"loaded_by_client": False, "httpcore_trio": False}


@pytest.mark.parametrize("name", sorted(LAZY))
def test_help_listing_matches_each_command(name: str) -> None:
    """The summary `kxplan --help` prints without importing a command is that command's."""
    command = cli.commands[name]  # imports the module
    stand_in = click.Command(name, help=LAZY[name][1])
    for width in (30, 45, 80, 200):
        assert stand_in.get_short_help_str(width) == command.get_short_help_str(width)


def test_every_registered_command_is_listed() -> None:
    assert sorted(cli.commands) == sorted(LAZY)


# Runs the command in a fresh interpreter against the loopback server of the test; notes
# which of `NOT_BEFORE` are imported when its first request leaves and, once that request is
# answered, after the background warm-up (kxplan._deferred) has finished.
_FIRST_REQUEST_PROBE = """
import json, sys, threading
import httpx
from kxplan.cli import main

seen = {}
send = httpx.HTTPTransport.handle_request

def handle(self, request):
    if "before" not in seen:
        seen["before"] = [m for m in %r if m in sys.modules]
    response = send(self, request)
    if "warmed" not in seen:
        for thread in threading.enumerate():
            if thread.name == "kxplan-warm-up":
                thread.join()
        seen["warmed"] = [m for m in %r if m in sys.modules]
    return response

httpx.HTTPTransport.handle_request = handle
try:
    main(sys.argv[1:])
except SystemExit as exc:
    seen["code"] = exc.code
print(json.dumps(seen))
"""

#: What `plan` and `apply` need only once their first request is answered.
NOT_BEFORE = ("kxplan.planner", "kxplan.render", "kxplan.plan", "kxplan.apply", "kxplan.notify")


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every request 401, so the command stops after its first one."""

    def do_GET(self) -> None:
        body = b'{"errors": [{"message": "invalid token"}]}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("command", "warmed"),
    [
        (["plan"], ["kxplan.planner", "kxplan.render", "kxplan.plan"]),
        (["plan", "--json"], ["kxplan.planner", "kxplan.render", "kxplan.plan"]),
        (["apply"], list(NOT_BEFORE)),
        (["apply", "--json"], list(NOT_BEFORE)),
    ],
    ids=["plan", "plan-json", "apply", "apply-json"],
)
@pytest.mark.parametrize("fleet", [False, True], ids=["manifest", "fleet"])
def test_the_first_request_leaves_before_planning_and_rendering_are_imported(
    tmp_path: Path, refusing_api: str, command: list[str], warmed: list[str], fleet: bool
) -> None:
    """The first request of `plan` and `apply` does not wait for the planner, the renderers
    or the writers: they are imported while it is answered (docs/client.md). A fleet's
    first request (the workspaces) does not wait for them either."""
    path = tmp_path / "m.yaml"
    where = "workspaces:\n  - workspace: W\n" if fleet else "workspace: W\n"
    path.write_text(f"version: 1\nname: s\n{where}tasks:\n  - title: A\n")
    probe = _FIRST_REQUEST_PROBE % (NOT_BEFORE, NOT_BEFORE)
    out = subprocess.run(
        [sys.executable, "-c", probe, *command, str(path), "--api-url", refusing_api],
        env={**os.environ, "PYTHONPATH": str(ROOT), "KANTATA_TOKEN": "x"},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])  # after any --json events
    assert seen["code"] == 1, out.stderr  # the 401 stopped it, after one request
    assert seen["before"] == [], (out.stdout[-3000:], out.stderr[-2000:])
    assert seen["warmed"] == warmed
