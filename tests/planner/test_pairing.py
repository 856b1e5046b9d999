"""One pairing for checklist items and statuses (kxplan.planner.pairing): by name, then
`renamed_from`, statuses also ignoring case; then which positions to write."""

from __future__ import annotations

from kxplan.model import DesiredChecklistItem, DesiredStatus, LiveChecklistItem, LiveStatus
from kxplan.planner.pairing import pair_by_name, positions_to_write


def _items(*names: str) -> tuple[LiveChecklistItem, ...]:
    return tuple(LiveChecklistItem(str(n + 1), name, False, n + 1) for n, name in enumerate(names))


def _names(pairs: dict[int, LiveChecklistItem] | dict[int, LiveStatus]) -> dict[int, str]:
    return {i: live.name for i, live in pairs.items()}


def test_same_name_first_then_a_renamed_from_name() -> None:
    desired = (
        DesiredChecklistItem("Agenda emailed", renamed_from=("Agenda sent",)),
        DesiredChecklistItem("Notes shared"),
        DesiredChecklistItem("Room booked"),
    )
    pairs = pair_by_name(desired, _items("Notes shared", "Agenda sent", "Old item"))
    assert _names(pairs) == {0: "Agenda sent", 1: "Notes shared"}  # 2 is created


def test_an_old_name_a_desired_entry_still_carries_is_that_entry() -> None:
    desired = (
        DesiredChecklistItem("B", renamed_from=("A",)),
        DesiredChecklistItem("A"),
    )
    assert _names(pair_by_name(desired, _items("A"))) == {1: "A"}


def test_of_two_live_items_of_one_name_the_first_is_the_item() -> None:
    pairs = pair_by_name((DesiredChecklistItem("Call"),), _items("Call", "Call"))
    assert [p.id for p in pairs.values()] == ["1"]


def test_names_differing_only_in_case_pair_only_when_asked() -> None:
    desired = (DesiredStatus("In Progress", "started"),)
    live = (LiveStatus("7", "in progress", "started", 1),)
    assert pair_by_name(desired, live) == {}  # checklist items: another item
    assert _names(pair_by_name(desired, live, ignore_case=True)) == {0: "in progress"}


def test_a_case_match_never_takes_a_status_another_entry_names_exactly() -> None:
    desired = (DesiredStatus("done", "completed"), DesiredStatus("Done", "completed"))
    live = (LiveStatus("7", "Done", "completed", 1),)
    assert _names(pair_by_name(desired, live, ignore_case=True)) == {1: "Done"}


def test_positions_are_written_only_when_the_list_changes() -> None:
    assert positions_to_write(["a", "b"], ["a", "b"], {"a"}, unchanged=True) == set()
    assert positions_to_write(["a", "b"], ["b", "a"], set(), unchanged=False) == {"b"}
    assert positions_to_write(["a", "b"], ["a", "b"], {"a"}, unchanged=False) == {"a"}
