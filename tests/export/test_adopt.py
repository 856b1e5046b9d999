"""Adoption matching: which live tasks `--adopt` takes over, and when it refuses."""

from __future__ import annotations

import pytest

from kxplan.adopt import match_for_adoption
from kxplan.errors import PlanError
from kxplan.model import (
    DesiredTask,
    LiveMarker,
    LiveState,
    LiveTask,
    LiveWorkspace,
    Location,
    Manifest,
)
from kxplan.planner.normalize import norm_text as normalize_title


def desired(*specs: tuple[str, str, str | None], stack: str = "web") -> Manifest:
    """Manifest from (key, title, parent_key) in pre-order."""
    depth: dict[str, int] = {}
    tasks = []
    for i, (key, title, parent) in enumerate(specs):
        depth[key] = 0 if parent is None else depth[parent] + 1
        loc = Location("m.yaml", i + 1, 3)
        tasks.append(
            DesiredTask(key=key, title=title, parent_key=parent, depth=depth[key], loc=loc)
        )
    return Manifest(path="m.yaml", name=stack, workspace="W", tasks=tuple(tasks))


def marker(stack: str, key: str) -> LiveMarker:
    return LiveMarker(
        id=f"m-{key}", service_name="kxplan", service_model=stack, service_model_ref=key
    )


def live(*tasks: LiveTask) -> LiveState:
    return LiveState(workspace=LiveWorkspace(id="1", title="W"), tasks=tasks)


def task(id: str, title: str, parent: str | None = None, **kw: object) -> LiveTask:
    return LiveTask(id=id, title=title, parent_id=parent, **kw)  # type: ignore[arg-type]


def ids(matches: dict[str, LiveTask]) -> dict[str, str]:
    return {k: t.id for k, t in matches.items()}


def test_matches_a_hand_built_tree_by_title_path() -> None:
    m = desired(("a", "Design", None), ("a1", "Review", "a"), ("b", "Build", None))
    state = live(task("10", "Design"), task("11", "Review", "10"), task("12", "Build"))
    assert ids(match_for_adoption(m, state)) == {"a": "10", "a1": "11", "b": "12"}


def test_same_title_under_different_parents_is_not_ambiguous() -> None:
    m = desired(
        ("p1", "Phase 1", None),
        ("k1", "Kickoff", "p1"),
        ("p2", "Phase 2", None),
        ("k2", "Kickoff", "p2"),
    )
    state = live(
        task("1", "Phase 1"),
        task("2", "Phase 2"),
        task("3", "Kickoff", "2"),
        task("4", "Kickoff", "1"),
    )
    assert ids(match_for_adoption(m, state)) == {"p1": "1", "k1": "4", "p2": "2", "k2": "3"}


def test_title_at_a_different_path_is_not_adopted() -> None:
    m = desired(("p", "Phase 1", None), ("k", "Kickoff", "p"))
    state = live(task("1", "Phase 1"), task("2", "Kickoff"))  # Kickoff is top-level in Kantata
    assert ids(match_for_adoption(m, state)) == {"p": "1"}


def test_two_live_siblings_with_one_title_is_an_error_listing_both() -> None:
    m = desired(("p", "Phase", None), ("r", "Review", "p"))
    state = live(task("1", "Phase"), task("7", "Review", "1"), task("8", "Review", "1"))
    with pytest.raises(PlanError) as err:
        match_for_adoption(m, state)
    text = err.value.format()
    assert "#7 'Phase / Review'" in text and "#8 'Phase / Review'" in text
    assert "'r' (m.yaml:2:3)" in text
    assert "Rename all but one of them in Kantata" in text


def test_two_desired_siblings_for_one_live_task_is_an_error() -> None:
    m = desired(("x", "QA", None), ("y", "QA", None))
    with pytest.raises(
        PlanError, match=r"#5 'QA' matches 2 tasks of the manifest: 'x'.*'y'"
    ) as err:
        match_for_adoption(m, live(task("5", "QA")))
    assert err.value.hint is not None and "Give them distinct titles" in err.value.hint
    assert "in Kantata" not in err.value.hint


def test_every_ambiguity_is_reported_at_once() -> None:
    m = desired(("a", "A", None), ("b", "B", None))
    state = live(task("1", "A"), task("2", "A"), task("3", "B"), task("4", "B"))
    with pytest.raises(PlanError, match="2 ambiguous matches"):
        match_for_adoption(m, state)


def test_tasks_of_this_or_another_stack_are_never_candidates() -> None:
    m = desired(("a", "A", None), ("b", "B", None), ("c", "C", None))
    state = live(
        task("1", "A", markers=(marker("other", "a"),)),
        task("2", "B", markers=(marker("web", "old-b"),)),
        task("3", "C"),
        task("4", "A", markers=(marker("other", "x"),)),
    )
    assert ids(match_for_adoption(m, state)) == {"c": "3"}


def test_other_integrations_markers_do_not_make_a_task_managed() -> None:
    jira = LiveMarker(id="9", service_name="jira", service_model="issue", service_model_ref="J-1")
    m = desired(("a", "A", None))
    assert ids(match_for_adoption(m, live(task("1", "A", markers=(jira,))))) == {"a": "1"}


def test_managed_parent_scopes_its_children_even_after_a_rename() -> None:
    # The parent is managed (marker) and renamed in the manifest: children still match under it.
    m = desired(("p", "Phase One", None), ("k", "Kickoff", "p"))
    state = live(
        task("1", "Phase 1", markers=(marker("web", "p"),)),
        task("2", "Kickoff", "1"),
        task("3", "Kickoff"),
    )
    assert ids(match_for_adoption(m, state)) == {"k": "2"}


def test_renamed_from_marker_counts_as_managed() -> None:
    m = desired(("new", "Phase", None), ("k", "Kickoff", "new"))
    m = Manifest(
        path=m.path,
        name=m.name,
        workspace=m.workspace,
        tasks=(
            DesiredTask(key="new", title="Phase", renamed_from=("old",)),
            DesiredTask(key="k", title="Kickoff", parent_key="new", depth=1),
        ),
    )
    state = live(task("1", "Phase", markers=(marker("web", "old"),)), task("2", "Kickoff", "1"))
    assert ids(match_for_adoption(m, state)) == {"k": "2"}


def test_child_of_a_new_parent_adopts_nothing() -> None:
    m = desired(("p", "New phase", None), ("k", "Kickoff", "p"))
    state = live(task("1", "Old phase"), task("2", "Kickoff", "1"))
    assert match_for_adoption(m, state) == {}


def test_titles_compare_after_whitespace_rule_and_exactly_otherwise() -> None:
    m = desired(
        ("a", "Go live 🚀", None), ("b", "café", None), ("c", "Review", None), ("d", "a  b", None)
    )
    state = live(
        task("1", " Go live 🚀\t "), task("2", "cafe"), task("3", "review"), task("4", "a b")
    )
    assert ids(match_for_adoption(m, state)) == {"a": "1"}
    assert normalize_title("  a \r\n b ") == "a\n b"


def test_five_levels_deep_and_manifest_order_kept() -> None:
    specs = [("l0", "L0", None)] + [(f"l{i}", f"L{i}", f"l{i - 1}") for i in range(1, 5)]
    m = desired(*specs)
    state = live(*(task(str(10 - i), f"L{i}", None if i == 0 else str(11 - i)) for i in range(5)))
    assert list(ids(match_for_adoption(m, state)).items()) == [
        ("l0", "10"),
        ("l1", "9"),
        ("l2", "8"),
        ("l3", "7"),
        ("l4", "6"),
    ]


def test_task_whose_parent_was_not_read_is_never_a_candidate() -> None:
    m = desired(("k", "Kickoff", None))
    assert match_for_adoption(m, live(task("2", "Kickoff", "999"))) == {}
