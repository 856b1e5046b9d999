"""Composition (include, for_each, when): what the expanded manifest holds, and where its
problems are reported (the included file's file:line:col, then the include chain)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.errors import Problem
from kxplan.manifest import ManifestError, load_manifest
from kxplan.manifest.compose import expansions
from kxplan.manifest.schema import schema_passes
from kxplan.model import Manifest, SourceLocation


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def keys(manifest: Manifest) -> list[str]:
    return [t.key for t in manifest.tasks]


def problems_of(path: Path, overrides: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ManifestError) as raised:
        load_manifest(path, overrides or {})
    return raised.value.problems


HEAD = "version: 1\nname: demo\n"


# ---------------------------------------------------------------- include


def test_an_include_inserts_the_files_tasks_with_the_vars_it_passes(tmp_path: Path) -> None:
    write(
        tmp_path / "phases" / "qa.yaml",
        "vars: {phase: qa, start: 2027-01-01}\n"
        "tasks:\n"
        "  - key: ${phase}-review\n"
        "    title: ${phase} review\n"
        "    start_date: ${start + 1w}\n",
    )
    main = write(
        tmp_path / "main.yaml",
        HEAD + "vars: {kickoff: 2027-03-01}\n"
        "tasks:\n"
        "  - title: Kickoff\n"
        "    children:\n"
        "      - include: phases/qa.yaml\n"
        "        vars: {phase: uat, start: '${kickoff}'}\n"
        "  - include: phases/qa.yaml\n",
    )
    manifest = load_manifest(main)
    assert [(t.key, t.title, t.start_date, t.parent_key) for t in manifest.tasks] == [
        ("kickoff", "Kickoff", None, None),
        ("uat-review", "uat review", "2027-03-08", "kickoff"),
        ("qa-review", "qa review", "2027-01-08", None),
    ]


def test_included_tasks_are_located_in_their_file_with_the_include_chain(tmp_path: Path) -> None:
    write(tmp_path / "a" / "inner.yaml", "tasks:\n  - {key: inner, title: Inner}\n")
    write(tmp_path / "a" / "outer.yaml", "tasks:\n  - include: inner.yaml\n")
    main = write(tmp_path / "main.yaml", HEAD + "tasks:\n  - include: a/outer.yaml\n")
    (task,) = load_manifest(main).tasks
    assert isinstance(task.loc, SourceLocation)
    assert (task.loc.file, task.loc.line, task.loc.col) == (
        str(tmp_path / "a" / "inner.yaml"),
        2,
        5,
    )
    assert task.loc.chain == (
        f"included from {tmp_path / 'a' / 'outer.yaml'}:2:5",
        f"included from {main}:4:5",
    )


def test_an_included_file_inherits_nothing_from_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "m.yaml", "tasks:\n  - title: Review for ${client}\n")
    main = write(
        tmp_path / "main.yaml", HEAD + "vars: {client: Acme}\ntasks:\n  - include: m.yaml\n"
    )
    (problem,) = problems_of(main)
    assert problem.format() == (
        f"{tmp_path / 'm.yaml'}:2:12: undefined variable 'client' "
        "(an included file sees only its own vars: and those its include passes)\n"
        f"  included from {main}:5:5"
    )


def test_a_missing_include_is_reported_at_the_include(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", HEAD + "tasks:\n  - include: nowhere.yaml\n")
    (problem,) = problems_of(main)
    assert (problem.file, problem.line, problem.col) == (str(main), 4, 14)
    assert "include 'nowhere.yaml': no such file" in problem.message


def test_an_include_is_read_through_the_safe_input_reader(tmp_path: Path) -> None:
    (tmp_path / "phases").mkdir()
    main = write(tmp_path / "main.yaml", HEAD + "tasks:\n  - include: phases\n")
    (problem,) = problems_of(main)
    assert problem.file == str(tmp_path / "phases")
    assert "is a directory, not a regular file" in problem.message
    assert problem.chain == (f"included from {main}:4:5",)


def test_an_include_loop_names_the_chain(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", HEAD + "tasks:\n  - include: main.yaml\n")
    (problem,) = problems_of(main)
    assert problem.message == f"include loop: {main} -> {main}"


def test_an_included_file_is_a_mapping_of_tasks_and_vars(tmp_path: Path) -> None:
    write(tmp_path / "m.yaml", "task:\n  - title: A\n")
    main = write(tmp_path / "main.yaml", HEAD + "tasks:\n  - include: m.yaml\n")
    messages = [(p.line, p.col, p.message, p.hint) for p in problems_of(main)]
    assert messages == [
        (1, 1, "an included file needs tasks: (a list of tasks)", None),
        (1, 1, "unknown field 'task' in an included file", "did you mean 'tasks'?"),
    ]


def test_keys_stay_unique_across_includes_and_both_places_are_reported(tmp_path: Path) -> None:
    write(tmp_path / "m.yaml", "tasks:\n  - {key: review, title: Review}\n")
    main = write(
        tmp_path / "main.yaml", HEAD + "tasks:\n  - include: m.yaml\n  - include: m.yaml\n"
    )
    problems = problems_of(main)
    assert {(p.file, p.line, p.col, p.chain) for p in problems} == {
        (str(tmp_path / "m.yaml"), 2, 11, (f"included from {main}:4:5",)),
        (str(tmp_path / "m.yaml"), 2, 11, (f"included from {main}:5:5",)),
    }
    assert all("duplicate task key 'review'" in p.message for p in problems)


# ---------------------------------------------------------------- for_each and when


def test_for_each_over_a_list_literal_and_a_list_variable(tmp_path: Path) -> None:
    main = write(
        tmp_path / "main.yaml",
        HEAD + "vars:\n  sprints: [1, 2]\n"
        "tasks:\n"
        "  - key: sprint-${each}\n"
        "    for_each: ${sprints}\n"
        "    title: Sprint ${each}\n"
        "    children:\n"
        "      - key: sprint-${each}/demo\n"
        "        title: Demo of sprint ${each}\n"
        "  - key: client-${each.name}\n"
        "    for_each: [{name: acme, weeks: 2}, {name: globex, weeks: 3}]\n"
        "    title: ${each.name} for ${each.weeks} weeks\n",
    )
    manifest = load_manifest(main)
    assert [(t.key, t.title) for t in manifest.tasks] == [
        ("sprint-1", "Sprint 1"),
        ("sprint-1/demo", "Demo of sprint 1"),
        ("sprint-2", "Sprint 2"),
        ("sprint-2/demo", "Demo of sprint 2"),
        ("client-acme", "acme for 2 weeks"),
        ("client-globex", "globex for 3 weeks"),
    ]


def test_an_inner_for_each_shadows_the_outer_item(tmp_path: Path) -> None:
    main = write(
        tmp_path / "main.yaml",
        HEAD + "tasks:\n"
        "  - key: p${each}\n"
        "    for_each: [1, 2]\n"
        "    title: P${each}\n"
        "    children:\n"
        "      - key: p-${each}\n"
        "        for_each: [a]\n"
        "        title: C${each}\n",
    )
    problems = problems_of(main)  # p-a twice: the inner ${each} is the inner item
    assert {p.message.split(" (")[0] for p in problems} == {"duplicate task key 'p-a'"}


def test_for_each_on_an_include_passes_each_item(tmp_path: Path) -> None:
    write(tmp_path / "sprint.yaml", "tasks:\n  - {key: 'sprint-${n}', title: 'Sprint ${n}'}\n")
    main = write(
        tmp_path / "main.yaml",
        HEAD
        + "tasks:\n  - include: sprint.yaml\n    for_each: [1, 2, 3]\n    vars: {n: '${each}'}\n",
    )
    assert keys(load_manifest(main)) == ["sprint-1", "sprint-2", "sprint-3"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({}, ["kickoff"]), ({"needs_legal": "true"}, ["kickoff", "legal", "legal/sign-off"])],
)
def test_when_keeps_the_task_and_its_subtree_only_when_true(
    tmp_path: Path, overrides: dict[str, str], expected: list[str]
) -> None:
    main = write(
        tmp_path / "main.yaml",
        HEAD + "vars: {needs_legal: false}\n"
        "tasks:\n"
        "  - title: Kickoff\n"
        "  - key: legal\n"
        "    title: Legal\n"
        "    when: ${needs_legal}\n"
        "    children: [{title: Sign off}]\n",
    )
    assert keys(load_manifest(main, overrides)) == expected


def test_when_is_evaluated_per_for_each_item(tmp_path: Path) -> None:
    main = write(
        tmp_path / "main.yaml",
        HEAD + "tasks:\n"
        "  - key: t-${each.name}\n"
        "    title: ${each.name}\n"
        "    for_each: [{name: a, on: true}, {name: b, on: false}]\n"
        "    when: ${each.on}\n",
    )
    assert keys(load_manifest(main)) == ["t-a"]


def test_each_outside_a_for_each_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", HEAD + "tasks:\n  - {key: a, title: 'T ${each}'}\n")
    (problem,) = problems_of(main)
    assert problem.message == "undefined variable 'each'"
    assert problem.hint == "${each} is only defined in a task with for_each (and in its subtasks)"


def test_a_missing_field_of_a_mapping_item_suggests_the_close_one(tmp_path: Path) -> None:
    main = write(
        tmp_path / "main.yaml",
        HEAD + "tasks:\n  - key: a\n    title: ${each.nmae}\n    for_each: [{name: x}]\n",
    )
    (problem,) = problems_of(main)
    assert (problem.line, problem.message, problem.hint) == (
        5,
        "this for_each item has no field 'nmae' (its fields: name)",
        "did you mean 'each.name'?",
    )


# ---------------------------------------------------------------- the fast path


def test_a_manifest_without_composition_is_never_expanded(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", HEAD + "tasks:\n  - title: A\n")
    before = expansions["documents"]
    load_manifest(main)
    assert expansions["documents"] == before


def test_an_expanded_valid_manifest_still_takes_the_fast_schema_path(tmp_path: Path) -> None:
    main = write(
        tmp_path / "main.yaml",
        HEAD + "tasks:\n  - {key: 's${each}', title: 'S${each}', for_each: [1, 2]}\n",
    )
    before, full = expansions["documents"], schema_passes["full"]
    assert keys(load_manifest(main)) == ["s1", "s2"]
    assert expansions["documents"] == before + 1
    assert schema_passes["full"] == full


def test_a_runaway_expansion_stops_with_one_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kxplan.manifest.compose as compose

    monkeypatch.setattr(compose, "MAX_TASKS", 50)
    main = write(
        tmp_path / "main.yaml",
        HEAD + "tasks:\n"
        "  - key: a${each}\n"
        "    title: A\n"
        "    for_each: [1, 2, 3, 4, 5, 6, 7, 8]\n"
        "    children:\n"
        "      - {key: 'a${each}', title: B, for_each: [1, 2, 3, 4, 5, 6, 7, 8]}\n",
    )
    messages = {p.message for p in problems_of(main)}
    assert "the manifest expands to more than 50 tasks" in messages
