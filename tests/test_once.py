"""Create once: a create whose answer is lost is looked up, never blindly sent again
(kxplan.apply._once), for every kind of create the applier sends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import apply_plan
from kxplan.apply._once import create_once
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run
from kxplan.client import KantataClient
from kxplan.errors import TransportError, ValidationError
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import PlanOptions
from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from tests.e2e.helpers import TOKEN, duplicates, read, write_manifest
from tests.e2e.scenario import STACK, WORKSPACE, base, edited

LOST = TransportError("POST /stories: the connection dropped", outcome_unknown=True)


def _run() -> Run:
    """A run with nothing to talk to: create_once only counts on it."""
    return Run(Plan("", STACK, {"id": "1", "title": WORKSPACE}, ()), None, "1")  # type: ignore[arg-type]


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


class _LosesPostAnswers:
    """A KantataClient whose every POST reaches Kantata and commits, but whose answer is
    lost (the connection drops after the server committed), the first time each body is
    sent; reads and other writes pass."""

    def __init__(self, inner: KantataClient) -> None:
        self.inner = inner
        self.lost: list[str] = []

    def request(self, method: str, path: str, **kw: Any) -> Any:
        answer = self.inner.request(method, path, **kw)
        body = json.dumps([path, kw.get("json")], sort_keys=True)
        if method == "POST" and body not in self.lost:
            self.lost.append(body)
            raise TransportError(f"POST {path}: the connection dropped", outcome_unknown=True)
        return answer

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_every_kind_of_create_whose_answer_is_lost_exists_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Status set, statuses, tasks, checklist items and the set's writer record: every POST
    answer lost, each found by a look-up, nothing sent twice, nothing missing."""
    sandbox.model.create_workspace(WORKSPACE)
    path = tmp_path / "onboarding.yaml"
    created: set[str] = set()
    for doc, prune in ((base(), False), (edited(), True)):
        manifest = load_manifest(write_manifest(path, doc))
        sandbox.log.reset()
        with KantataClient(sandbox.url, TOKEN) as client:
            plan = build_plan(manifest, read_live(client, WORKSPACE), PlanOptions(prune=prune))
            lossy = _LosesPostAnswers(client)
            result = apply_plan(plan, lossy)  # type: ignore[arg-type]
        posts = [e.route for e in sandbox.log.entries if e.method == "POST"]
        assert len(posts) == len(lossy.lost)  # every create sent once, none re-sent
        assert result.recovered >= len(posts) > 0
        created.update(posts)
        live = read(sandbox.url, WORKSPACE)
        assert duplicates(live, STACK) == []
        again = build_plan(manifest, live, PlanOptions(prune=prune))
        assert [c.key for c in again.actionable] == []  # all there: nothing left to do
    assert {"/task_status_sets", "/custom_task_statuses", "/stories", "/story_tasks"} <= created
