"""The formatter behind `kxplan fmt`: canonical order and indentation, comments kept,
meaning unchanged, idempotent (over the examples and generated manifests)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kxplan.manifest import load_fleet, load_manifest
from kxplan.manifest.fmt import FmtError, format_file, format_text
from kxplan.manifest.yaml_loader import parse_document
from kxplan.model import NOWHERE, Location

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.yaml"))


def without_locations(value: Any) -> Any:
    """`value` with every Location replaced, so manifests written in another order compare."""
    if isinstance(value, Location):
        return NOWHERE
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{
                f.name: without_locations(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.init
            },
        )
    if isinstance(value, tuple):
        return tuple(without_locations(v) for v in value)
    return value


def test_keys_are_put_in_canonical_order_with_their_comments() -> None:
    text = """\
# The onboarding plan.
tasks:
  # Phase one.
  - children:  # the work
      - due_date: 2027-01-08
        title: Inventory
    title: Discovery  # client-facing
    # Stable across renames.
    key: discovery
vars:
  start: 2027-01-04
name: onboarding
version: 1
"""
    assert (
        format_text(text)
        == """\
# The onboarding plan.
version: 1
name: onboarding
vars:
  start: 2027-01-04
tasks:
  # Phase one.
  # Stable across renames.
  - key: discovery
    title: Discovery  # client-facing
    children:  # the work
      - title: Inventory
        due_date: 2027-01-08
"""
    )


def test_indentation_is_made_canonical_and_quotes_and_flow_style_are_kept() -> None:
    text = """\
version:    1
name: demo
tasks:
- title: 'Kickoff'
  tags: [a,   b]
  checklist:
      -   {name: Agenda, completed: true}
      - "Notes"
  description: |
      Line one.

      Line two.
"""
    assert (
        format_text(text)
        == """\
version: 1
name: demo
tasks:
  - title: 'Kickoff'
    description: |
      Line one.

      Line two.
    tags: [a, b]
    checklist:
      - {name: Agenda, completed: true}
      - "Notes"
"""
    )


def test_vars_keep_their_order_because_a_value_may_use_the_ones_above() -> None:
    text = "version: 1\nname: d\nvars:\n  z: 2027-01-04\n  a: ${z + 1d}\ntasks: []\n"
    assert format_text(text) == text


def test_extension_keys_stay_first_so_their_anchors_come_before_their_aliases() -> None:
    text = """\
version: 1
x-defaults: &defaults
  priority: high
name: anchors
tasks:
  - title: A
    <<: *defaults
"""
    formatted = format_text(text)
    assert formatted.startswith("x-defaults: &defaults\n  priority: high\nversion: 1\n")
    assert "  - <<: *defaults\n    title: A\n" in formatted


def test_an_alias_that_would_move_above_its_anchor_keeps_the_keys_in_place() -> None:
    text = """\
version: 1
name: d
tasks:
  - title: A
    checklist: &names [One]
    tags: *names
"""
    formatted = format_text(text)
    assert formatted == text  # tags go before checklist: *names would come before &names
    assert format_text(formatted) == formatted


def test_invalid_yaml_is_an_error_at_file_line_col() -> None:
    with pytest.raises(FmtError) as raised:
        format_text("version: 1\ntasks:\n  - title: [unclosed\n", "broken.yaml")
    assert raised.value.format().startswith("broken.yaml:4:1: not valid YAML")


def test_duplicate_keys_are_an_error_not_a_guess_of_which_one_wins() -> None:
    with pytest.raises(FmtError) as raised:
        format_text("version: 1\nname: a\nname: b\n", "dup.yaml")
    assert "dup.yaml:3:1:" in raised.value.format()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_is_formatted(path: Path) -> None:
    assert not format_file(path).changed


def test_fmt_keeps_what_a_manifest_and_its_includes_mean(tmp_path: Path) -> None:
    (tmp_path / "phase.yaml").write_text(
        "tasks:\n  - due_date: ${start + 2d}\n    title: Phase for ${client}\n"
        "vars:\n  start: 2027-01-04\n  client: X\n",
        encoding="utf-8",
    )
    main = tmp_path / "main.yaml"
    main.write_text(
        "tasks:\n  - vars: {client: Acme}\n    include: phase.yaml\n"
        "  - checklist: [{completed: true, name: Done}]\n    title: Wrap-up\n"
        "workspace: W\nname: inc\nversion: 1\n",
        encoding="utf-8",
    )
    before = without_locations(load_manifest(main))
    for path in (main, tmp_path / "phase.yaml"):
        result = format_file(path)
        assert result.changed
        path.write_text(result.after, encoding="utf-8")
    assert without_locations(load_manifest(main)) == before
    assert (tmp_path / "phase.yaml").read_text(encoding="utf-8").startswith("vars:\n")


def test_fmt_orders_a_fleet_and_its_workspace_mappings(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        """\
tasks:
  - title: Kickoff for ${client}
workspaces:
  - vars: {client: Acme}
    workspace: {create: true, title: Acme}
  - workspace:
      create: true
      title: Globex
    vars: {client: Globex}
version: 1
name: fleet
""",
        encoding="utf-8",
    )
    before = without_locations(load_fleet(path))
    formatted = format_file(path).after
    assert (
        formatted
        == """\
version: 1
name: fleet
workspaces:
  - workspace: {create: true, title: Acme}
    vars: {client: Acme}
  - workspace:
      title: Globex
      create: true
    vars: {client: Globex}
tasks:
  - title: Kickoff for ${client}
"""
    )
    path.write_text(formatted, encoding="utf-8")
    assert without_locations(load_fleet(path)) == before


# --------------------------------------------------------------------------- generated

_TITLES = st.sampled_from(["Kickoff", "Audit", "Report: final", "Plan #2", "Ünïcode"])
_COMMENT = st.sampled_from(["", "  # note", "  # a: b"])


@st.composite
def _task(draw: st.DrawFn, depth: int = 0) -> list[tuple[str, list[str]]]:
    """A task as (key, lines of its value) entries, in a random order."""
    entries: list[tuple[str, list[str]]] = [("title", [f' "{draw(_TITLES)}"'])]
    if draw(st.booleans()):
        entries.append(("due_date", [f" 2027-0{draw(st.integers(1, 9))}-1{depth}"]))
    if draw(st.booleans()):
        entries.append(("tags", [" [a, b]"]))
    if draw(st.booleans()):
        entries.append(("checklist", ["", "- One", "- {completed: true, name: Two}"]))
    if draw(st.booleans()):
        entries.append(("description", [" |", "  Line one.", "", "  Line two."]))
    if depth < 2 and draw(st.booleans()):
        children = draw(st.lists(_task(depth + 1), min_size=1, max_size=2))
        entries.append(("children", [""] + [ln for c in children for ln in _item(c)]))
    # A full-line comment after an entry: it belongs to (and moves with) the next one.
    notes = draw(st.lists(st.booleans(), min_size=len(entries), max_size=len(entries)))
    entries = [
        (k, [*v, f"# after {k}"] if n else v) for (k, v), n in zip(entries, notes, strict=True)
    ]
    return draw(st.permutations(entries))


def _item(entries: list[tuple[str, list[str]]]) -> list[str]:
    lines = _entries(entries)
    return ["- " + lines[0]] + ["  " + ln if ln else ln for ln in lines[1:]]


def _entries(entries: list[tuple[str, list[str]]]) -> list[str]:
    lines: list[str] = []
    for key, value in entries:
        lines.append(f"{key}:{value[0]}")
        lines += ["  " + ln if ln else ln for ln in value[1:]]
    return lines


@st.composite
def _manifest(draw: st.DrawFn) -> str:
    tasks = draw(st.lists(_task(), min_size=1, max_size=3))
    top = [
        ("version", [" 1"]),
        ("name", [" generated"]),
        ("workspace", [' "W"']),
        ("tasks", [""] + [ln for t in tasks for ln in _item(t)]),
    ]
    lines = _entries(draw(st.permutations(top)))
    comment = draw(_COMMENT)
    return "\n".join(ln + comment if ln.endswith('"') else ln for ln in lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(_manifest())
def test_generated_manifests_format_idempotently_and_keep_their_meaning(text: str) -> None:
    formatted = format_text(text, "gen.yaml")
    assert format_text(formatted, "gen.yaml") == formatted
    before, _ = parse_document(text, "gen.yaml")
    after, _ = parse_document(formatted, "gen.yaml")
    assert before is not None and after is not None
    assert after.data == before.data
    assert formatted.startswith("version: 1\nname: generated\n")
    assert formatted.count("#") == text.count("#")


def test_a_document_start_and_the_comments_above_it_are_kept() -> None:
    text = "# Owner: PMO\n---\n# The plan.\nname: d\nversion: 1\n"
    assert format_text(text) == "# Owner: PMO\n---\n# The plan.\nversion: 1\nname: d\n"


def test_windows_line_endings_are_kept() -> None:
    text = "name: d\r\nversion: 1\r\ntasks:\r\n- title: A\r\n"
    assert format_text(text) == "version: 1\r\nname: d\r\ntasks:\r\n  - title: A\r\n"
