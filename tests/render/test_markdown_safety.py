"""The Markdown plan is a pull-request comment: never longer than --max-chars, and no title
can inject HTML, break the <details> structure or the table, or mention anyone."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.render import DEFAULT_MAX_CHARS, MIN_MAX_CHARS, render_markdown
from tests.support import live_from, manifest_from, options_from

#: Pieces hostile titles are made of: HTML, comments, table and Markdown syntax, line
#: breaks, mentions and issue references, entities, control characters.
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</details>",
    "<details open>",
    "</summary>",
    "<!--",
    "-->",
    "<",
    ">",
    "|",
    "||",
    "\n",
    "\r\n",
    "\u2028",
    "\x00",
    "@octocat",
    "@org/team",
    "#1",
    "GH-2",
    "`",
    "```",
    "*bold*",
    "_it_",
    "~~s~~",
    "[x](javascript:alert(1))",
    "![i](http://x/i.png)",
    "&lt;b&gt;",
    "&",
    "\\",
    "\\|",
    "<br>",
    "<sub>",
    "— ü 日本",
    " ",
    "a",
]

hostile = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=4), min_size=1, max_size=10).map(
    lambda parts: "T" + "".join(parts)
)

#: Tags the renderer itself writes; user text never adds one.
OURS = re.compile(r"</?details>|</?summary>|<br>|</?sub>|</?pre>")


def _plan(titles: list[str], old: list[str], unmanaged: list[str], extra: str) -> Plan:
    """Tasks with hostile titles, descriptions, tags and checklist items; existing tasks
    renamed to them (updates), deleted (prune) and unmanaged ones (notes)."""
    tasks: list[dict[str, Any]] = [
        {
            "key": f"t{i}",
            "title": title,
            "description": (title + extra) * 3,
            "tags": [title[:20]],
            "checklist": [title, "ok " + title[:10]],
        }
        for i, title in enumerate(titles)
    ]
    live_tasks: list[dict[str, Any]] = [
        {"id": 100 + i, "title": t, "key": f"t{i}"} for i, t in enumerate(old)
    ]
    live_tasks += [{"id": 500 + i, "title": t} for i, t in enumerate(unmanaged)]
    live_tasks += [{"id": 900, "title": extra, "key": "gone"}]
    manifest = {"name": "demo", "prune": True, "tasks": tasks}
    live = {"workspace": {"id": 7, "title": extra}, "tasks": live_tasks}
    return build_plan(
        manifest_from(manifest, path="m.yaml"),
        live_from(live, stack="demo"),
        options_from({}),
    )


def _unescaped_pipes(line: str) -> int:
    """Pipes a table would split on: those not preceded by an odd run of backslashes."""
    return sum(1 for m in re.finditer(r"(\\*)\|", line) if len(m.group(1)) % 2 == 0)


def _check_structure(out: str) -> None:
    depth = 0
    for tag in re.findall(r"</?details>", out):
        depth += 1 if tag == "<details>" else -1
        assert depth >= 0, "a </details> closes nothing"
    assert depth == 0, "a <details> is left open"
    assert out.count("<summary>") == out.count("</summary>") == out.count("<details>")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    titles=st.lists(hostile, min_size=1, max_size=25),
    old=st.lists(hostile, max_size=10),
    unmanaged=st.lists(hostile, max_size=12),
    extra=hostile,
    max_chars=st.integers(MIN_MAX_CHARS, 30000),
)
def test_no_hostile_title_breaks_the_comment(
    titles: list[str], old: list[str], unmanaged: list[str], extra: str, max_chars: int
) -> None:
    plan = _plan(titles, old[: len(titles)], unmanaged, extra)
    out = render_markdown(plan, max_chars)
    assert len(out) <= max_chars
    first, rest = out.split("\n", 1)
    assert first.startswith("<!-- kxplan:plan stack=demo workspace=7 -->")
    assert "<!--" not in rest and "-->" not in first[:-3]
    _check_structure(out)
    assert "<" not in OURS.sub("", rest), "user text brought a raw <"
    rows = [line for line in rest.splitlines() if line.startswith("| `")]
    assert all(_unescaped_pipes(row) == 5 for row in rows), "a title split a table row"
    assert not re.search(r"@\w", out), "a title would mention someone"
    assert not re.search(r"#\d", rest), "a title would link an issue"
    shown, total = len(rows), len(plan.actionable)
    if shown < total:
        assert f"{total - shown} of {total} change" in out
        assert "kxplan show PLANFILE" in out
    else:
        assert "not shown here" not in out or "notes" in out


def _bootstrap(n: int) -> Plan:
    """A first plan of n tasks (40 phases of subtasks) into an empty workspace."""
    per = n // 40
    tasks = [
        {
            "key": f"phase-{p}",
            "title": f"Phase {p}: delivery workstream",
            "description": "Everything the client signs off in this phase. " * 3,
            "tags": ["phase", f"p{p}"],
            "children": [
                {
                    "key": f"task-{p}-{i}",
                    "title": f"Deliverable {p}.{i} for the client",
                    "description": "Prepare, review with the client and file the result.",
                    "tags": ["deliverable"],
                    "checklist": ["Draft", "Review", "Sign-off"],
                }
                for i in range(per - 1)
            ],
        }
        for p in range(40)
    ]
    return build_plan(
        manifest_from({"name": "bootstrap", "tasks": tasks}, path="bootstrap.yaml"),
        live_from({"workspace": {"id": 1, "title": "Bootstrap"}, "tasks": []}, stack="bootstrap"),
        options_from({}),
    )


def test_a_2000_task_bootstrap_fits_a_github_comment() -> None:
    plan = _bootstrap(2000)
    assert len(plan.actionable) == 2000
    whole = render_markdown(plan, 10**8)
    assert len(whole) > 300_000 and "not shown here" not in whole
    out = render_markdown(plan)
    assert len(out) <= DEFAULT_MAX_CHARS
    shown = sum(1 for line in out.splitlines() if line.startswith("| `+` | create"))
    assert 0 < shown < 2000
    assert f"**{2000 - shown} of 2000 changes are not shown here**" in out
    assert f"<summary>2000 changes, the first {shown} shown</summary>" in out
    _check_structure(out)


def test_the_summary_table_comes_first_then_the_folded_changes() -> None:
    out = render_markdown(_bootstrap(200))
    lines = out.splitlines()
    assert lines[0].startswith("<!-- kxplan:plan stack=bootstrap workspace=1 -->")
    assert lines.index("| kind | create |") < lines.index("<details>")
    assert "| task | 200 |" in lines
    assert "<summary>200 changes</summary>" in lines and "not shown here" not in out


def test_a_hostile_title_reads_as_text() -> None:
    title = "Ship <img src=x onerror=alert(1)> </details> | @octocat fixes #12"
    out = render_markdown(_plan([title], [], [], "x"), DEFAULT_MAX_CHARS)
    row = next(line for line in out.splitlines() if line.startswith("| `+` | create | task t0"))
    assert "&lt;img src=x onerror=alert(1)> &lt;/details> \\| @\u200boctocat fixes #\u200b12" in row


def test_a_plan_that_fits_is_whole_and_one_character_less_is_cut() -> None:
    plan = _bootstrap(200)
    whole = render_markdown(plan, 10**8)
    assert render_markdown(plan, len(whole)) == whole
    cut = render_markdown(plan, len(whole) - 1)
    assert len(cut) < len(whole) and "of 200 changes is not shown here" in cut
