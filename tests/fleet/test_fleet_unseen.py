"""A fleet template nobody here wrote, tried as a new user would (docs/fleet.md): other
vars, includes inside includes, `for_each` over mappings, `when` false in every entry,
titles with odd unicode and spaces, entries by id, a marked fleet one of whose workspaces
a person archived and another renamed, YAML 1.1's "Norway problem", and the messages a
first template's usual mistakes get."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan

TITLES = ("  Zürich   Rollout ", "Ødegaard — Rollout ✨", "Tokyo\u00a0Rollout")

FLEET = """\
version: 1
name: rollout
vars:
  go_live: 2027-03-01
  region: EU
  audit: false
  teams:
    - {id: platform, name: Platform, lead: Ana}
    - {id: mobile, name: Mobile, lead: Bo}
workspaces:
  - workspace: {title: "  Zürich   Rollout ", create: true}
    vars: {region: CH}
  - workspace: {title: "Ødegaard — Rollout ✨", create: true, description: "Rollout for ${region}"}
    vars: {region: NO, teams: [{id: data, name: Data, lead: Cy}]}
  - workspace: {title: "Tokyo\\u00a0Rollout", create: true}
    vars: {region: JP, go_live: 2027-05-01}
tasks:
  - include: mods/phase.yaml
    vars: {when_start: "${go_live}", region: "${region}"}
  - key: team-${each.id}
    for_each: ${teams}
    title: Team ${each.name} (lead ${each.lead})
    due_date: ${go_live + 1w}
  - key: audit
    title: Audit
    when: ${audit}
"""

PHASE = """\
vars:
  region: XX
tasks:
  - key: prep
    title: Preparation ${region}
    start_date: ${when_start}
    children:
      - include: deep/checks.yaml
"""

CHECKS = """\
vars:
  strict: false
tasks:
  - key: check-${each}
    for_each: [network, security]
    title: Check ${each}
  - key: strict
    title: Strict
    when: ${strict}
"""


@pytest.fixture
def site(make_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty sandbox and the template, its included module and the module it includes."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mods" / "deep").mkdir(parents=True)
    (tmp_path / "mods" / "phase.yaml").write_text(PHASE, encoding="utf-8")
    (tmp_path / "mods" / "deep" / "checks.yaml").write_text(CHECKS, encoding="utf-8")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET, encoding="utf-8")
    return make_sandbox(), fleet


def _run(server: SandboxServer, *args: Any) -> Any:
    return kxplan(*args, "--api-url", server.url)


def _workspaces(server: SandboxServer) -> dict[str, dict[str, Any]]:
    rows = server.model.store.all("SELECT * FROM workspaces ORDER BY id")
    return {str(r["title"]): r for r in rows}


def _titles(server: SandboxServer, workspace_id: int) -> list[str]:
    rows = server.model.store.all(
        "SELECT title FROM stories WHERE workspace_id = ? AND deleted_at IS NULL ORDER BY title",
        [workspace_id],
    )
    return [str(r["title"]) for r in rows]


def test_the_template_bootstraps_every_entry_and_replans_to_nothing(site: Any) -> None:
    server, fleet = site
    assert kxplan("validate", fleet).code == 0
    done = _run(server, "apply", fleet, "--auto-approve")
    assert done.code == 0, done.text
    assert "3 workspaces, 3 ok, 0 no changes, 0 failed; 14 added" in done.out

    made = _workspaces(server)
    # Kantata's answer is the title (the sandbox strips the ends, as Kantata's forms do).
    assert sorted(made) == sorted(t.strip() for t in TITLES)
    zurich, norway = made["Zürich   Rollout"], made["Ødegaard — Rollout ✨"]
    assert _titles(server, zurich["id"]) == [
        "Check network",
        "Check security",
        "Preparation CH",
        "Team Mobile (lead Bo)",
        "Team Platform (lead Ana)",
    ]
    # `region: NO` is the text NO (YAML 1.2), not false; `when: false` everywhere: no audit.
    assert norway["description"] == "Rollout for NO"
    assert "Preparation NO" in _titles(server, norway["id"])
    every = [t for r in made.values() for t in _titles(server, r["id"])]
    assert not any("Audit" in t or "Strict" in t for t in every)

    again = _run(server, "plan", fleet, "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "3 workspaces, 0 ok, 3 no changes, 0 failed" in again.out


def test_entries_by_id_plan_in_those_workspaces_and_a_missing_id_fails_alone(
    site: Any, tmp_path: Path
) -> None:
    server, _ = site
    tokyo = server.model.create_workspace("Tokyo Rollout")
    oslo = server.model.create_workspace("Oslo Rollout")
    byid = tmp_path / "byid.yaml"
    byid.write_text(
        "version: 1\nname: rollout\nvars: {region: EU}\nworkspaces:\n"
        f"  - workspace: {tokyo['id']}\n    vars: {{region: JP}}\n"
        f"  - workspace: {{id: {oslo['id']}, description: By id}}\n    vars: {{region: 'NO'}}\n"
        "  - workspace: {id: 99999}\n    vars: {region: XX}\n"
        "tasks:\n  - key: hello\n    title: Hello ${region}\n",
        encoding="utf-8",
    )
    result = _run(server, "apply", byid, "--auto-approve")
    assert result.code == 1, result.text
    assert "workspace '99999' was not found" in result.text  # that entry's failure alone
    assert "failed: '99999'; the others were applied" in result.text
    assert _titles(server, int(tokyo["id"])) == ["Hello JP"]
    assert _titles(server, int(oslo["id"])) == ["Hello NO"]
    assert _workspaces(server)["Oslo Rollout"]["description"] == "By id"
    # The workspace update is verified against the workspace as it is now, not as read before.
    assert result.out.count("Verified: the workspace matches the manifest.") == 2, result.text


MARKED = """\
version: 1
name: rollout
vars: {region: EU}
workspaces: {marked: true, vars: {region: ALL}}
tasks:
  - key: hello
    title: Hello ${region}
"""


def test_a_marked_fleet_skips_an_archived_workspace_and_follows_a_renamed_one(
    site: Any, tmp_path: Path
) -> None:
    server, fleet = site
    assert _run(server, "apply", fleet, "--auto-approve").code == 0
    made = _workspaces(server)
    archived, renamed = made["Zürich   Rollout"]["id"], made["Tokyo\u00a0Rollout"]["id"]
    server.model.update_workspace(archived, {"archived": True})
    server.model.update_workspace(renamed, {"title": "Tokyo (renamed by Kim)"})
    marked = tmp_path / "marked.yaml"
    marked.write_text(MARKED, encoding="utf-8")

    result = _run(server, "apply", marked, "--auto-approve", "--format", "json")
    assert result.code == 0, result.text
    assert f"Skipping workspace 'Zürich   Rollout' ({archived}): archived in Kantata." in result.err
    doc = json.loads(result.out)
    ids = sorted(str(w["workspace"]["id"]) for w in doc["workspaces"])
    assert ids == sorted([str(renamed), str(made["Ødegaard — Rollout ✨"]["id"])])
    assert "Hello ALL" in _titles(server, renamed)
    assert "Hello ALL" not in _titles(server, archived)


def test_a_first_templates_usual_mistakes_say_what_to_write(site: Any, tmp_path: Path) -> None:
    server, _ = site
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nname: rollout\nworkspaces:\n"
        "  - workspace: A\n    vars: {teams: [{name: Platform}]}\n"
        "vars: {teams: []}\n"
        "tasks:\n"
        "  - key: team-${each.name}\n    for_each: ${teams}\n    title: Team ${each.name}\n"
        "  - {key: done, title: Done, archived: yes}\n",
        encoding="utf-8",
    )
    result = kxplan("validate", bad)
    assert result.code == 1
    assert "here it is 'team-Platform'; did you mean 'team-platform'?" in result.err
    assert "archived must be true or false, not a string" in result.err
    assert "kxplan reads YAML 1.2, where yes, no, on and off are text" in result.err
    assert len(server.log.entries) == 0


def test_a_created_workspace_a_person_renamed_is_not_created_again(site: Any) -> None:
    server, fleet = site
    assert _run(server, "apply", fleet, "--auto-approve").code == 0
    tokyo = _workspaces(server)["Tokyo\u00a0Rollout"]["id"]
    server.model.update_workspace(tokyo, {"title": "Tokyo (renamed by Kim)"})

    result = _run(server, "apply", fleet, "--auto-approve")
    assert result.code == 1, result.text
    shown = repr("Tokyo\u00a0Rollout")  # an odd space is shown as what it is
    assert (
        f"this stack made workspace {tokyo} as {shown}, and it is titled "
        "'Tokyo (renamed by Kim)' now (renamed in Kantata)" in result.text
    )
    assert f"(workspace: {{id: {tokyo}}})" in result.text
    assert len(_workspaces(server)) == 3  # no second Tokyo; the other entries had no changes
    assert "2 no changes, 1 failed" in result.out
