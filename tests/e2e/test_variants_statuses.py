"""Status sets, statuses and names end to end, under every answer the sandbox can play to the
questions Kantata's documentation leaves open about them (docs/sandbox.md, "Variants:
statuses and names"): the first apply exits 0 and the re-plan is empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.apply import ApplyFailed, apply_plan
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.manifest import load_manifest
from kxplan.model import LiveState
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from kxplan.sandbox.variants import QUESTIONS, Variants
from tests.support import TOKEN, duplicates, kxplan, read, write_manifest

ONBOARDING = Path(__file__).resolve().parents[2] / "examples" / "client-onboarding.yaml"
MINE = ("status_names", "set_switch", "status_delete", "name_match")

#: The defaults, each status/name answer alone, and all of them unusual at once.
VARIANTS = (
    Variants(),
    *(Variants(**{q.name: v}) for q in QUESTIONS if q.name in MINE for v in q.values[1:]),
    Variants(**{q.name: q.unusual for q in QUESTIONS if q.name in MINE}),
)
IDS = [str(v) for v in VARIANTS]

STATUSES = [
    {"name": "Backlog", "category": "not started"},
    {"name": "Doing", "category": "started"},
    {"name": "Review", "category": "started"},
    {"name": "Blocked", "category": "needs info"},
    {"name": "Done", "category": "completed"},
]


def _doc(statuses: list[dict[str, Any]], tasks: list[dict[str, Any]], set_name: str) -> Any:
    return {
        "version": 1,
        "name": "flow",
        "workspace": "Flow",
        "enforce": ["status"],
        "status_set": {"name": set_name, "statuses": statuses},
        "tasks": tasks,
    }


def _tasks(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "title": k.title(), "status": s} for k, s in pairs]


def _apply_clean(path: Path, url: str, *flags: str) -> None:
    """One apply exits 0; the plan after it is empty."""
    applied = kxplan("apply", path, "--auto-approve", "--api-url", url, *flags)
    assert applied.code == 0, applied.text
    again = kxplan("plan", path, "--detailed-exitcode", "--api-url", url, *flags)
    assert again.code == 0, again.text


def _statuses(live: LiveState) -> list[tuple[str, str]]:
    assigned = live.assigned_status_set()
    assert assigned is not None
    return [(s.name, s.category) for s in assigned.statuses]


def _task_statuses(live: LiveState) -> dict[str, str | None]:
    return {t.key_for("flow") or t.title: t.status for t in live.tasks}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)


@pytest.mark.parametrize("variants", VARIANTS, ids=IDS)
def test_onboarding_bootstraps_its_status_set_in_one_apply(
    make_sandbox: Any, variants: Variants
) -> None:
    server: SandboxServer = make_sandbox(variants=variants)
    manifest = load_manifest(ONBOARDING)
    assert isinstance(manifest.workspace, str) and manifest.status_set is not None
    server.model.create_workspace(manifest.workspace)
    _apply_clean(ONBOARDING, server.url)
    live = read(server.url, manifest.workspace)
    wanted = [(s.name, s.category) for s in manifest.status_set.statuses]
    assert _statuses(live) == wanted
    assert duplicates(live, manifest.name) == []


@pytest.mark.parametrize("variants", VARIANTS, ids=IDS)
def test_a_new_set_whose_names_swap_the_default_spellings_converges(
    make_sandbox: Any, variants: Variants, tmp_path: Path
) -> None:
    # "Started" is a not-started status here: under the title spelling it is the name of the
    # started default until that one becomes "Doing"; "completed" has no status at all.
    server: SandboxServer = make_sandbox(variants=variants)
    server.model.create_workspace("Flow")
    path = tmp_path / "flow.yaml"
    statuses = [
        {"name": "Started", "category": "not started"},
        {"name": "not started", "category": "started"},
        {"name": "Doing", "category": "started"},
        {"name": "Needs Info", "category": "needs info"},
    ]
    write_manifest(path, _doc(statuses, _tasks(("a", "Started"), ("b", "Doing")), "Swap"))
    _apply_clean(path, server.url)
    live = read(server.url, "Flow")
    assert _statuses(live) == [(s["name"], s["category"]) for s in statuses]
    assert _task_statuses(live) == {"a": "Started", "b": "Doing"}


@pytest.mark.parametrize("variants", VARIANTS, ids=IDS)
def test_status_rename_reorder_replace_and_delete_converge_in_one_apply(
    make_sandbox: Any, variants: Variants, tmp_path: Path
) -> None:
    server: SandboxServer = make_sandbox(variants=variants)
    server.model.create_workspace("Flow")
    path = tmp_path / "flow.yaml"
    first = _tasks(("a", "Backlog"), ("b", "Doing"), ("c", "Review"), ("d", "Blocked"))
    write_manifest(path, _doc(STATUSES, first, "Delivery"))
    _apply_clean(path, server.url)
    # v2: Doing renamed, Review now "needs info" (replaced), Blocked deleted (its task moves
    # to Review), the order changed.
    v2 = [
        {"name": "Done", "category": "completed"},
        {"name": "Review", "category": "needs info"},
        {"name": "In progress", "category": "started", "renamed_from": ["Doing"]},
        {"name": "Backlog", "category": "not started"},
    ]
    second = _tasks(("a", "Backlog"), ("b", "In progress"), ("c", "Review"), ("d", "Review"))
    write_manifest(path, _doc(v2, second, "Delivery"))
    _apply_clean(path, server.url, "--prune")  # a status leaves the set only with --prune
    live = read(server.url, "Flow")
    assert _statuses(live) == [(s["name"], s["category"]) for s in v2]
    assert _task_statuses(live) == {
        "a": "Backlog",
        "b": "In progress",
        "c": "Review",
        "d": "Review",
    }


@pytest.mark.parametrize("rule", ["category", "default_name", "first"])
def test_enforced_statuses_converge_in_one_apply_after_a_status_delete(
    make_sandbox: Any, rule: str, tmp_path: Path
) -> None:
    server: SandboxServer = make_sandbox(variants=Variants(status_delete=rule))
    server.model.create_workspace("Flow")
    path = tmp_path / "flow.yaml"
    statuses = [
        {"name": "Doing", "category": "started"},
        {"name": "Review", "category": "started"},
        {"name": "started", "category": "started"},
    ]
    write_manifest(path, _doc(statuses, _tasks(("a", "Review")), "Delivery"))
    _apply_clean(path, server.url)
    # Review goes; the task wants the status named like the category, which is where only
    # some Kantatas would put it: kxplan sets it rather than counting on the server.
    kept = [statuses[0], statuses[2]]
    write_manifest(path, _doc(kept, _tasks(("a", "started")), "Delivery"))
    _apply_clean(path, server.url)
    assert _task_statuses(read(server.url, "Flow")) == {"a": "started"}


@pytest.mark.parametrize("variants", VARIANTS, ids=IDS)
def test_enforced_statuses_converge_in_one_apply_after_a_set_switch(
    make_sandbox: Any, variants: Variants, tmp_path: Path
) -> None:
    server: SandboxServer = make_sandbox(variants=variants)
    server.model.create_workspace("Flow")
    path = tmp_path / "flow.yaml"
    tasks = _tasks(("a", "Review"), ("b", "Doing"), ("c", "Blocked"))
    write_manifest(path, _doc(STATUSES, tasks, "Old flow"))
    _apply_clean(path, server.url)
    # The new set has "Check" first among the started statuses, then "Review" and "Doing":
    # where Kantata puts the tasks when switching is its choice; kxplan sets them again.
    new = [
        {"name": "Check", "category": "started"},
        {"name": "Review", "category": "started"},
        {"name": "Doing", "category": "started"},
        {"name": "Blocked", "category": "needs info"},
        {"name": "Done", "category": "completed"},
    ]
    write_manifest(path, _doc(new, tasks, "New flow"))
    _apply_clean(path, server.url)
    live = read(server.url, "Flow")
    assert live.assigned_status_set() is not None
    assert live.assigned_status_set().name == "New flow"  # type: ignore[union-attr]
    assert _task_statuses(live) == {"a": "Review", "b": "Doing", "c": "Blocked"}


def test_tags_whose_case_kantata_keeps_from_an_existing_tag_plan_clean(
    make_sandbox: Any, tmp_path: Path
) -> None:
    server: SandboxServer = make_sandbox(variants=Variants(name_match="ignore_case"))
    ws = str(server.model.create_workspace("Flow")["id"])
    with KantataClient(server.url, TOKEN) as client:
        body = {"story": {"workspace_id": int(ws), "title": "People's", "tag_list": "client"}}
        client.request("POST", "/stories", json=body)
    path = tmp_path / "flow.yaml"
    tasks = [{"key": "a", "title": "A", "tags": ["Client", "Phase-1"]}]
    write_manifest(path, _doc(STATUSES, tasks, "Delivery"))
    _apply_clean(path, server.url)
    live = read(server.url, "Flow")
    mine = next(t for t in live.tasks if t.key_for("flow") == "a")
    assert sorted(mine.tags) == ["Phase-1", "client"]  # Kantata kept the existing spelling


def test_two_statuses_differing_only_in_case_are_refused_before_any_call(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "flow.yaml"
    statuses = [
        {"name": "Done", "category": "completed"},
        {"name": "DONE", "category": "completed"},
    ]
    write_manifest(path, _doc(statuses, [], "Delivery"))
    result = kxplan("plan", path, "--api-url", sandbox.url)
    assert result.code == 1
    assert f"{path}:" in result.err and "'DONE' appears twice in the set" in result.err
    assert sandbox.log.count() == 0


# ---- a planned change whose target is gone is an error that names it --------------------


def _plan_then(server: SandboxServer, path: Path, edit: Any) -> tuple[ApplyFailed, Any]:
    """Plan `path`, let a person `edit` Kantata, then apply the (now stale) plan."""
    manifest = load_manifest(path)
    with KantataClient(server.url, TOKEN) as client:
        plan = build_plan(manifest, read_live(client, "Flow"))
        edit(client, read_live(client, "Flow"))
        with pytest.raises(ApplyFailed) as failed:
            apply_plan(plan, client)
    return failed.value, plan


def _status_id(live: LiveState, name: str) -> str:
    assigned = live.assigned_status_set()
    assert assigned is not None
    return next(s.id for s in assigned.statuses if s.name == name)


def _bootstrapped(server: SandboxServer, tmp_path: Path) -> Path:
    server.model.create_workspace("Flow")
    path = tmp_path / "flow.yaml"
    write_manifest(path, _doc(STATUSES, _tasks(("a", "Doing")), "Delivery"))
    _apply_clean(path, server.url)
    return path


def test_a_status_deleted_by_a_person_before_its_rename_stops_the_apply(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = _bootstrapped(sandbox, tmp_path)
    renamed = [*STATUSES]
    renamed[1] = {"name": "In progress", "category": "started", "renamed_from": ["Doing"]}
    write_manifest(path, _doc(renamed, _tasks(("a", "In progress")), "Delivery"))

    def delete_doing(client: KantataClient, live: LiveState) -> None:
        client.request("DELETE", f"/custom_task_statuses/{_status_id(live, 'Doing')}")

    failed, _ = _plan_then(sandbox, path, delete_doing)
    assert "update status 'In progress' of set 'Delivery'" in failed.message
    assert "is not in the set any more" in failed.message
    assert all(c.key != "In progress" for c in failed.applied)
    assert any(c.key == "In progress" for c in failed.pending)


def test_a_status_deleted_by_a_person_before_it_is_placed_stops_the_apply(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = _bootstrapped(sandbox, tmp_path)
    write_manifest(path, _doc([STATUSES[4], *STATUSES[:4]], _tasks(("a", "Doing")), "Delivery"))

    def delete_done(client: KantataClient, live: LiveState) -> None:
        client.request("DELETE", f"/custom_task_statuses/{_status_id(live, 'Done')}")

    failed, _ = _plan_then(sandbox, path, delete_done)
    assert "status 'Done' of set 'Delivery'" in failed.message
    assert all(c.key != "Done" for c in failed.applied)


def test_a_checklist_item_deleted_by_a_person_before_its_rename_stops_the_apply(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.model.create_workspace("Flow")
    path = tmp_path / "flow.yaml"
    tasks = [{"key": "a", "title": "A", "checklist": ["Agenda", "Notes"]}]
    write_manifest(path, _doc(STATUSES, tasks, "Delivery"))
    _apply_clean(path, sandbox.url)
    tasks = [
        {
            "key": "a",
            "title": "A",
            "checklist": [{"name": "Plan", "renamed_from": ["Agenda"]}, "Notes"],
        }
    ]
    write_manifest(path, _doc(STATUSES, tasks, "Delivery"))

    def delete_agenda(client: KantataClient, live: LiveState) -> None:
        item = next(i for t in live.tasks for i in t.checklist if i.name == "Agenda")
        client.request("DELETE", f"/story_tasks/{item.id}")

    failed, _ = _plan_then(sandbox, path, delete_agenda)
    assert "checklist item a/'Plan'" in failed.message and "404" in failed.message
    assert all(c.key != "Plan" for c in failed.applied)


def test_a_checklist_reorder_that_pushes_an_item_off_its_place_converges(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    # Found by Hypothesis: B is already item 2, but creating C at 1 pushes it to 3.
    sandbox.model.create_workspace("Flow")
    path = tmp_path / "flow.yaml"
    write_manifest(path, _doc(STATUSES, [{"key": "a", "title": "A", "checklist": ["A", "B"]}], "D"))
    _apply_clean(path, sandbox.url)
    wanted = ["C", "B", "D", "A"]
    write_manifest(path, _doc(STATUSES, [{"key": "a", "title": "A", "checklist": wanted}], "D"))
    _apply_clean(path, sandbox.url)
    live = read(sandbox.url, "Flow")
    assert [i.name for t in live.tasks for i in t.checklist] == wanted
