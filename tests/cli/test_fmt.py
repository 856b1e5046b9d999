"""`kxplan fmt [--check]` as a user runs it: what it writes, prints and exits with."""

from __future__ import annotations

from pathlib import Path

from tests.support import kxplan

UNFORMATTED = """\
# Onboarding.
tasks:
    - due_date: 2027-01-08   # a Friday
      title: Kickoff
name: onboarding
version: 1
"""
# A comment after a value keeps its column.
FORMATTED = """\
# Onboarding.
version: 1
name: onboarding
tasks:
  - title: Kickoff
    due_date: 2027-01-08     # a Friday
"""


def test_fmt_rewrites_the_files_that_need_it_and_names_them(tmp_path: Path) -> None:
    messy = tmp_path / "messy.yaml"
    messy.write_text(UNFORMATTED, encoding="utf-8")
    tidy = tmp_path / "tidy.yaml"
    tidy.write_text(FORMATTED, encoding="utf-8")
    result = kxplan("fmt", messy, tidy)
    assert (result.code, result.out, result.err) == (0, f"{messy}\n", "")
    assert messy.read_text(encoding="utf-8") == FORMATTED
    assert tidy.read_text(encoding="utf-8") == FORMATTED
    assert kxplan("fmt", messy).out == ""  # formatting again changes nothing


def test_check_writes_nothing_and_exits_1_naming_each_file(tmp_path: Path) -> None:
    paths = [tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "ok.yaml"]
    for path in paths[:2]:
        path.write_text(UNFORMATTED, encoding="utf-8")
    paths[2].write_text(FORMATTED, encoding="utf-8")
    result = kxplan("fmt", "--check", *paths)
    assert result.code == 1
    assert result.out == f"{paths[0]}\n{paths[1]}\n"
    assert f"2 files are not formatted: run `kxplan fmt {paths[0]} {paths[1]}`" in result.err
    assert all(p.read_text(encoding="utf-8") == UNFORMATTED for p in paths[:2])


def test_check_exits_0_when_every_file_is_formatted(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(FORMATTED, encoding="utf-8")
    assert kxplan("fmt", "--check", path) == kxplan("fmt", "--check", path)
    result = kxplan("fmt", "--check", path)
    assert (result.code, result.out, result.err) == (0, "", "")


def test_the_examples_are_formatted() -> None:
    root = Path(__file__).resolve().parents[2]
    examples = sorted((root / "examples").rglob("*.yaml"))
    result = kxplan("fmt", "--check", *examples)
    assert (result.code, result.out) == (0, "")


def test_invalid_yaml_is_reported_at_file_line_col_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    messy = tmp_path / "messy.yaml"
    messy.write_text(UNFORMATTED, encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ntasks:\n  - title: [unclosed\n", encoding="utf-8")
    result = kxplan("fmt", messy, broken)
    assert result.code == 1
    assert result.err.startswith(f"{broken}:4:1: not valid YAML")
    assert messy.read_text(encoding="utf-8") == UNFORMATTED


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = kxplan("fmt", tmp_path / "nope.yaml")
    assert (result.code, result.err) == (
        1,
        f"{tmp_path / 'nope.yaml'}:1:1: no such file (check the path)\n",
    )
