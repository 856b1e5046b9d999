"""What the fleet tests share: a sandbox with three client workspaces and a fleet manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.client import KantataClient
from kxplan.sandbox import SandboxServer
from tests.support.cli import TOKEN

CLIENTS = ("Acme", "Globex", "Initech")

TEMPLATE = """\
version: 1
name: onboarding
vars:
  kickoff: 2027-01-04
  client: Example
workspaces:
{entries}
tasks:
  - key: kickoff
    title: Kickoff with ${{client}}
    start_date: ${{kickoff}}
  - key: discovery
    title: Discovery
    due_date: ${{kickoff + 2w}}
    children:
      - key: interviews
        title: Stakeholder interviews
{extra}"""


def title(client: str) -> str:
    return f"{client} — Onboarding"


def entries(clients: tuple[str, ...] = CLIENTS) -> str:
    lines = []
    for i, client in enumerate(clients):
        lines.append(f'  - workspace: "{title(client)}"')
        lines.append(f"    vars: {{client: {client}, kickoff: 2027-0{i + 1}-04}}")
    return "\n".join(lines)


def write_fleet(
    path: Path, clients: tuple[str, ...] = CLIENTS, extra: str = "", body: str | None = None
) -> Path:
    text = body if body is not None else TEMPLATE.format(entries=entries(clients), extra=extra)
    path.write_text(text, encoding="utf-8")
    return path


def fleet_site(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The three workspaces created, the token set, the test's directory current:
    client -> workspace id."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    ids = {}
    for client in CLIENTS:
        ids[client] = str(server.model.create_workspace(title(client))["id"])
    return ids


def client_of(server: SandboxServer) -> KantataClient:
    return KantataClient(str(server.url), TOKEN)


def titles(server: SandboxServer, workspace_id: str) -> dict[str, Any]:
    """Story title -> story of one workspace."""
    with client_of(server) as client:
        records = client.get_all("/stories", {"workspace_id": workspace_id, "show_archived": True})
    return {str(r["title"]): r for r in records}
