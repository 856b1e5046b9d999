"""load_manifest(s): the Manifest a planner receives, and the problems a user sees."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kxplan.errors import ManifestError
from kxplan.manifest import load_manifest, load_manifests, slugify
from kxplan.manifest.keys import is_valid_key
from kxplan.model import Location

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems_of(path: Path, overrides: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ManifestError) as err:
        load_manifest(path, overrides or {})
    return [f"{p.line}:{p.col}: {p.message}" for p in err.value.problems]


BASIC = """
    version: 1
    name: demo
    workspace: 42
    vars:
      kickoff: 2027-01-04
    enforce: [status]
    ignore_changes: [description]
    tasks:
      - title: Discovery
        start_date: ${kickoff}
        due_date: ${kickoff + 2w}
        tags: [phase-1, client]
        children:
          - title: Kickoff call
            status: started
            checklist: [Agenda, {name: Notes sent, completed: true}]
            ignore_changes: [tags]
          - key: interviews
            title: Interviews
            renamed_from: [old-interviews]
      - title: Delivery
    """


def test_tasks_are_flattened_in_pre_order_with_derived_keys(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, BASIC))
    assert [(t.key, t.parent_key, t.depth, t.index) for t in manifest.tasks] == [
        ("discovery", None, 0, 0),
        ("discovery/kickoff-call", "discovery", 1, 0),
        ("interviews", "discovery", 1, 1),
        ("delivery", None, 0, 1),
    ]
    assert manifest.name == "demo"
    assert manifest.workspace == 42
    assert manifest.vars == (("kickoff", "2027-01-04"),)


def test_fields_list_exactly_what_the_manifest_wrote(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, BASIC))
    discovery, call, interviews, _ = manifest.tasks
    assert discovery.fields == {"title", "parent", "start_date", "due_date", "tags"}
    assert call.fields == {"title", "parent", "status", "checklist"}
    assert interviews.fields == {"title", "parent"}
    assert (discovery.start_date, discovery.due_date) == ("2027-01-04", "2027-01-18")
    assert discovery.tags == ("phase-1", "client")
    assert [(i.name, i.completed) for i in call.checklist] == [
        ("Agenda", False),
        ("Notes sent", True),
    ]
    assert interviews.renamed_from == ("old-interviews",)


def test_enforce_and_ignore_changes_merge_with_the_top_level(tmp_path: Path) -> None:
    _, call, interviews, _ = load_manifest(write(tmp_path, BASIC)).tasks
    assert call.enforce == {"status"}
    assert call.ignore_changes == {"description", "tags"}
    assert interviews.ignore_changes == {"description"}


def test_task_locations_point_at_the_list_item(tmp_path: Path) -> None:
    path = write(tmp_path, BASIC)
    call = load_manifest(path).tasks[1]
    assert call.loc == Location(str(path), 14, 9)


def test_var_overrides_change_every_derived_date(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, BASIC), {"kickoff": "2027-03-01"})
    assert (manifest.tasks[0].start_date, manifest.tasks[0].due_date) == (
        "2027-03-01",
        "2027-03-15",
    )


def test_a_var_override_nobody_declares_is_reported(tmp_path: Path) -> None:
    assert problems_of(write(tmp_path, BASIC), {"kikoff": "2027-03-01"}) == [
        "4:1: --var kikoff: no manifest declares the variable 'kikoff'"
    ]


def test_vars_may_use_vars_declared_above(tmp_path: Path) -> None:
    text = """
        version: 1
        name: demo
        vars:
          kickoff: 2027-01-04
          build: ${kickoff + 4w}
        tasks:
          - {title: Build, start_date: "${build}", due_date: "${build + 1m}"}
        """
    task = load_manifest(write(tmp_path, text)).tasks[0]
    assert (task.start_date, task.due_date) == ("2027-02-01", "2027-03-01")


def test_status_set_is_kept_in_position_order(tmp_path: Path) -> None:
    text = """
        version: 1
        name: demo
        status_set:
          name: Flow
          statuses:
            - {name: Backlog, category: not started}
            - {name: Doing, category: started, renamed_from: [In progress]}
        tasks:
          - {title: A, status: Doing}
        """
    sset = load_manifest(write(tmp_path, text)).status_set
    assert sset is not None
    assert [(s.name, s.category, s.renamed_from) for s in sset.statuses] == [
        ("Backlog", "not started", ()),
        ("Doing", "started", ("In progress",)),
    ]


def test_every_problem_of_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    text = """
        version: 1
        name: demo
        tasks:
          - title: A
            start_date: 2027-01-10
            due_date: 2027-01-09
          - title: A
          - title: B
            status: doing
            priorty: high
        """
    assert problems_of(write(tmp_path, text)) == [
        "6:15: due_date 2027-01-09 is before start_date 2027-01-10",
        f"7:5: duplicate task key 'a' (also used by the task at {tmp_path / 'm.yaml'}:4:5)",
        "9:13: status 'doing' is not a status category",
        "10:5: unknown field 'priorty' in task",
    ]


def test_two_manifests_may_not_define_one_status_set_differently(tmp_path: Path) -> None:
    text = """
        version: 1
        name: {name}
        status_set:
          name: Flow
          statuses:
            - {{name: Open, category: {category}}}
        tasks: []
        """
    a = write(tmp_path, text.format(name="a", category="not started"), "a.yaml")
    b = write(tmp_path, text.format(name="b", category="started"), "b.yaml")
    with pytest.raises(ManifestError) as err:
        load_manifests([a, b])
    (problem,) = err.value.problems
    assert (problem.file, problem.line) == (str(b), 4)
    assert f"status set 'Flow' is defined differently in {a}:4:3" in problem.message
    same = write(tmp_path, text.format(name="c", category="not started"), "c.yaml")
    assert len(load_manifests([a, same])) == 2


def test_one_stack_twice_for_one_workspace_is_reported(tmp_path: Path) -> None:
    text = "version: 1\nname: demo\nworkspace: Acme\ntasks: []\n"
    a, b = write(tmp_path, text, "a.yaml"), write(tmp_path, text, "b.yaml")
    with pytest.raises(ManifestError) as err:
        load_manifests([a, b])
    assert [p.file for p in err.value.problems] == [str(b)]
    assert "stack 'demo' is also defined for workspace 'Acme'" in err.value.problems[0].message
    # Templates aimed with --workspace (no workspace: of their own) are not compared.
    template = "version: 1\nname: demo\ntasks: []\n"
    c, d = write(tmp_path, template, "c.yaml"), write(tmp_path, template, "d.yaml")
    assert len(load_manifests([c, d])) == 2


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Kickoff call", "kickoff-call"),
        ("  Café Überblick!  ", "cafe-uberblick"),
        ("Straße & Co. (v2.1)", "strasse-co-v2-1"),
        ("Q3 — review/sign-off", "q3-review-sign-off"),
    ],
)
def test_slugify_is_readable_ascii(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slugify_falls_back_to_a_stable_hash_for_titles_without_letters() -> None:
    assert slugify("🎉🚀") == slugify("🎉🚀")
    assert slugify("🎉🚀").startswith("t-")
    assert slugify("🎉🚀") != slugify("🚀🎉")
    assert slugify("会议").startswith("t-")


def test_slugify_cuts_long_titles_at_a_word() -> None:
    slug = slugify("word " * 30)
    assert len(slug) <= 60
    assert not slug.endswith("-")
    assert slug.endswith("word")


def test_the_examples_load(tmp_path: Path) -> None:
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    loaded = load_manifests(examples)
    assert max(t.depth for m in loaded for t in m.tasks) == 4
    assert any(m.status_set for m in loaded)


def test_deep_manifests_are_checked_all_the_way_down(tmp_path: Path) -> None:
    task: dict[str, object] = {"title": "L8", "colour": "red"}
    for level in range(7, -1, -1):
        task = {"title": f"L{level}", "children": [task]}
    path = tmp_path / "deep.yaml"
    path.write_text(json.dumps({"version": 1, "name": "deep", "tasks": [task]}))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    messages = [p.message for p in err.value.problems]
    assert len(messages) == 2
    assert "is 5 levels below a top-level task" in messages[0]
    assert "unknown field 'colour' in task" in messages[1]


@given(st.text())
def test_every_title_gives_a_valid_stable_key_segment(title: str) -> None:
    slug = slugify(title)
    assert is_valid_key(slug)
    assert "/" not in slug
    assert len(slug) <= 60
    assert slugify(slug) == slug
