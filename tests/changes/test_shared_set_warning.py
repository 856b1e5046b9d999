"""The warning a plan gives for a shared status set reads right for one task and for many."""

from __future__ import annotations

from kxplan.plan import SharedSet


def test_one_task_of_one_other_workspace() -> None:
    warning = SharedSet("Delivery", "7", 1, 1, ("Done",)).warning()
    assert "1 other workspace uses it, 1 of its tasks would change status (on 'Done')" in warning


def test_several_workspaces_and_an_uncounted_number() -> None:
    warning = SharedSet("Delivery", "7", 3, None, ("Done",)).warning()
    assert "3 other workspaces use it, an uncounted number of their tasks" in warning
