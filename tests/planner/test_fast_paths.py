"""The planner's shortcuts for tasks already in line (kxplan.planner.checklist._same_names,
the equal-as-stored check in kxplan.planner.tasks._diff) plan exactly what the general path
plans: every table case is planned with them and without them, to the same JSON."""

from __future__ import annotations

from typing import Any

import pytest

from kxplan import errors
from kxplan.planner import checklist, tasks
from kxplan.render import render_json
from tests.planner.test_plan_cases import CASES, _plan


def _json(case: Any) -> str:
    try:
        return render_json(_plan(case))
    except errors.KxplanError as err:
        return f"error: {type(err).__name__}: {err}"


@pytest.mark.parametrize("case", CASES)
def test_the_shortcuts_plan_what_the_general_path_plans(
    case: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _json(case)
    monkeypatch.setattr(checklist, "_same_names", lambda desired, live: False)
    monkeypatch.setattr(tasks, "getattr", lambda obj, name: object(), raising=False)
    assert _json(case) == fast
