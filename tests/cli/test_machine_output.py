"""Machine output of `plan` and `apply` (docs/plan.md and docs/apply.md, "Machine output"):
`--json` streams one JSON event a line (schemas/events.schema.json), `apply --format json`
prints ONE document, several manifests give one document, and whenever stdout carries JSON
every human message goes to stderr."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, read, write_manifest
from tests.support.events import event_validator, events_of, of

STACK = "events"
WORKSPACE = "Events — Onboarding"


def manifest(workspace: str = WORKSPACE, extra: list[dict[str, Any]] | None = None) -> dict:
    return {
        "version": 1,
        "name": STACK,
        "workspace": workspace,
        "tasks": [
            {"key": "kickoff", "title": "Kickoff", "checklist": ["Agenda sent"]},
            {
                "key": "discovery",
                "title": "Discovery",
                "children": [{"key": "interviews", "title": "Interviews"}],
            },
            *(extra or []),
        ],
    }


@pytest.fixture
def url(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    sandbox.model.create_workspace(WORKSPACE)
    return str(sandbox.url)


def test_plan_json_streams_each_change_of_the_plan_document_and_talks_on_stderr(
    url: str, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest())
    document = json.loads(kxplan("plan", path, "--api-url", url, "--format", "json").out)
    result = kxplan("plan", path, "--api-url", url, "--json", "--detailed-exitcode")

    assert result.code == 2
    events = events_of(result)
    types = [e["type"] for e in events]
    assert types == ["version", "plan", *["change"] * len(document["changes"]), "summary"]
    assert [e["change"] for e in of(events, "change")] == document["changes"]
    assert events[0]["command"] == "plan" and events[0]["format_version"] == "1"
    (plan,) = of(events, "plan")
    assert plan["workspace"] == document["workspace"] and plan["summary"] == document["summary"]
    assert all(e["workspace"] == document["workspace"] for e in events[1:-1])
    creates = sum(1 for c in document["changes"] if c["action"] == "create")
    assert events[-1]["planned"]["create"] == creates
    assert "kxplan plan for stack" in result.err  # the plan for people, on stderr


def test_apply_json_reports_every_change_applied_as_the_sandbox_saw_it(
    url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest())
    sandbox.log.reset()
    result = kxplan("apply", path, "--api-url", url, "--json", "--auto-approve")

    assert result.code == 0, result.err
    seen = sandbox.log.count()  # every request the sandbox saw: plan, lock, apply, verification
    events = events_of(result)
    types = [e["type"] for e in events]
    assert types.index("apply") > max(i for i, t in enumerate(types) if t == "change")
    applied = of(events, "apply")
    assert {e["outcome"] for e in applied} == {"applied"}
    planned = [e["change"] for e in of(events, "change") if e["change"]["action"] != "keep"]
    assert Counter((e["change"]["kind"], e["change"]["key"]) for e in applied) == Counter(
        (c["kind"], c["key"]) for c in planned
    )
    created = [e["change"]["key"] for e in applied if e["change"]["kind"] == "task"]
    live = read(url, WORKSPACE)
    assert sorted(created) == sorted(t.key_for(STACK) for t in live.tasks)
    summary = events[-1]
    assert summary["outcomes"] == {"applied": len(applied), "failed": 0, "skipped": 0}
    assert summary["requests"] == seen
    assert "Apply complete: 3 added" in result.err and "Verified:" in result.err

    again = kxplan("apply", path, "--api-url", url, "--json", "--auto-approve")
    assert again.code == 0
    assert of(events_of(again), "apply") == []
    assert events_of(again)[-1]["planned"]["create"] == 0


def test_apply_format_json_is_one_document_of_the_plan_and_its_outcome(
    url: str, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest())
    result = kxplan("apply", path, "--api-url", url, "--format", "json", "--auto-approve")

    assert result.code == 0, result.err
    document = json.loads(result.out)  # the whole of stdout: one document
    event_validator("apply_document").validate(document)
    (plan,) = document["plans"]
    actionable = [c for c in plan["changes"] if c["action"] != "keep"]
    assert len(document["outcomes"]) == len(actionable)
    assert {o["outcome"] for o in document["outcomes"]} == {"applied"}
    assert document["summary"]["exit_code"] == 0
    assert "Apply complete" not in result.out and "Apply complete: 3 added" in result.err
    assert "kxplan plan for stack" in result.err  # reviewed as text, on stderr


def test_a_failed_apply_says_which_change_failed_and_which_were_skipped(
    url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest())
    assert kxplan("apply", path, "--api-url", url, "--auto-approve").code == 0
    extra = [{"key": "wrap-up", "title": "Wrap-up", "children": [{"key": "x", "title": "X"}]}]
    doc = manifest(extra=extra)
    doc["tasks"][0]["title"] = "Kickoff meeting"
    write_manifest(path, doc)
    kickoff = next(t.id for t in read(url, WORKSPACE).tasks if t.key_for(STACK) == "kickoff")

    def delete_kickoff(arrival: Any) -> None:
        if arrival.method == "POST" and arrival.route == "/stories":
            sandbox.on_request = None
            sandbox.model.delete_story(int(kickoff))  # someone deletes it meanwhile

    sandbox.on_request = delete_kickoff
    result = kxplan("apply", path, "--api-url", url, "--json", "--auto-approve")

    assert result.code == 1
    events = events_of(result)
    outcomes = {e["change"]["key"]: e for e in of(events, "apply")}
    assert outcomes["wrap-up"]["outcome"] == outcomes["x"]["outcome"] == "applied"
    failed = outcomes["kickoff"]
    assert failed["outcome"] == "failed" and failed["error"]["exit_code"] >= 1
    assert "PUT /stories/" in failed["error"]["message"]
    planned = [e for e in of(events, "change") if e["change"]["action"] != "keep"]
    assert len(outcomes) == len(planned)
    (error,) = [d for d in of(events, "diagnostic") if d["level"] == "error"]
    assert error["message"].startswith("apply stopped:")
    assert events[-1]["outcomes"]["failed"] == 1


def test_a_refused_plan_skips_every_change_and_says_why(url: str, tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest())
    result = kxplan("apply", path, "--api-url", url, "--json")  # no terminal, no --auto-approve

    assert result.code == 1
    events = events_of(result)
    skipped = of(events, "apply")
    assert skipped and {e["outcome"] for e in skipped} == {"skipped"}
    assert {e["why"] for e in skipped} == {"refused"}
    assert all("no terminal to confirm" in e["reason"] for e in skipped)
    assert read(url, WORKSPACE).tasks == ()


def test_several_manifests_give_one_document_and_one_stream(
    url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.model.create_workspace("Second")
    first = write_manifest(tmp_path / "a.yaml", manifest())
    second = write_manifest(tmp_path / "b.yaml", {**manifest("Second"), "name": "other"})

    single = json.loads(kxplan("plan", first, "--api-url", url, "--format", "json").out)
    assert single["format_version"] == "1" and "changes" in single  # unchanged: the plan
    both = kxplan("plan", first, second, "--api-url", url, "--format", "json")
    document = json.loads(both.out)
    event_validator("plans_document").validate(document)
    assert [p["workspace"]["title"] for p in document["plans"]] == [WORKSPACE, "Second"]

    stream = events_of(kxplan("plan", first, second, "--api-url", url, "--json"))
    assert [e["workspace"]["title"] for e in of(stream, "plan")] == [WORKSPACE, "Second"]

    result = kxplan("apply", first, second, "--api-url", url, "--format", "json", "--auto-approve")
    assert result.code == 0, result.err
    apply_doc = json.loads(result.out)
    assert [p["workspace"]["title"] for p in apply_doc["plans"]] == [WORKSPACE, "Second"]
    assert len({o["workspace"]["title"] for o in apply_doc["outcomes"]}) == 2


def test_an_invalid_manifest_streams_its_problems_and_makes_no_request(
    url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nname: events\nworkspace: W\ntasks:\n  - key: a\n    colour: red\n")
    sandbox.log.reset()
    result = kxplan("plan", path, "--api-url", url, "--json")

    assert result.code == 1
    events = events_of(result)
    assert [e["type"] for e in events] == ["version", "diagnostic", "summary"]
    problems = events[1]["problems"]
    assert all(p["file"].endswith("bad.yaml") for p in problems)
    assert any(p["line"] == 6 and "colour" in p["message"] for p in problems)
    assert events[-1]["requests"] is None and sandbox.log.count() == 0
    assert "bad.yaml:6" in result.err


def test_json_and_format_json_together_are_refused(url: str, tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest())
    result = kxplan("plan", path, "--api-url", url, "--json", "--format", "json")
    assert result.code == 1
    assert "--json and --format json both print JSON on stdout" in result.err


def test_a_saved_plan_applied_with_json_reports_its_changes_and_checks_on_stderr(
    url: str, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path / "m.yaml", manifest())
    saved = tmp_path / "plan.json"
    planned = kxplan("plan", path, "--api-url", url, "--out", saved, "--json")
    assert planned.code == 0 and "Saved the plan to" in planned.err
    assert of(events_of(planned), "plan")  # the stream, while the plan file is written

    result = kxplan("apply", saved, "--api-url", url, "--json", "--auto-approve")
    assert result.code == 0, result.err
    events = events_of(result)
    changes = json.loads(saved.read_text(encoding="utf-8"))["changes"]
    assert [e["change"] for e in of(events, "change")] == changes
    assert len(of(events, "apply")) == len(changes)
    assert "The saved plan is still current" in result.err
    assert "Not verified" not in result.err and "Verified:" in result.err
