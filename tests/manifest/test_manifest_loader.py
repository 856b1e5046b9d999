"""The line-aware YAML loader: safe, strict about duplicates, and exact about positions."""

from __future__ import annotations

from pathlib import Path

from kxplan.manifest.yaml_loader import parse_document, read_document
from kxplan.model import Location


def test_every_value_and_key_keeps_its_line_and_column() -> None:
    doc, problems = parse_document(
        "version: 1\ntasks:\n  - title: Kickoff\n    tags: [a, b]\n", "m"
    )
    assert problems == []
    assert doc is not None
    assert doc.loc(("tasks", 0)) == Location("m", 3, 5)
    assert doc.loc(("tasks", 0, "title")) == Location("m", 3, 12)
    assert doc.key_loc(("tasks", 0, "title")) == Location("m", 3, 5)
    assert doc.loc(("tasks", 0, "tags", 1)) == Location("m", 4, 15)
    # A path that does not exist falls back to its nearest located ancestor.
    assert doc.loc(("tasks", 0, "due_date")) == Location("m", 3, 5)


def test_yaml_dates_become_iso_strings_and_scalars_keep_their_types() -> None:
    doc, _ = parse_document("d: 2027-01-04\nn: 5\nb: true\ns: '2027-01-04'\nz: ~\n", "m")
    assert doc is not None
    assert doc.data == {"d": "2027-01-04", "n": 5, "b": True, "s": "2027-01-04", "z": None}


def test_python_tags_are_reported_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f'a: !!python/object/apply:os.system ["touch {marker}"]\nb: !!python/name:os.system\n'
    doc, problems = parse_document(text, "m")
    assert not marker.exists()
    assert [(p.line, p.message.split(" !!")[0]) for p in problems] == [
        (1, "unsupported YAML tag"),
        (2, "unsupported YAML tag"),
    ]
    assert doc is not None
    assert doc.data["a"] == [f"touch {marker}"]  # plain data, nothing constructed


def test_duplicate_keys_are_reported_at_the_second_one() -> None:
    _, problems = parse_document("title: a\nkey: k\ntitle: b\n", "m")
    assert [(p.line, p.col, p.message) for p in problems] == [
        (3, 1, "duplicate key 'title' (first at line 1)")
    ]


def test_anchors_and_merge_keys_work_and_explicit_keys_win() -> None:
    text = "x-defaults: &d\n  type: milestone\n  priority: high\ntask:\n  <<: *d\n  priority: low\n"
    doc, problems = parse_document(text, "m")
    assert problems == []
    assert doc is not None
    assert doc.data["task"] == {"priority": "low", "type": "milestone"}
    assert doc.loc(("task", "type")) == Location("m", 2, 9)  # where the value was written


def test_alias_bombs_are_stopped() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    doc, problems = parse_document("\n".join(lines) + "\n", "m")
    assert doc is None
    assert "expands too many aliases" in problems[0].message


def test_syntax_errors_point_at_the_problem() -> None:
    doc, problems = parse_document("tasks:\n  - title: a\n   due_date: b\n", "m")
    assert doc is None
    assert (problems[0].line, problems[0].col) == (3, 4)
    assert problems[0].message.startswith("not valid YAML")


def test_unreadable_files_are_clear_problems(tmp_path: Path) -> None:
    binary = tmp_path / "image.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    cases = {
        tmp_path / "missing.yaml": "no such file",
        binary: "not a text file",
        tmp_path: "directory",
    }
    for path, message in cases.items():
        doc, problems = read_document(path)
        assert doc is None
        assert message in problems[0].message
        assert problems[0].file == str(path)
