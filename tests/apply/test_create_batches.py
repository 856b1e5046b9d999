"""Which create batches of one level may be sent side by side: never two that hold
siblings of one parent (their order comes from the order they are sent in)."""

from __future__ import annotations

from kxplan.apply._creates import side_by_side, slices
from kxplan.changes import TaskCreate
from kxplan.plan import Change


def _create(key: str, parent: str | None) -> Change:
    return TaskCreate(
        key=key,
        parent=parent,
        after={"title": key, "type": "task", "parent": parent, "parent_id": None},
    )


def _keys(chains: list[list[list[Change]]]) -> list[list[list[str]]]:
    return [[[c.key for c in batch] for batch in chain] for chain in chains]


def test_batches_under_different_parents_run_side_by_side() -> None:
    level = [_create(f"{p}{i}", p) for p in "abc" for i in range(2)]
    chains = side_by_side(slices(level, [2, 2, 2]))
    assert _keys(chains) == [[["a0", "a1"]], [["b0", "b1"]], [["c0", "c1"]]]


def test_siblings_split_over_two_batches_are_sent_one_after_the_other() -> None:
    level = [_create("a0", "a"), _create("a1", "a"), _create("a2", "a"), _create("b0", "b")]
    chains = side_by_side(slices(level, [2, 2]))
    assert _keys(chains) == [[["a0", "a1"], ["a2", "b0"]]]


def test_a_batch_joining_two_chains_keeps_every_batch_in_send_order() -> None:
    # Batch 3 shares a parent with batch 1 and one with batch 2: all three in one chain.
    level = [_create(k, p) for k, p in [("a0", "a"), ("b0", "b"), ("a1", "a"), ("b1", "b")]]
    chains = side_by_side(slices(level, [1, 1, 2]))
    assert _keys(chains) == [[["a0"], ["b0"], ["a1", "b1"]]]


def test_top_level_tasks_share_one_parent_and_one_chain() -> None:
    level = [_create(f"t{i}", None) for i in range(4)]
    chains = side_by_side(slices(level, [2, 2]))
    assert _keys(chains) == [[["t0", "t1"], ["t2", "t3"]]]
