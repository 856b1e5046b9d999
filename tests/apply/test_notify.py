"""The words of `apply --notify` (kxplan.notify.notification, pure): counts, the tasks added,
moved and removed by title, dates that moved, and the commit from the CI environment."""

from __future__ import annotations

from kxplan import changes as ch
from kxplan.notify import notification
from kxplan.plan import Plan

PLAN = Plan("onboarding", "plans/onboarding.yaml", {"id": "41001", "title": "Acme"}, ())
TITLES = {"qa": "QA", "phase-2": "Phase 2", "kickoff": "Kickoff call"}
APPLIED = (
    ch.TaskCreate(
        key="discovery",
        after={"title": "Discovery", "type": "task", "parent": None, "parent_id": None},
    ),
    ch.TaskMove(
        key="qa",
        id="5",
        before={"parent": None, "parent_id": None},
        after={"parent": "phase-2", "parent_id": "6"},
    ),
    ch.TaskUpdate(
        key="kickoff",
        id="7",
        before={"due_date": "2027-01-04"},
        after={"due_date": "2027-01-11"},
        fields=("due_date",),
    ),
    ch.TaskDelete(key="old", id="8", before={"title": "Old cleanup", "parent": None}),
    ch.PostCreate(key="welcome", after={"message": "Hi", "task": None, "task_id": None}),
)


def test_nothing_applied_posts_nothing() -> None:
    assert notification(PLAN, (), TITLES, {}) is None
    kept = ch.TaskKeep(key="x", id="1", before={"title": "X", "parent": None})
    assert notification(PLAN, (kept,), TITLES, {}) is None


def test_the_message_names_counts_titles_moves_and_dates() -> None:
    text = notification(PLAN, APPLIED, TITLES, {})
    assert text is not None
    lines = text.splitlines()
    assert lines[0] == (
        'kxplan updated the plan (stack "onboarding", template plans/onboarding.yaml): '
        "1 task added, 1 moved, 1 changed, 1 removed, 1 post added."
    )
    assert 'Added: "Discovery".' in lines and 'Removed: "Old cleanup".' in lines
    assert 'Moved: "QA" (now under "Phase 2").' in lines
    assert 'Dates: "Kickoff call" due 2027-01-04 → 2027-01-11.' in lines
    assert not any(line.startswith("From ") for line in lines)


def test_the_commit_comes_from_github_or_gitlab() -> None:
    github = {
        "GITHUB_SHA": "0123456789abcdef",
        "GITHUB_REPOSITORY": "acme/plans",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "42",
    }
    text = notification(PLAN, APPLIED, TITLES, github) or ""
    assert text.endswith(
        "From commit 0123456 of acme/plans (https://github.com/acme/plans/actions/runs/42)."
    )
    gitlab = {
        "CI_COMMIT_SHA": "fedcba9876",
        "CI_PROJECT_PATH": "acme/plans",
        "CI_PIPELINE_URL": "https://gitlab.example/p/1",
    }
    text = notification(PLAN, APPLIED, TITLES, gitlab) or ""
    assert text.endswith("From commit fedcba9 of acme/plans (https://gitlab.example/p/1).")
