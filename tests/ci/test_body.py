"""A plan's Markdown cut to what GitHub holds: at a line, what was open closed again, and a
last line saying how much was left out and where the full plan is."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.ci import COMMENT_LIMIT, PlanMarkdown, fit, fit_comment, saved_plan_markdown
from kxplan.ci.body import utf16_units
from kxplan.errors import UsageError

from .plans import MakePlan

WHERE = "The full plan: `kxplan show plan.json`."


def cut(text: str, limit: int) -> str:
    return fit(text, limit, len, WHERE, "Comments hold")


def test_a_text_within_the_limit_is_left_as_it_is() -> None:
    text = "<!-- kxplan:plan stack=s workspace=1 -->\n| a | b |\n"
    assert cut(text, len(text)) == text


def test_a_long_text_is_cut_at_a_line_and_says_how_many_lines_are_left_out() -> None:
    lines = ["<!-- kxplan:plan stack=s workspace=1 -->"] + [f"| row {i} |" for i in range(1000)]
    text = "\n".join(lines) + "\n"
    out = cut(text, 2000)
    assert len(out) <= 2000
    kept = out.split("\n\n> **Truncated:**")[0].splitlines()
    assert kept == lines[: len(kept)]
    left = len(lines) - len(kept)
    assert out.endswith(
        f"> **Truncated:** {left} more lines left out (Comments hold at most 2,000). {WHERE}\n"
    )


def test_a_cut_inside_a_code_fence_and_details_closes_them() -> None:
    text = "<!-- m -->\n<details><summary>Notes</summary>\n\n```\n" + "x\n" * 500 + "```\n"
    text += "</details>\n"
    out = cut(text, 300)
    assert len(out) <= 300
    body = out.split("\n> **Truncated:**")[0]
    assert body.count("```") == 2
    assert body.rstrip().endswith("```\n</details>")


def test_characters_beyond_one_utf16_unit_are_counted_as_github_may_count_them() -> None:
    text = "<!-- m -->\n" + "😀 task\n" * 20_000
    out = fit_comment(PlanMarkdown("<!-- m -->", text), "plan.json")
    assert utf16_units(out) <= COMMENT_LIMIT
    assert len(out) < COMMENT_LIMIT  # code points: fewer still
    assert out.startswith("<!-- m -->\n😀 task\n")
    assert "`kxplan show plan.json --format markdown`" in out


def test_a_real_plan_cut_keeps_its_marker_and_its_first_rows(make_plan: MakePlan) -> None:
    body = saved_plan_markdown(make_plan(tasks=200))
    out = cut(body.text, 4000)
    assert len(out) <= 4000
    assert out.splitlines()[0] == body.marker
    assert "Task 0" in out and "Task 199" not in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a saved plan (line 1, column 1: Expecting value)"),
        ("[1, 2]", "not a saved plan (not a JSON object)"),
        ('{"format_version": "0"}', "not a saved plan (plan format_version '0' is not '1')"),
    ],
)
def test_a_file_that_is_not_a_saved_plan_says_so(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(Exception, match="not a saved plan") as caught:
        saved_plan_markdown(path)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format_version": "1", "fleet_format": "fleet/0"}', "fleet_format 'fleet/0' is not"),
        ('{"format_version": "1", "fleet_format": "fleet/1"}', "no fleet or workspaces"),
        (
            '{"format_version": "1", "fleet_format": "fleet/1", "fleet": {}, "workspaces": [1]}',
            "(workspaces[0]): not a readable fleet entry",
        ),
    ],
)
def test_a_saved_fleet_plan_it_cannot_read_says_what_as_show_does(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "fleet.plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        saved_plan_markdown(path)
    assert message in str(caught.value)
