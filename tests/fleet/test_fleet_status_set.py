"""A new status set shared by the plans of one run — a fleet's workspaces, or several
manifests applied together — is created once, and every workspace uses that one set."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.client import KantataClient
from kxplan.live import read_status_sets
from kxplan.sandbox import SandboxServer
from kxplan.sandbox.variants import QUESTIONS, Variants
from tests.support import TOKEN, MakeSandbox, kxplan

#: Kantata's open status answers (docs/sandbox.md, "Variants"): the defaults, each unusual
#: answer alone, and all of them unusual at once.
MINE = ("status_names", "set_switch", "status_delete", "name_match")
VARIANTS = (
    Variants(),
    *(Variants(**{q.name: v}) for q in QUESTIONS if q.name in MINE for v in q.values[1:]),
    Variants(**{q.name: q.unusual for q in QUESTIONS if q.name in MINE}),
)

SET = """status_set:
  name: Delivery flow
  statuses:
    - {name: Backlog, category: not started}
    - {name: Doing, category: started}
    - {name: Done, category: completed}
tasks:
  - title: Kickoff
    status: Doing
"""


def _sets(server: SandboxServer) -> list[str]:
    with KantataClient(server.url, TOKEN) as client:
        return sorted(s.name for s in read_status_sets(client))


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)


@pytest.mark.parametrize("variants", VARIANTS, ids=[str(v) for v in VARIANTS])
def test_a_fleet_creates_its_new_status_set_once(
    make_sandbox: MakeSandbox, variants: Variants, tmp_path: Path
) -> None:
    sandbox = make_sandbox(variants=variants)
    fleet = tmp_path / "fleet.yaml"
    entries = "".join(
        f'  - workspace: {{title: "{t}", create: true}}\n' for t in ("Acme", "Globex", "Initech")
    )
    fleet.write_text(f"version: 1\nname: fs\nworkspaces:\n{entries}{SET}", encoding="utf-8")
    before = _sets(sandbox)
    applied = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve")
    assert applied.code == 0, applied.text
    assert applied.out.count("Verified") == 3
    assert _sets(sandbox) == sorted([*before, "Delivery flow"])  # one set, not three
    again = kxplan("plan", fleet, "--api-url", sandbox.url, "--detailed-exitcode")
    assert again.code == 0, again.text  # every workspace uses it, with its statuses


def test_manifests_applied_together_share_one_new_set(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    paths = []
    for stack, title in (("one", "Acme"), ("two", "Globex")):
        path = tmp_path / f"{stack}.yaml"
        path.write_text(
            f'version: 1\nname: {stack}\nworkspace: {{title: "{title}", create: true}}\n{SET}',
            encoding="utf-8",
        )
        paths.append(path)
    before = _sets(sandbox)
    applied = kxplan("apply", *paths, "--api-url", sandbox.url, "--auto-approve")
    assert applied.code == 0, applied.text
    assert _sets(sandbox) == sorted([*before, "Delivery flow"])
    again = kxplan("plan", *paths, "--api-url", sandbox.url, "--detailed-exitcode")
    assert again.code == 0, again.text


def test_fleet_entries_giving_one_new_set_other_statuses_stop_before_any_request(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "version: 1\nname: fs\nvars: {doing: Doing}\nworkspaces:\n"
        '  - workspace: {title: "Acme", create: true}\n'
        '  - workspace: {title: "Globex", create: true}\n'
        "    vars: {doing: Working}\n"
        + SET.replace("{name: Doing,", "{name: '${doing}',").replace(
            "status: Doing", "status: ${doing}"
        ),
        encoding="utf-8",
    )
    applied = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve")
    assert applied.code == 1
    assert "status set 'Delivery flow' is defined differently" in applied.text
    assert "define it the same way in every manifest" in applied.text
    assert sandbox.log.count() == 0
