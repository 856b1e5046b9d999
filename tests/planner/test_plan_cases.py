"""Table-driven planner cases: tests/planner/cases/*.yaml (desired, live, expected changes or
error).

Each case lists every change that makes a call, or is kept/blocked, in plan order as
`[action, kind, key]` rows (optionally `{field: expected}` checked as a subset), plus
substrings expected among the warnings, and (when given) the suspected renames as
`{key, renamed_from, ...}` rows checked as subsets (`[]`: none). No network. Every plan
also validates against schemas/plan.schema.json, renders, and plans to the same bytes twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kxplan import errors
from kxplan.model import LiveState, LiveTask, Manifest
from kxplan.plan import Action, Change, Plan
from kxplan.planner import build_plan
from kxplan.render import render_json, render_markdown, render_text
from kxplan.resources import load_schema
from tests.support import live_from, manifest_from, options_from, with_case_usage

CASES_DIR = Path(__file__).resolve().parent / "cases"


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


CASES = _load_cases()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 60


def _fake_adopter(matches: Mapping[str, Any]) -> Any:
    def adopter(manifest: Manifest, live: LiveState) -> dict[str, LiveTask]:
        by_id = {t.id: t for t in live.tasks}
        return {key: by_id[str(tid)] for key, tid in matches.items()}

    return adopter


def _plan(case: Mapping[str, Any]) -> Plan:
    manifest = manifest_from(case["manifest"])
    plan = build_plan(
        manifest,
        live_from(case.get("live")),
        options_from(case.get("options")),
        adopter=_fake_adopter(case.get("adopt", {})),
    )
    return with_case_usage(plan, manifest, case.get("live"))


def _row(change: Change) -> list[str]:
    return [change.action.value, change.kind.value, change.key]


def _check_details(change: Change, expected: Mapping[str, Any]) -> None:
    actual = change.to_json()
    for name, want in expected.items():
        if name in ("before", "after"):
            got = actual[name] or {}
            for field, value in want.items():
                assert got.get(field) == value, f"{_row(change)} {name}.{field}"
        elif name == "reason":
            assert want in change.reason, f"{_row(change)} reason {change.reason!r}"
        elif name == "fields":
            assert list(actual["fields"]) == want, f"{_row(change)} fields"
        else:
            assert actual[name] == want, f"{_row(change)} {name}"


@pytest.mark.parametrize("case", CASES)
def test_case(case: Mapping[str, Any]) -> None:
    if "error" in case:
        kind = getattr(errors, case["error"]["type"])
        with pytest.raises(kind) as info:
            _plan(case)
        assert case["error"]["match"] in info.value.format()
        return
    plan = _plan(case)
    shown = [c for c in plan.changes if c.action is not Action.WARN]
    expected = case.get("expect", [])
    assert [_row(c) for c in shown] == [row[:3] for row in expected]
    for change, row in zip(shown, expected, strict=True):
        if len(row) > 3:
            _check_details(change, row[3])
    reasons = "\n".join(c.reason for c in plan.changes if c.action is Action.WARN)
    for text in case.get("warnings", []):
        assert text in reasons
    if case.get("no_warnings"):
        assert reasons == ""
    for name, value in case.get("requests", {}).items():
        assert plan.requests[name] == value
    if "summary" in case:
        assert render_text(plan).rstrip().splitlines()[-1] == case["summary"]
    if "suspected" in case:
        _check_suspected(plan, case["suspected"])


def _check_suspected(plan: Plan, expected: list[Mapping[str, Any]]) -> None:
    got = [s.to_json() for s in plan.suspected_renames]
    assert len(got) == len(expected), got
    for want, have in zip(expected, got, strict=True):
        for name, value in want.items():
            assert have[name] == value, f"suspected {have['key']}: {name}"


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in c.values[0]])
def test_case_plan_is_valid_deterministic_and_renders(case: Mapping[str, Any]) -> None:
    first, second = _plan(case), _plan(case)
    text = render_json(first)
    assert text == render_json(second)
    data = json.loads(text)
    jsonschema.validate(data, load_schema("plan.schema.json"))
    assert Plan.from_json(data).to_json() == data  # what the applier reads back is the plan
    assert render_text(first) == render_text(second)
    assert render_markdown(first) == render_markdown(second)


def _plan_or_error(case: Mapping[str, Any]) -> str:
    try:
        return render_json(_plan(case))
    except errors.KxplanError as err:
        return f"error: {type(err).__name__}: {err}"


@pytest.mark.parametrize("case", CASES)
def test_the_in_line_shortcuts_plan_what_the_general_path_plans(
    case: Mapping[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """kxplan.planner.tasks._in_line, kxplan.planner.checklist._same_names and the
    equal-as-stored checks in kxplan.planner.tasks._diff (all fields at once, then field by
    field) are shortcuts, not rules: without them, the same plan."""
    from kxplan.planner import checklist, tasks

    fast = _plan_or_error(case)
    monkeypatch.setattr(tasks, "_in_line", lambda ctx, task, live: False)
    monkeypatch.setattr(checklist, "_same_names", lambda desired, live: False)
    monkeypatch.setattr(tasks, "_stored_equal", lambda compared, task, live: False)
    monkeypatch.setattr(tasks, "getattr", lambda obj, name: object(), raising=False)
    assert _plan_or_error(case) == fast
