"""The variant matrix: the scenarios that matter, against every answer Kantata may give.

Kantata's documentation leaves questions open (docs/sandbox.md, "Variants"); the sandbox can
play each plausible answer. Every row of `variants.matrix()` — the defaults, each unusual
answer alone, and all of them at once — runs bootstrap, evolution and export -> adopt. The
fault scenario (slower: it waits out backoffs) runs on the rows where the answers change
what a retry or a read after a fault sees: the defaults, `meta=absent`, `retry_after=absent`
and the all-unusual row.

In every scenario the first apply exits 0, the re-plan is empty, exactly one live story
carries each key, and people's edits are intact (see `matrix_scenarios`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import Variants
from kxplan.sandbox.variants import QUESTIONS, matrix
from tests.support import TOKEN

from . import matrix_scenarios as s

ROWS = matrix()
# A tree of more than one page (slower): where paging, `results` order or placement matter.
PAGING_ROWS = tuple(
    v
    for v in ROWS
    if not v.changed() or {"meta", "results_order", "new_siblings"} & set(v.changed())
)
FAULT_ROWS = (
    Variants(),
    Variants(meta="absent"),
    Variants(retry_after="absent"),
    Variants.unusual(),
)


def rows(variants: tuple[Variants, ...]) -> Any:
    return pytest.mark.parametrize("variants", variants, ids=[str(v) for v in variants])


@pytest.fixture
def run(
    request: pytest.FixtureRequest,
    make_sandbox: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> s.Run:
    """A sandbox playing this row's variants, and the CLI's token and working directory."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    variants: Variants = request.getfixturevalue("variants")
    return s.Run(make_sandbox(variants=variants), tmp_path)


def test_the_matrix_has_every_answer_and_the_all_unusual_row() -> None:
    answers = {(k, v) for row in ROWS for k, v in row.changed().items()}

    assert answers == {(q.name, v) for q in QUESTIONS for v in q.values[1:]}
    assert ROWS[0] == Variants() and Variants.unusual() in ROWS
    assert set(FAULT_ROWS) <= set(ROWS) and set(PAGING_ROWS) <= set(ROWS)


@rows(ROWS)
def test_bootstrap_of_the_onboarding_example(run: s.Run, variants: Variants) -> None:
    s.bootstrap(run, s.example("client-onboarding.yaml"))


@rows(ROWS)
def test_bootstrap_of_a_five_level_tree_with_its_own_statuses(
    run: s.Run, variants: Variants
) -> None:
    s.bootstrap(run, s.five_levels())


@rows(PAGING_ROWS)
def test_bootstrap_of_a_tree_larger_than_a_page(run: s.Run, variants: Variants) -> None:
    s.bootstrap_big(run)


@rows(ROWS)
def test_status_deleted_in_use_then_set_switched_with_status_enforced(
    run: s.Run, variants: Variants
) -> None:
    s.status_changes(run)


@rows(ROWS)
def test_evolution_with_renames_moves_prune_and_peoples_edits(
    run: s.Run, variants: Variants
) -> None:
    s.evolve(run)


@rows(ROWS)
def test_export_then_adopt_a_hand_built_workspace(run: s.Run, variants: Variants) -> None:
    s.export_adopt(run)


@rows(FAULT_ROWS)
def test_bootstrap_and_evolution_under_faults(run: s.Run, variants: Variants) -> None:
    s.under_faults(run, seed=7)
