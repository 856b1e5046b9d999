"""`kxplan validate` as a user runs it: output lines and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.cli import main

MANIFEST = """\
version: 1
name: demo
vars:
  kickoff: 2027-01-04
  review: 2027-01-20
status_set:
  name: Flow
  statuses:
    - {name: Open, category: not started}
tasks:
  - title: Kickoff
    start_date: ${kickoff}
    due_date: ${review}
    checklist: [Agenda]
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    return path


def test_a_valid_manifest_prints_one_ok_line(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["validate", str(manifest)], capsys) == (
        0,
        f"OK {manifest}: 1 task, 1 checklist item, 1 status\n",
        "",
    )


def test_var_overrides_apply_before_the_checks(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["validate", str(manifest), "--var", "review=2027-01-01"], capsys)
    assert code == 1
    assert err == (
        f"{manifest}:13:15: due_date 2027-01-01 is before start_date 2027-01-04 "
        "(move the due date later or the start date earlier)\n"
    )


def test_a_var_without_equals_is_a_usage_error(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["validate", str(manifest), "--var", "review"], capsys)
    assert code == 1
    assert "--var 'review' is not name=value" in err


def test_a_missing_file_is_reported_with_the_others(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = run(["validate", str(manifest), str(missing)], capsys)
    assert code == 1
    assert out == ""  # nothing is OK while any file has problems
    assert err == f"{missing}:1:1: no such file (check the path)\n"


def test_validate_needs_at_least_one_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["validate"], capsys)
    assert code == 1
    assert "MANIFEST" in err
