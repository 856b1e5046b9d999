"""The workspace mapping form and fleets (`workspaces:`), as the CLI will load them:
`load_manifest` / `load_fleet`, their values and their located problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.errors import Problem
from kxplan.manifest import ManifestError, load_fleet, load_manifest, load_manifests
from kxplan.model import DesiredWorkspace

HEAD = "version: 1\nname: onboarding\n"

FLEET = (
    HEAD
    + """\
vars:
  kickoff: 2027-01-04
  client: Example
  needs_legal: false
workspaces:
  - workspace: "Acme — Onboarding"
    vars: {client: Acme, needs_legal: true}
  - workspace:
      title: "${client} — Onboarding"
      create: true
      start_date: ${kickoff}
      due_date: ${kickoff + 12w}
    vars: {client: Globex, kickoff: 2027-02-01}
  - workspace: {id: 41001}
    vars: {client: Initech}
tasks:
  - title: Kickoff with ${client}
    start_date: ${kickoff}
  - key: legal
    title: Legal review
    when: ${needs_legal}
"""
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, fleet: bool = False) -> list[Problem]:
    with pytest.raises(ManifestError) as raised:
        load_fleet(path) if fleet else load_manifest(path)
    return raised.value.problems


# ---------------------------------------------------------------- the mapping form


def test_the_mapping_form_keeps_manifest_workspace_the_title(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.yaml",
        HEAD + "vars: {kickoff: 2027-01-04, client: Acme}\n"
        "workspace:\n"
        "  title: ${client} Onboarding\n"
        "  create: true\n"
        "  description: Onboarding for ${client}\n"
        "  start_date: ${kickoff}\n"
        "  due_date: ${kickoff + 12w}\n"
        "tasks: []\n",
    )
    manifest = load_manifest(path)
    assert manifest.workspace == "Acme Onboarding"
    desired = manifest.desired_workspace
    assert desired is not None
    assert (desired.title, desired.id, desired.create) == ("Acme Onboarding", None, True)
    assert (desired.description, desired.start_date, desired.due_date) == (
        "Onboarding for Acme",
        "2027-01-04",
        "2027-03-29",
    )
    assert desired.fields == {"description", "start_date", "due_date"}
    assert (desired.loc.line, desired.loc.col) == (5, 3)


def test_an_id_from_a_variable_is_a_number(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.yaml", HEAD + "vars: {ws: 41001}\nworkspace: {id: '${ws}'}\ntasks: []\n"
    )
    manifest = load_manifest(path)
    assert manifest.workspace == 41001
    assert manifest.desired_workspace == DesiredWorkspace(
        id=41001, loc=manifest.desired_workspace.loc
    )  # type: ignore[union-attr]


def test_a_plain_title_has_no_mapping_form(tmp_path: Path) -> None:
    path = write(tmp_path / "m.yaml", HEAD + "workspace: Acme\ntasks: []\n")
    manifest = load_manifest(path)
    assert (manifest.workspace, manifest.desired_workspace) == ("Acme", None)


def test_both_a_title_and_an_id_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "m.yaml", HEAD + "workspace: {title: A, id: 4}\ntasks: []\n")
    (problem,) = problems_of(path)
    assert (problem.line, problem.message) == (3, "the workspace has both a title and an id")


# ---------------------------------------------------------------- fleets


def test_a_fleet_has_one_member_per_entry_with_its_vars_over_the_templates(
    tmp_path: Path,
) -> None:
    fleet = load_fleet(write(tmp_path / "fleet.yaml", FLEET))
    assert (fleet.path, fleet.name) == (str(tmp_path / "fleet.yaml"), "onboarding")
    summary = [
        (m.workspace, [t.title for t in m.manifest.tasks], m.manifest.tasks[0].start_date)
        for m in fleet.members
    ]
    assert summary == [
        ("Acme — Onboarding", ["Kickoff with Acme", "Legal review"], "2027-01-04"),
        ("Globex — Onboarding", ["Kickoff with Globex"], "2027-02-01"),
        (41001, ["Kickoff with Initech"], "2027-01-04"),
    ]
    globex = fleet.members[1].manifest.desired_workspace
    assert globex is not None
    assert (globex.title, globex.create, globex.due_date) == (
        "Globex — Onboarding",
        True,
        "2027-04-26",
    )
    assert [(m.loc.line, m.loc.col) for m in fleet.members] == [(8, 5), (10, 5), (16, 5)]
    assert dict(fleet.members[1].vars)["client"] == "Globex"


def test_var_overrides_win_over_the_entry_and_the_template(tmp_path: Path) -> None:
    fleet = load_fleet(write(tmp_path / "fleet.yaml", FLEET), {"client": "Override"})
    assert {m.manifest.tasks[0].title for m in fleet.members} == {"Kickoff with Override"}


def test_an_error_only_some_entries_have_names_the_entry(tmp_path: Path) -> None:
    text = FLEET.replace("{client: Initech}", "{client: Initech, kickoff: 2027-02-30}")
    problems = problems_of(write(tmp_path / "fleet.yaml", text), fleet=True)
    (problem,) = problems
    # At the template's use of the variable, in the entry that set it.
    assert (problem.line, problem.message) == (20, "start_date '2027-02-30' is not a calendar date")
    assert problem.chain == (f"for workspaces entry 3 at {tmp_path / 'fleet.yaml'}:16:5",)


def test_an_error_every_entry_has_is_reported_once(tmp_path: Path) -> None:
    text = FLEET.replace(
        "    start_date: ${kickoff}\n  - key", "    owner: me\n    start_date: ${kickoff}\n  - key"
    )
    (problem,) = problems_of(write(tmp_path / "fleet.yaml", text), fleet=True)
    assert (problem.line, problem.message, problem.chain) == (
        20,
        "unknown field 'owner' in task",
        (),
    )


def test_a_fleet_entry_with_an_unknown_field(tmp_path: Path) -> None:
    text = FLEET.replace("    vars: {client: Initech}", "    var: {client: Initech}")
    problems = problems_of(write(tmp_path / "fleet.yaml", text), fleet=True)
    assert [(p.line, p.message, p.hint) for p in problems] == [
        (17, "unknown field 'var' in workspaces item", "did you mean 'vars'?")
    ]


def test_an_empty_fleet_says_how_to_list_its_workspaces(tmp_path: Path) -> None:
    text = "version: 1\nname: f\nworkspaces: []\ntasks:\n  - title: A\n"
    problems = problems_of(write(tmp_path / "fleet.yaml", text), fleet=True)
    assert [(p.line, p.col, p.message) for p in problems] == [
        (3, 13, "workspaces needs at least 1 item")
    ]
    assert "- workspace: TITLE_OR_ID" in str(problems[0].hint)
    assert "workspace: for a single workspace" in str(problems[0].hint)


def test_a_fleet_loaded_as_one_of_several_manifests_is_refused_at_workspaces(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "fleet.yaml", FLEET)
    (problem,) = problems_of(path)
    assert problem.line == 7
    assert "it is planned and applied on its own" in problem.message
    assert len(load_manifests([path], allow_fleets=True)) == 3


def test_load_fleet_refuses_a_manifest_that_is_not_a_fleet(tmp_path: Path) -> None:
    path = write(tmp_path / "m.yaml", HEAD + "workspace: A\ntasks: []\n")
    (problem,) = problems_of(path, fleet=True)
    assert problem.message == "this manifest is not a fleet: it has no workspaces: list"


def test_an_entrys_var_the_template_never_declares_is_a_typo_for_var_overrides(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "fleet.yaml", FLEET)
    with pytest.raises(ManifestError) as raised:
        load_fleet(path, {"clinet": "x"})
    (problem,) = raised.value.problems
    assert problem.message == "--var clinet: no manifest declares the variable 'clinet'"
    assert problem.hint == "did you mean 'client'?"
