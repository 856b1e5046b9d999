"""Two applies that create the same workspace at once (docs/apply.md, "Two applies create
one workspace"): real `kxplan apply` processes against one sandbox, their `POST /workspaces`
held by the sandbox's `on_request` hook until every one has arrived, so each apply planned
before any workspace existed and each creates one. Exactly one workspace is left with the
title, the tasks and the marker; the other apply stands down (archives, renames and unmarks
the one it made, writes no task) and says which workspace to use."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from kxplan.sandbox import SandboxServer
from kxplan.sandbox.wire import Arrival
from tests.support import TOKEN, kxplan, write_manifest

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Globex — Onboarding"


class _HoldCreates:
    """Every `POST /workspaces` waits until `expected` of them have arrived (or 30 s, a
    safety net against a hung test): all the applies have planned before any create lands."""

    def __init__(self, server: SandboxServer, expected: int) -> None:
        self._expected = expected
        self._arrived = 0
        self._all = threading.Event()
        self._lock = threading.Lock()
        self.met = False
        server.on_request = self

    def __call__(self, arrival: Arrival) -> None:
        if (arrival.method, arrival.route) != ("POST", "/workspaces"):
            return
        with self._lock:
            self._arrived += 1
            if self._arrived >= self._expected:
                self._all.set()
        self.met = self._all.wait(30) or self.met


def _start(url: str, manifest: Path, token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KANTATA_TOKEN": token, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "kxplan", "apply", str(manifest), "--auto-approve"]
    return subprocess.Popen(
        [*args, "--api-url", url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _race(server: SandboxServer, manifest: Path, creates: int) -> list[tuple[int, str]]:
    hold = _HoldCreates(server, creates)
    procs = [_start(server.url, manifest, f"{TOKEN}-{side}") for side in "ab"]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out.decode() + err.decode()))
    server.on_request = None
    assert hold.met, results
    return results


def _workspaces(server: SandboxServer) -> list[dict[str, Any]]:
    return server.model.store.all("SELECT * FROM workspaces ORDER BY id")


def _marked(server: SandboxServer, stack: str) -> set[int]:
    rows = server.model.store.all(
        "SELECT subject_id FROM external_references WHERE subject_type = 'Workspace' "
        "AND service_name = 'kxplan' AND service_model = ? AND service_model_ref = 'workspace'",
        [stack],
    )
    return {int(r["subject_id"]) for r in rows}


def _stories(server: SandboxServer, workspace_id: int) -> int:
    rows = server.model.store.all(
        "SELECT id FROM stories WHERE workspace_id = ? AND deleted_at IS NULL", [workspace_id]
    )
    return len(rows)


def _single(tmp_path: Path) -> Path:
    doc = {
        "version": 1,
        "name": "onboarding",
        "workspace": {"title": TITLE, "create": True, "description": "Onboarding for Globex"},
        "tasks": [
            {"key": "kickoff", "title": "Kickoff"},
            {"key": "discovery", "title": "Discovery", "children": [{"title": "Interviews"}]},
        ],
    }
    return write_manifest(tmp_path / "single.yaml", doc)


def test_two_applies_creating_one_workspace_leave_one_and_the_other_says_which(
    make_sandbox: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    server = make_sandbox()
    manifest = _single(tmp_path)
    results = _race(server, manifest, creates=2)

    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    winner_text = next(text for code, text in results if code == 0)
    loser_text = next(text for code, text in results if code == 1)
    rows = _workspaces(server)
    assert len(rows) == 2  # both creates landed: the race really happened
    kept, dropped = rows
    assert (kept["title"], kept["archived"]) == (TITLE, 0)
    assert dropped["archived"] == 1
    assert dropped["title"] == f"{TITLE} (duplicate of {kept['id']}, archived by kxplan)"
    assert _marked(server, "onboarding") == {kept["id"]}
    assert (_stories(server, kept["id"]), _stories(server, dropped["id"])) == (3, 0)
    assert "Verified: the workspace matches the manifest." in winner_text
    assert (
        f"another apply created workspace '{TITLE}' at the same time: workspace {kept['id']}"
        in loser_text
    )
    assert f"plans against workspace {kept['id']}" in loser_text

    # The title names one workspace again: the loser's next plan has nothing to do.
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    again = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text


FLEET = """\
version: 1
name: onboarding
vars:
  client: Example
workspaces:
  - workspace: {{title: "Acme — Onboarding", create: true}}
    vars: {{client: Acme}}
  - workspace: {{title: "Globex — Onboarding", create: true}}
    vars: {{client: Globex}}
  - workspace: "{existing}"
    vars: {{client: Initech}}
tasks:
  - key: kickoff
    title: Kickoff with ${{client}}
"""


def test_two_fleet_applies_creating_the_same_workspaces_leave_one_of_each(
    make_sandbox: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    server = make_sandbox()
    server.model.create_workspace("Initech — Onboarding")
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(FLEET.format(existing="Initech — Onboarding"), encoding="utf-8")
    results = _race(server, manifest, creates=4)

    live = [r for r in _workspaces(server) if not r["archived"]]
    titles = Counter(r["title"] for r in live)
    assert titles == Counter(
        {"Acme — Onboarding": 1, "Globex — Onboarding": 1, "Initech — Onboarding": 1}
    )
    archived = [r for r in _workspaces(server) if r["archived"]]
    assert len(archived) == 2 and all("(duplicate of " in r["title"] for r in archived)
    created = {r["id"] for r in live if r["title"] != "Initech — Onboarding"}
    assert _marked(server, "onboarding") == created  # a plain title is not managed: unmarked
    assert all(_stories(server, r["id"]) == 1 for r in live)
    assert all(_stories(server, r["id"]) == 0 for r in archived)
    # Each loss is that entry's failure (the run exits 1); the other entries went on.
    texts = "\n".join(text for _, text in results)
    assert texts.count("(the oldest with this title) is the one to use") == 2, results
    assert any(code == 1 for code, _ in results)

    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    again = kxplan("plan", manifest, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text
