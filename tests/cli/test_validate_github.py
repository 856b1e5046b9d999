"""`kxplan validate --format github`: one GitHub Actions `::error` annotation per problem."""

from __future__ import annotations

from pathlib import Path

from kxplan.cli.cmd_validate import escape_data, escape_property
from tests.support import kxplan


def test_each_problem_is_an_error_annotation_at_its_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "phase.yaml").write_text(
        "tasks:\n  - title: Phase\n    due_date: 2027-13-45\n", encoding="utf-8"
    )
    main = tmp_path / "main.yaml"
    main.write_text(
        "version: 1\nname: inc\nworkspace: W\ntasks:\n  - include: phase.yaml\n"
        "  - title: Wrap-up\n    start_date: nope\n",
        encoding="utf-8",
    )
    result = kxplan("validate", "--format", "github", main)
    assert result.code == 1
    assert result.err == ""
    assert result.out.splitlines() == [
        f"::error file={escape_property(str(main))},line=7,col=17::start_date must be a date "
        "YYYY-MM-DD, or a variable such as ${kickoff + 10d} (here it is 'nope')",
        # The include chain's error points at the included file, and says how it got there.
        f"::error file={escape_property(str(tmp_path / 'phase.yaml'))},line=3,col=15::"
        f"due_date '2027-13-45' is not a calendar date%0Aincluded from {main}:5:5",
    ]


def test_valid_manifests_print_their_ok_lines_and_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("version: 1\nname: ok\ntasks:\n  - title: One\n", encoding="utf-8")
    result = kxplan("validate", "--format", "github", path)
    assert (result.code, result.out) == (0, f"OK {path}: 1 task, 0 checklist items, 0 statuses\n")


def test_invalid_yaml_and_usage_errors_are_annotations_too(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\ntasks: [unclosed\n", encoding="utf-8")
    result = kxplan("validate", "--format", "github", path)
    assert result.code == 1
    assert result.out.startswith(f"::error file={escape_property(str(path))},line=3,col=1::")
    usage = kxplan("validate", "--format", "github", path, "--var", "nope")
    assert usage.code == 1
    assert usage.out == (
        "::error title=kxplan::--var 'nope' is not name=value (e.g. --var kickoff=2027-01-04)\n"
    )


def test_messages_and_properties_are_escaped_as_github_documents() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("C:\\x,y%.yaml") == "C%3A\\x%2Cy%25.yaml"


def test_a_path_with_a_comma_or_colon_cannot_break_the_annotation(tmp_path: Path) -> None:
    folder = tmp_path / "a,b:c"
    folder.mkdir()
    path = folder / "m.yaml"
    path.write_text("version: 1\nname: x\ntasks:\n  - title: A\n    due_date: no\n", "utf-8")
    line = kxplan("validate", "--format", "github", path).out.splitlines()[0]
    props, _, message = line.removeprefix("::error ").partition("::")
    assert props.count(",") == 2 and ":" not in props
    assert dict(p.split("=", 1) for p in props.split(","))["file"].endswith("a%2Cb%3Ac/m.yaml")
    assert message.startswith("due_date")
