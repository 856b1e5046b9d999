"""Every file in tests/manifest/invalid/ is rejected by `kxplan validate` with exit 1 and
exactly the problems its header announces, each at the line it names:

    # expect: 7: due_date 2027-01-04 is before start_date 2027-01-10
    # expect: 9:5: unknown field 'owner'       (line, or line:col)
    # expect: includes/qa.yaml:3:5: ...        (a problem in an included file)
    # chain: included from CASE.yaml:6:5       (a line of the chain under the problem above)

Included files live in tests/manifest/invalid/includes/ (not cases themselves); paths in
`expect:`/`chain:` lines are relative to tests/manifest/invalid/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kxplan.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "invalid"
CASES = sorted(CORPUS.glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (?:(?P<file>[\w./-]+\.yaml):)?(\d+)(?::(\d+))?: (.+)$")
_CHAIN = re.compile(r"^# chain: (.+)$")
_PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `kxplan ARGS` in-process through the real entry point; (exit code, out, err)."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def expectations(path: Path) -> list[tuple[int, int | None, str]]:
    return [(line, col, text) for _, line, col, text, _ in detailed_expectations(path)]


def detailed_expectations(
    path: Path,
) -> list[tuple[str, int, int | None, str, list[str]]]:
    """(file, line, col, fragment, chain lines) per `# expect:` line of a case."""
    found: list[tuple[str, int, int | None, str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match, chain = _EXPECT.match(line), _CHAIN.match(line)
        if match:
            file = str(CORPUS / match["file"]) if match["file"] else str(path)
            col = int(match[3]) if match[3] else None
            found.append((file, int(match[2]), col, match[4], []))
        elif chain and found:
            found[-1][4].append(re.sub(r"[\w./-]+\.yaml", lambda m: str(CORPUS / m[0]), chain[1]))
    return found


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert all(expectations(case) for case in CASES), "every case announces its problems"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_manifest_is_rejected_at_the_offending_node(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["validate", str(case)], capsys)
    assert code == 1
    assert "OK" not in out
    lines = err.splitlines()
    problems = [(m, _chain(lines, i)) for i, m in enumerate(map(_PROBLEM.match, lines)) if m]
    expected = detailed_expectations(case)
    assert len(problems) == len(expected), err
    for file, line, col, fragment, chain in expected:
        hits = [
            p
            for p, steps in problems
            if int(p["line"]) == line
            and (col is None or int(p["col"]) == col)
            and fragment in p["message"]
            and p["file"] == file
            and all(any(step.startswith(c) for step in steps) for c in chain)
        ]
        assert hits, f"no problem at {file}:{line} containing {fragment!r} {chain} in:\n{err}"


def _chain(lines: list[str], index: int) -> list[str]:
    """The chain lines (`  included from ...`) printed under the problem at `index`."""
    steps = []
    for line in lines[index + 1 :]:
        if not line.startswith("  "):
            break
        steps.append(line.strip())
    return steps


def test_problems_of_several_files_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("version: 1\nname: a\ntasks:\n  - title: Kickoff\n    type: epic\n")
    second.write_text("version: 1\nname: b\ntasks:\n  - titel: Review\n")
    code, _, err = run_cli(["validate", str(first), str(second)], capsys)
    assert code == 1
    assert err.splitlines() == [
        f"{first}:5:11: type: 'epic' is not one of: task, milestone, deliverable, issue",
        f"{second}:4:5: task is missing the required field 'title'",
        f"{second}:4:5: unknown field 'titel' in task (did you mean 'title'?)",
    ]


def test_examples_validate(capsys: pytest.CaptureFixture[str]) -> None:
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
    assert len(examples) >= 3
    proc = subprocess.run(
        [sys.executable, "-m", "kxplan", "validate", *examples],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"OK {e}" for e in examples]
    assert all(re.search(r"\d+ tasks?, \d+ checklist items?, \d+ status(es)?$", ln) for ln in lines)
