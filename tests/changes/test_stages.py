"""The one table of the apply order (kxplan/changes/stages.py): every change type has its
stage, the stages run wave by wave, and every stage that makes calls has its handler."""

from __future__ import annotations

from kxplan.apply._core import HANDLERS
from kxplan.changes import WAVES, Note, ReasonCode, StatusDelete, TaskDelete
from kxplan.changes.batches import BULK_LIMIT, bulk_sizes
from kxplan.changes.codec import CHANGE_TYPES
from kxplan.changes.stages import (
    NOTES,
    STAGES,
    STATUS_DELETES,
    STATUSES,
    TASK_DELETES,
    UNMANAGED,
    stage_of,
)
from kxplan.planner.order import arrange, place


def test_every_change_type_has_a_stage_and_the_stages_run_wave_by_wave() -> None:
    assert {t for s in STAGES for t in s.types} == set(CHANGE_TYPES)
    waves = [WAVES.index(s.wave) for s in STAGES]
    assert waves == sorted(waves) and set(waves) == set(range(len(WAVES)))


def test_every_stage_that_makes_calls_has_a_handler_and_no_other_does() -> None:
    calling = {s for s in STAGES if any(t.action.makes_calls for t in s.types)}
    assert set(HANDLERS) == calling


def test_a_status_delete_runs_early_only_when_a_plan_put_it_before_the_delete_wave() -> None:
    late = place(STATUS_DELETES, StatusDelete(key="Old", before={"name": "Old"})).change
    early = StatusDelete(key="Old", before={"name": "Old"}, wave=0)
    assert stage_of(late) is STATUS_DELETES and stage_of(early) is STATUSES


def test_task_deletes_go_copies_first_then_deepest_first() -> None:
    def delete(key: str) -> TaskDelete:
        return TaskDelete(key=key, before={"title": key})

    steps = [
        place(TASK_DELETES, delete("parent"), depth=0),
        place(TASK_DELETES, delete("child"), depth=1),
        place(TASK_DELETES, delete("copy"), copy=1),
    ]
    assert [c.key for c in arrange(steps)] == ["copy", "child", "parent"]


def test_unmanaged_notes_come_after_the_other_notes() -> None:
    unmanaged = Note(key="A", reason="unmanaged", code=ReasonCode.UNMANAGED)
    other = Note(key="Z", reason="rolled up", code=ReasonCode.ROLLED_UP)
    steps = [place(UNMANAGED, unmanaged), place(NOTES, other)]
    assert [c.key for c in arrange(steps)] == ["Z", "A"]


def test_a_level_is_sent_in_bulk_creates_of_at_most_the_limit() -> None:
    assert bulk_sizes(0) == [] and bulk_sizes(BULK_LIMIT) == [BULK_LIMIT]
    assert bulk_sizes(2 * BULK_LIMIT + 1) == [BULK_LIMIT, BULK_LIMIT, 1]
