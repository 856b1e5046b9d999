"""Create once: a create whose answer is lost is looked up, never blindly sent again
(kxplan.apply._once), for every kind of create the applier sends."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from kxplan.apply._once import create_once
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run
from kxplan.errors import TransportError, ValidationError
from kxplan.plan import Plan

LOST = TransportError("POST /stories: the connection dropped", outcome_unknown=True)


def _run() -> Run:
    """A run with nothing to talk to: create_once only counts on it."""
    return Run(Plan("", "once", {"id": "1", "title": "Once"}, ()), None, "1")  # type: ignore[arg-type]


class _Kantata:
    """A fake store: `send` commits the keys it is given; `answers` says, per send, whether
    the answer arrives (False: lost after the commit)."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.stored: list[str] = []
        self.sent: list[list[str]] = []
        self.events: list[str] = []

    def send(self, keys: list[str]) -> str:
        self.sent.append(list(keys))
        self.stored.extend(keys)
        self.events.append(f"send {','.join(keys)}")
        if not self.answers.pop(0):
            raise LOST
        return f"created {','.join(keys)}"

    def look_up(self, keys: list[str]) -> dict[str, str]:
        self.events.append(f"look up {','.join(keys)}")
        return {k: f"id-of-{k}" for k in keys if k in self.stored}


def test_a_lost_answer_whose_objects_exist_is_not_sent_again() -> None:
    run, kantata = _run(), _Kantata(False)
    once = create_once(run, kantata.send, kantata.look_up, ["a", "b"], "creating tasks", grace=())
    assert kantata.sent == [["a", "b"]]
    assert kantata.stored == ["a", "b"]  # each once
    assert once.answer is None
    assert once.found == {"a": "id-of-a", "b": "id-of-b"}
    assert run.recovered == 2


def test_only_the_keys_a_look_up_misses_are_sent_again() -> None:
    run, kantata = _run(), _Kantata(True)  # the second send is answered

    def send(keys: list[str]) -> str:  # the server committed only the first key
        if kantata.sent:
            return kantata.send(keys)
        kantata.sent.append(list(keys))
        kantata.stored.append(keys[0])
        raise LOST

    once = create_once(run, send, kantata.look_up, ["a", "b", "c"], "creating tasks", grace=())
    assert kantata.sent == [["a", "b", "c"], ["b", "c"]]
    assert sorted(kantata.stored) == ["a", "b", "c"]
    assert once.answer == "created b,c"
    assert once.found == {"a": "id-of-a"}
    assert run.recovered == 1


def test_what_a_look_up_finds_is_handed_over_before_anything_is_sent_again() -> None:
    run = _run()
    events: list[str] = []

    def send(keys: list[str]) -> str:
        events.append(f"send {','.join(keys)}")
        if len(events) == 1:
            raise LOST
        return "ok"

    def look_up(keys: list[str]) -> dict[str, str]:
        return {"a": "id-of-a"}

    def on_found(found: Mapping[str, str]) -> None:
        events.append(f"found {','.join(found)}")

    create_once(run, send, look_up, ["a", "b"], "creating tasks", on_found, grace=())
    assert events == ["send a,b", "found a", "send b"]


def test_a_refused_create_is_raised_at_once_without_a_look_up() -> None:
    run, kantata = _run(), _Kantata()
    refused = ValidationError("POST /stories -> 422: Title can't be blank")

    def send(keys: list[str]) -> str:
        kantata.sent.append(keys)
        raise refused

    with pytest.raises(ValidationError):
        create_once(run, send, kantata.look_up, ["a"], "creating task 'a'", grace=())
    assert kantata.sent == [["a"]]
    assert kantata.events == []  # never looked up
    assert run.recovered == 0


def test_a_failure_known_to_have_changed_nothing_is_raised_at_once() -> None:
    run, kantata = _run(), _Kantata()
    refused = TransportError("POST /stories: connection refused", outcome_unknown=False)

    def send(keys: list[str]) -> str:
        kantata.sent.append(keys)
        raise refused

    with pytest.raises(TransportError):
        create_once(run, send, kantata.look_up, ["a"], "creating task 'a'", grace=())
    assert kantata.sent == [["a"]]
    assert kantata.events == []


def test_a_create_never_seen_is_sent_at_most_the_retry_budget() -> None:
    run = _run()
    sent: list[list[str]] = []

    def send(keys: list[str]) -> str:  # never reaches the server, the answer always lost
        sent.append(keys)
        raise LOST

    with pytest.raises(TransportError):
        create_once(run, send, lambda keys: {}, ["a"], "creating task 'a'", grace=())
    assert len(sent) == MAX_UNKNOWN_ATTEMPTS
    assert run.recovered == 0


# --------------------------------------------------------------------------- against the sandbox
