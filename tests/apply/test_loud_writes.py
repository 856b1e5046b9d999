"""A planned write the applier cannot carry out stops the apply and names the change: it is
never skipped, and never reported as applied (a saved plan from another version, say)."""

from __future__ import annotations

import pytest

from kxplan.apply import ApplyFailed, apply_plan
from kxplan.changes import TaskDelete, TaskUpdate
from kxplan.changes.stages import TASK_DELETES, UPDATES
from kxplan.client import KantataClient
from kxplan.plan import Change, Plan
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN


def _apply(server: SandboxServer, change: Change) -> ApplyFailed:
    ws = server.model.create_workspace("Loud")
    plan = Plan("loud", "loud.yaml", {"id": str(ws["id"]), "title": "Loud"}, (change,))
    with KantataClient(server.url, TOKEN) as client, pytest.raises(ApplyFailed) as failed:
        apply_plan(plan, client)
    assert failed.value.applied == ()
    return failed.value


def test_an_update_without_a_value_for_a_changed_field_is_not_sent(sandbox: SandboxServer) -> None:
    change = TaskUpdate(
        key="a", id="500001", fields=("due_date",), before={}, after={}, wave=UPDATES.wave_number
    )
    failed = _apply(sandbox, change)
    assert "task 'a': the plan changes due_date but holds no value" in failed.format()
    assert sandbox.log.count("PUT") == 0


def test_a_delete_without_a_story_id_is_an_error(sandbox: SandboxServer) -> None:
    change = TaskDelete(key="gone", before={"title": "Gone"}, wave=TASK_DELETES.wave_number)
    failed = _apply(sandbox, change)
    assert "task 'gone': the planned delete names no story id" in failed.format()
    assert sandbox.log.count("DELETE") == 0
