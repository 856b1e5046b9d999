"""`kxplan ci comment PLANFILE` against a fake GitHub on loopback: one comment per stack and
workspace, created once, then updated in place; every other comment left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kxplan.ci import saved_plan_markdown
from kxplan.cli import cli
from tests.support import kxplan
from tests.support.fleets import fleet_site, write_fleet

from .fake_github import LIMIT, FakeGitHub
from .plans import MakePlan

MARKER = "<!-- kxplan:plan stack=onboarding workspace="


def ours(github: FakeGitHub) -> list[str]:
    return [c["body"] for c in github.on(7) if c["body"].startswith("<!-- kxplan:")]


def test_the_first_run_creates_one_comment_holding_the_plan(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=3)
    result = kxplan("ci", "comment", plan)
    assert result.code == 0, result.text
    [body] = ours(github)
    assert body.startswith(MARKER)
    assert body == saved_plan_markdown(plan).text
    assert "Task 2" in body and "3 to add" in body
    assert github.methods() == ["GET", "POST"]
    assert "Created the plan comment on acme/plans#7" in result.out
    assert "(2 GitHub requests)" in result.out
    assert {h["Authorization"] for h in github.headers_seen} == {f"Bearer {github.token}"}
    assert github.token not in result.text


def test_a_rerun_updates_its_own_comment_and_touches_no_other(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    human = github.add(7, "Looks good to me")
    quoted = github.add(7, "> " + MARKER + "41001 -->\nwhy does it add Task 2?")
    other_stack = github.add(7, "<!-- kxplan:plan stack=billing workspace=41001 -->\nbilling")
    assert kxplan("ci", "comment", make_plan(tasks=3)).code == 0
    [mine] = [c["id"] for c in github.on(7) if c["body"].startswith(MARKER)]
    github.log.clear()

    result = kxplan("ci", "comment", make_plan(tasks=4))
    assert result.code == 0, result.text
    assert "Updated the plan comment on acme/plans#7" in result.out
    assert github.methods() == ["GET", "PATCH"]
    assert github.log[-1][1] == f"/repos/acme/plans/issues/comments/{mine}"
    assert "Task 3" in github.comments[mine]["body"]
    assert [c["id"] for c in github.on(7)] == [human, quoted, other_stack, mine]
    assert github.comments[human]["body"] == "Looks good to me"
    assert github.comments[quoted]["body"].startswith("> ")
    assert github.comments[other_stack]["body"].endswith("billing")


def test_the_same_plan_again_writes_nothing(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=2)
    assert kxplan("ci", "comment", plan).code == 0
    github.log.clear()
    result = kxplan("ci", "comment", plan)
    assert result.code == 0, result.text
    assert github.methods() == ["GET"]
    assert "The plan comment on acme/plans#7 already shows this plan" in result.out
    assert len(ours(github)) == 1


def test_its_comment_is_found_among_more_than_a_hundred(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=2)
    for i in range(130):
        github.add(7, f"comment {i}")
    mine = github.add(7, saved_plan_markdown(plan).text.replace("2 to add", "old"))
    for i in range(90):
        github.add(7, f"later comment {i}")
    result = kxplan("ci", "comment", plan)
    assert result.code == 0, result.text
    gets = [path for method, path in github.log if method == "GET"]
    assert gets == [
        "/repos/acme/plans/issues/7/comments?per_page=100",
        "/repos/acme/plans/issues/7/comments?per_page=100&page=2",
        "/repos/acme/plans/issues/7/comments?per_page=100&page=3",
    ]
    assert github.log[-1] == ("PATCH", f"/repos/acme/plans/issues/comments/{mine}")
    assert len(github.on(7)) == 221
    assert github.comments[mine]["body"] == saved_plan_markdown(plan).text


def test_of_two_comments_with_its_marker_the_newest_is_updated(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=2)
    marker = saved_plan_markdown(plan).marker
    older = github.add(7, f"{marker}\nolder")
    newer = github.add(7, f"{marker}\nnewer")
    assert kxplan("ci", "comment", plan).code == 0
    assert github.comments[older]["body"] == f"{marker}\nolder"
    assert github.comments[newer]["body"] == saved_plan_markdown(plan).text


def test_a_plan_longer_than_a_github_comment_is_cut_to_fit(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=700, title="A task with a rather long title to fill the comment")
    result = kxplan("ci", "comment", plan)
    assert result.code == 0, result.text  # the fake refuses (422) a body over 65,536
    [body] = ours(github)
    assert len(body) <= LIMIT
    assert body.startswith(MARKER)
    full = saved_plan_markdown(plan).text
    if len(full) > LIMIT:
        assert "> **Truncated:**" in body.splitlines()[-1]
        assert f"kxplan show {plan} --format markdown" in body


def test_the_job_summary_gets_the_plan_too(
    github: FakeGitHub,
    actions_env: dict[str, str],
    make_plan: MakePlan,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    plan = make_plan(tasks=2)
    result = kxplan("ci", "comment", plan)
    assert result.code == 0, result.text
    assert summary.read_text("utf-8") == "# earlier step\n" + saved_plan_markdown(plan).text
    assert kxplan("ci", "comment", plan, "--no-summary").code == 0
    assert summary.read_text("utf-8").count("Task 1") == 1


def test_ci_summary_writes_the_job_summary_on_any_event(
    make_plan: MakePlan, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = make_plan(tasks=2)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    missing = kxplan("ci", "summary", plan)
    assert missing.code == 1
    assert "GITHUB_STEP_SUMMARY is not set" in missing.err
    out = tmp_path / "out.md"
    assert kxplan("ci", "summary", plan, "--output", out).code == 0
    assert out.read_text("utf-8") == saved_plan_markdown(plan).text


def test_a_saved_fleet_plan_is_one_comment_for_the_fleet(
    github: FakeGitHub,
    actions_env: dict[str, str],
    sandbox: object,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fleet_site(sandbox, monkeypatch, tmp_path)  # type: ignore[arg-type]
    fleet = write_fleet(tmp_path / "fleet.yaml")
    url = sandbox.url  # type: ignore[attr-defined]
    out = ("--out", "fleet.plan.json", "--format", "markdown")
    made = kxplan("plan", fleet, "--api-url", url, *out)
    assert made.code == 0, made.text
    result = kxplan("ci", "comment", "fleet.plan.json")
    assert result.code == 0, result.text
    [body] = [c["body"] for c in github.on(7)]
    marker = "<!-- kxplan:plan stack=onboarding workspace=* -->"
    assert body.split("\n", 1)[0] == marker
    # what `kxplan plan --format markdown` printed, with the fleet's marker first
    printed = made.out.split("\n", 1)[1] if made.out.startswith("<!-- kxplan:") else made.out
    assert body == f"{marker}\n{printed}"
    assert kxplan("ci", "comment", "fleet.plan.json").code == 0
    assert len(github.on(7)) == 1


# --------------------------------------------------------------------------- errors


def test_a_refused_token_is_a_clear_error_without_the_token(
    github: FakeGitHub,
    actions_env: dict[str, str],
    make_plan: MakePlan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = make_plan(tasks=1)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_wrongtoken123")
    result = kxplan("ci", "comment", plan)
    assert result.code == 1
    assert "GET /repos/acme/plans/issues/7/comments: GitHub answered 401 (Bad credentials)" in (
        result.err
    )
    assert "check GITHUB_TOKEN" in result.err
    assert "ghs_wrongtoken123" not in result.text
    assert github.on(7) == []


def test_a_read_only_token_says_which_permission_is_missing(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    github.read_only = True
    result = kxplan("ci", "comment", make_plan(tasks=1))
    assert result.code == 1
    assert "POST /repos/acme/plans/issues/7/comments: GitHub answered 403" in result.err
    assert "permissions: pull-requests: write" in result.err
    assert github.on(7) == []


def test_an_unknown_repository_or_pull_request_is_a_404_that_says_what_to_check(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=1)
    result = kxplan("ci", "comment", plan, "--pr", "8")
    assert result.code == 1
    assert "GET /repos/acme/plans/issues/8/comments: GitHub answered 404" in result.err
    assert "check GITHUB_REPOSITORY (owner/name), the pull request number (--pr)" in result.err


def test_a_rate_limit_with_retry_after_is_waited_out(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=1)
    github.fail_next(403, {"retry-after": "0"}, "You have exceeded a secondary rate limit", 2)
    result = kxplan("ci", "comment", plan)
    assert result.code == 0, result.text
    assert github.methods() == ["GET", "GET", "GET", "POST"]
    assert len(ours(github)) == 1


def test_a_long_rate_limit_is_an_error_saying_when_to_rerun(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=1)
    github.fail_next(429, {"retry-after": "3600"}, "API rate limit exceeded")
    result = kxplan("ci", "comment", plan)
    assert result.code == 1
    assert "GitHub's rate limit (HTTP 429: API rate limit exceeded)" in result.err
    assert "it asks to wait 3600 s" in result.err and "re-run the job after" in result.err
    assert github.methods() == ["GET"]


def test_a_run_that_is_not_for_a_pull_request_makes_no_request(
    github: FakeGitHub,
    actions_env: dict[str, str],
    make_plan: MakePlan,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    plan = make_plan(tasks=1)
    push = tmp_path / "push.json"
    push.write_text(json.dumps({"ref": "refs/heads/main"}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(push))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    result = kxplan("ci", "comment", plan)
    assert result.code == 1
    assert "push event is not about a pull request" in result.err
    assert "--pr N" in result.err
    assert github.log == []
    assert kxplan("ci", "comment", plan, "--pr", "7").code == 0
    assert len(ours(github)) == 1


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("GITHUB_TOKEN", "GITHUB_TOKEN is not set"),
        ("GITHUB_REPOSITORY", "GITHUB_REPOSITORY is not set: it must name the repository"),
    ],
)
def test_a_missing_variable_is_named_before_any_request(
    github: FakeGitHub,
    actions_env: dict[str, str],
    make_plan: MakePlan,
    monkeypatch: pytest.MonkeyPatch,
    unset: str,
    message: str,
) -> None:
    plan = make_plan(tasks=1)
    monkeypatch.delenv(unset)
    result = kxplan("ci", "comment", plan)
    assert result.code == 1
    assert message in result.err
    assert github.log == []


def test_a_manifest_instead_of_a_saved_plan_is_refused_before_any_request(
    github: FakeGitHub, actions_env: dict[str, str], tmp_path: Path
) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nname: x\n", encoding="utf-8")
    result = kxplan("ci", "comment", manifest)
    assert result.code == 1
    assert f"{manifest}: not a saved plan" in result.err
    assert "kxplan plan MANIFEST --out PLANFILE" in result.err
    assert github.log == []


@pytest.mark.skipif("show" not in cli.commands, reason="`kxplan show` comes with another slice")
def test_the_comment_is_what_kxplan_show_prints_for_the_plan(
    github: FakeGitHub, actions_env: dict[str, str], make_plan: MakePlan
) -> None:
    plan = make_plan(tasks=3)
    shown = kxplan("show", plan, "--format", "markdown")
    assert shown.code == 0, shown.text
    assert kxplan("ci", "comment", plan).code == 0
    assert [c["body"] for c in github.on(7)] == [shown.out]
