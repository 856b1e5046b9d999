"""kxplan's memory on the marker (kxplan.planner.memory) and what a plan writes in it."""

from __future__ import annotations

from kxplan.planner import build_plan
from kxplan.planner.memory import (
    MAX_LENGTH,
    Memory,
    decode,
    encode,
    field_origin,
    field_origins,
    item_digest,
    remember,
)
from tests.support import live_from, manifest_from, options_from


def test_a_memory_reads_back_what_was_written() -> None:
    memory = remember({"title": "Kickoff", "due_date": "2026-01-10", "tags": ["a"]}, ["one"])
    back = decode(encode(memory))
    assert back == memory
    assert back is not None and back.created_item("one") and not back.created_item("two")


def test_text_kxplan_did_not_write_is_no_memory() -> None:
    assert decode("") is None
    assert decode("synced by another tool") is None
    # A newer kxplan may add parts: the known ones still read.
    back = decode("kx1 t=abcd z=new c=aaaaaa")
    assert back == Memory({"title": "abcd"}, frozenset({"aaaaaa"}))


def test_too_many_items_are_remembered_as_unknown_within_the_length_limit() -> None:
    memory = remember({"title": "T"}, [f"item {i}" for i in range(60)])
    text = encode(memory)
    assert len(text) <= MAX_LENGTH
    back = decode(text)
    assert back is not None and back.items is None and back.created_item("item 1") is None
    assert back.fields == memory.fields


def test_field_origin_tells_kantata_from_the_manifest() -> None:
    memory = remember({"due_date": "2026-01-10"}, [])
    assert field_origin("due_date", "2026-01-10", "2026-02-01", memory) == "kantata"
    assert field_origin("due_date", "2026-03-01", "2026-01-10", memory) == "manifest"
    assert field_origin("due_date", "2026-03-01", "2026-02-01", memory) == "both"
    assert field_origin("due_date", "2026-03-01", "2026-02-01", None) is None
    assert field_origin("title", "A", "B", memory) is None  # never written: unknown
    assert field_origins({"due_date": "2026-01-10"}, {"due_date": "2026-02-01"}, memory) == {
        "due_date": "kantata"
    }


def _plan(task: dict[str, object], live: dict[str, object], prune: bool = False):  # type: ignore[no-untyped-def]
    return build_plan(
        manifest_from({"tasks": [task]}),
        live_from({"tasks": [live]}),
        options_from({"prune": prune}),
    )


def test_a_changed_task_gets_its_memory_written_and_an_unchanged_one_does_not() -> None:
    task = {"key": "a", "title": "A2", "checklist": ["one", "two"]}
    live = {"id": 10, "title": "A", "key": "a", "checklist": ["one", "mine"]}
    plan = _plan(task, live)
    memory = decode(plan.memory["a"]["text"])
    assert plan.memory["a"]["id"] == "10"
    assert memory is not None
    assert memory.items == {item_digest("one"), item_digest("two")}  # not "mine": unknown
    assert field_origin("title", "A2", "A2", memory) is None  # the memory says A2
    same = _plan({"key": "a", "title": "A"}, {"id": 10, "title": "A", "key": "a"})
    assert same.memory == {}


def test_a_kept_item_kxplan_created_stays_in_the_memory() -> None:
    task = {"key": "a", "title": "A2", "checklist": ["one"]}
    live = {
        "id": 10,
        "title": "A",
        "key": "a",
        "checklist": ["one", "two", "mine"],
        "memory": {"fields": {"title": "A"}, "items": ["one", "two"]},
    }
    memory = decode(_plan(task, live).memory["a"]["text"])
    assert memory is not None and memory.items == {item_digest("one"), item_digest("two")}
