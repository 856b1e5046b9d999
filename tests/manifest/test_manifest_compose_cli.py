"""`kxplan validate` and `kxplan plan --sandbox` on a manifest composed of includes,
for_each and when, and on the fleet example, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.cli import main

ROOT = Path(__file__).resolve().parents[2]

MANIFEST = """\
version: 1
name: onboarding
workspace: {title: Acme Onboarding, create: true}
vars: {kickoff: 2027-01-04, needs_legal: false, sprints: [1, 2]}
tasks:
  - include: phases/qa.yaml
    vars: {start: "${kickoff + 1w}"}
  - key: sprint-${each}
    for_each: ${sprints}
    title: Sprint ${each}
  - title: Legal review
    when: ${needs_legal}
"""

PHASE = """\
vars: {start: 2027-01-01}
tasks:
  - key: qa
    title: QA
    start_date: ${start}
    children:
      - {title: Test plan}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def composed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    (tmp_path / "phases").mkdir()
    (tmp_path / "phases" / "qa.yaml").write_text(PHASE, encoding="utf-8")
    path = tmp_path / "onboarding.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    return Path("onboarding.yaml")


def test_validate_counts_the_expanded_tasks(
    composed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["validate", str(composed)], capsys)[:2] == (
        0,
        "OK onboarding.yaml: 4 tasks, 0 checklist items, 0 statuses\n",
    )
    code, out, _ = run(["validate", str(composed), "--var", "needs_legal=true"], capsys)
    assert (code, out) == (0, "OK onboarding.yaml: 5 tasks, 0 checklist items, 0 statuses\n")


def test_plan_and_apply_in_the_sandbox_create_the_expanded_tasks(
    composed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["plan", "--sandbox", str(composed)], capsys)
    assert code == 0
    created = [line.split()[-1] for line in out.splitlines() if line.startswith("  + task")]
    assert created == ["qa", "sprint-1", "sprint-2", "qa/test-plan"]
    assert '"2027-01-11"' in out  # the include's start: kickoff + 1w
    assert "Plan: 4 to add" in out
    assert run(["apply", "--sandbox", "--auto-approve", str(composed)], capsys)[0] == 0
    code, out, _ = run(
        ["plan", "--sandbox", "--detailed-exitcode", str(composed), "--var", "needs_legal=true"],
        capsys,
    )
    assert code == 2
    assert [ln for ln in out.splitlines() if ln.startswith("  + task")] == ["  + task legal-review"]


def test_a_problem_in_an_included_file_stops_plan_before_any_request(
    composed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("phases/qa.yaml").write_text(PHASE.replace("title: QA", "titel: QA"), encoding="utf-8")
    code, out, err = run(["plan", "--sandbox", str(composed)], capsys)
    assert code == 1
    assert out == ""
    assert err.splitlines()[:2] == [
        "phases/qa.yaml:3:5: task is missing the required field 'title'",
        "  included from onboarding.yaml:6:5",
    ]
    assert not Path(".kxplan").exists()


def test_the_fleet_example_validates_one_line_per_workspace(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run(["validate", "examples/fleet/template.yaml"], capsys)
    assert (code, err) == (0, "")
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "OK examples/fleet/template.yaml (workspace 'Acme — Onboarding')",
        "OK examples/fleet/template.yaml (workspace 'Globex — Onboarding')",
        "OK examples/fleet/template.yaml (workspace 'Initech — Onboarding')",
    ]
