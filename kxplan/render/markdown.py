"""The plan as a pull-request comment: size-safe and safe (docs/plan.md, "Markdown for pull
requests").

    <!-- kxplan:plan stack=S workspace=W -->     hidden marker, always the first line
    #### kxplan plan for stack ...                heading
    **Plan: N to add, ...**                       the summary sentence
    | kind | create | update | ... |             counts per kind and action
    > **Warning:** ...                            targeting, shared status sets
    **Suspected renames** ...                     not folded: apply refuses until resolved
    <details> changes (a table) </details>
    <details> notes </details>
    **K of N changes ... are not shown** ...      only when something was left out
    <sub>Estimated requests: ...</sub>

The whole text is at most `max_chars` characters (a GitHub comment holds 65,536): the
changes and notes are filled in plan order until the next one would not fit, and the rest
are counted in a line that says how to see the full plan. Every piece of user text
(titles, descriptions, checklist items, tags, reasons, names) goes through `inline`, so no
title can open or close HTML, split a table row, or start a mention.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from kxplan.changes.base import Action, Change, Kind
from kxplan.formats import DEFAULT_MAX_CHARS
from kxplan.plan import Plan, PlanWorkspace
from kxplan.render.common import (
    MAX_UNMANAGED,
    SUSPECTS_TITLE,
    field_lines,
    header,
    is_unmanaged,
    label,
    note_text,
    split,
    summary_line,
    suspect_lines,
    targeting_warning,
)

#: How much of a name (workspace title, manifest path) the heading and the marker show.
_NAME_CHARS = 120

# --------------------------------------------------------------------------- escaping

_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]+")
_MARKDOWN = re.compile(r"([\\`*_\[\]~|])")
#: `@name` notifies a GitHub user or team, `#12` links (and back-links) an issue: a zero
#: width space after the sign keeps the text and stops both.
_MENTION = re.compile(r"([@#])(?=[\w])")
_ZWSP = "\u200b"


def inline(text: str) -> str:
    """User text made safe inside a table cell, a list item or a heading: line breaks and
    control characters become one space, `&` and `<` HTML entities (no tag, comment or
    `</details>` can come from a title), Markdown punctuation is backslash-escaped (no
    emphasis, link, image, code span or extra table cell), and `@`/`#` cannot start a
    mention or an issue reference."""
    text = _BREAKS.sub(" ", text).replace("&", "&amp;").replace("<", "&lt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return _MENTION.sub(lambda m: m.group(1) + _ZWSP, text)


def preformatted(text: str) -> str:
    """Multi-line text (an error, what an apply did) as an HTML `<pre>` block: shown as
    written, with `& < >` escaped so it cannot end the block or open a tag."""
    return "<pre>\n" + html.escape(text.rstrip("\n"), quote=False) + "\n</pre>\n"


def _code(text: str) -> str:
    """A code span that no backtick in `text` can close."""
    text = _BREAKS.sub(" ", text)
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- the marker


def comment_marker(plan: Plan) -> str:
    """The hidden first line of a Markdown plan: an HTML comment naming the stack and the
    workspace (its id, or its title while it does not exist yet: the first 120
    characters), so that a CI step finds the pull-request comment it wrote before and
    updates it instead of adding another.

    Both values are percent-encoded, so no stack name or title can end the comment early.
    """
    where = plan.workspace.get("id") or _clip(str(plan.workspace.get("title") or ""), _NAME_CHARS)
    return marker_line(plan.stack, str(where))


#: The marker's workspace value of a fleet's comment: `*` is never the percent-encoded
#: value of a workspace (quote encodes it as %2A), so it matches no single workspace.
FLEET_WORKSPACE = "*"


def marker_line(stack: str, workspace: str) -> str:
    """`<!-- kxplan:plan stack=S workspace=W -->`, both values percent-encoded (a fleet's
    `workspace` is FLEET_WORKSPACE, kept as it is)."""
    where = workspace if workspace == FLEET_WORKSPACE else quote(workspace, safe="")
    return f"<!-- kxplan:plan stack={quote(stack, safe='')} workspace={where} -->"


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the comment that may be cut: `items` in order, between `opener` and
    `closer` (each item one or more whole lines). In `opener`, `{total}` becomes the
    number of items and `{more}` says how many are shown when some are left out."""

    items: tuple[str, ...]
    opener: str = ""
    closer: str = ""
    counted: str = "change"  # what its items are (singular), in the line saying what is left out

    def head(self, shown: int) -> str:
        """The opener for `shown` of the items (`{total}`, `{more}` filled in)."""
        return self._opener(_more(shown, len(self.items)))

    def frame(self) -> int:
        """The most the opener and the closer can take."""
        return len(self._opener(_more(-1, len(self.items)))) + len(self.closer)

    def _opener(self, more: str) -> str:
        return self.opener.replace("{total}", str(len(self.items))).replace("{more}", more)


def _more(shown: int, total: int) -> str:
    """`, the first 12 shown` when some are left out (-1: the longest it can be)."""
    if shown == total:
        return ""
    return f", the first {total if shown < 0 else shown} shown"


def fit(sections: Sequence[Section], budget: int) -> tuple[str, dict[str, tuple[int, int]]]:
    """The sections, each cut to what fits in what is left of `budget` (in order: an item
    that does not fit ends its section), and per kind of item (shown, total)."""
    out: list[str] = []
    counts: dict[str, tuple[int, int]] = {}
    for section in sections:
        text, shown = _fit_one(section, budget)
        budget -= len(text)
        out.append(text)
        had = counts.get(section.counted, (0, 0))
        counts[section.counted] = (had[0] + shown, had[1] + len(section.items))
    return "".join(out), counts


def _fit_one(section: Section, budget: int) -> tuple[str, int]:
    if not section.items:
        return "", 0
    whole = section.head(len(section.items)) + "".join(section.items) + section.closer
    if len(whole) <= budget:
        return whole, len(section.items)
    used, shown = section.frame(), 0
    for item in section.items:
        if used + len(item) > budget:
            break
        used += len(item)
        shown += 1
    if shown == 0:
        return "", 0
    return section.head(shown) + "".join(section.items[:shown]) + section.closer, shown


def left_out_line(counts: dict[str, tuple[int, int]], max_chars: int) -> str:
    """`**3 of 2000 changes and 1 of 2 notes are not shown here** ...` (`counts`: per kind
    of item, singular, (shown, total)); "" when nothing was left out."""
    parts = [
        f"{total - shown} of {total} {what}{'s' if total != 1 else ''}"
        for what, (shown, total) in sorted(counts.items(), key=_changes_first)
        if shown < total
    ]
    if not parts:
        return ""
    verb = "is" if len(parts) == 1 and _one(counts) else "are"
    return (
        f"**{' and '.join(parts)} {verb} not shown here** (this comment is limited to "
        f"{max_chars} characters, `--max-chars`). The full plan: `kxplan show PLANFILE` on the "
        "plan saved with `kxplan plan --out PLANFILE` (in CI: the plan artifact of this run).\n\n"
    )


def _changes_first(item: tuple[str, tuple[int, int]]) -> int:
    return 0 if item[0] == "change" else 1


def _one(counts: dict[str, tuple[int, int]]) -> bool:
    return sum(total - shown for shown, total in counts.values()) == 1


def reserve_for_left_out(counts: dict[str, tuple[int, int]], max_chars: int) -> int:
    """The longest `left_out_line` could be for these totals."""
    worst = {what: (0, total) for what, (_, total) in counts.items()}
    return len(left_out_line(worst, max_chars))


# --------------------------------------------------------------------------- the plan


def render_markdown(plan: Plan, max_chars: int = DEFAULT_MAX_CHARS, *, marker: bool = True) -> str:
    """Markdown for a pull-request comment, at most `max_chars` characters (at least
    MIN_MAX_CHARS; a fleet gives each workspace's section less, without the marker)."""
    head = _head(plan, marker)
    sections = _sections(plan)
    tail = _requests(plan)
    room = max_chars - len(head) - len(tail)
    body, counts = fit(sections, room)
    if any(shown < total for shown, total in counts.values()):  # cut: say so, in the room
        totals = {what: (0, total) for what, (_, total) in counts.items()}
        body, counts = fit(sections, room - reserve_for_left_out(totals, max_chars))
    return head + body + left_out_line(counts, max_chars) + tail


def _head(plan: Plan, marker: bool) -> str:
    lines = [comment_marker(plan)] if marker else []
    lines += [f"#### {inline(_heading(plan))}", "", f"**{inline(_clip(summary_line(plan), 400))}**"]
    return "\n".join(lines) + "\n\n" + _summary_table(plan)


def _heading(plan: Plan) -> str:
    short = PlanWorkspace(
        id=plan.workspace.get("id"),
        title=_clip(str(plan.workspace.get("title") or ""), _NAME_CHARS),
    )
    return header(Plan(plan.stack, _clip(plan.manifest, _NAME_CHARS), short, ()))


#: Columns of the summary table, in order; REPLACE counts apart from UPDATE here.
_ACTIONS = (
    Action.CREATE,
    Action.UPDATE,
    Action.REPLACE,
    Action.MOVE,
    Action.ADOPT,
    Action.DELETE,
)
_KINDS = (Kind.WORKSPACE, Kind.STATUS_SET, Kind.STATUS, Kind.TASK, Kind.CHECKLIST_ITEM, Kind.NOTE)


def _summary_table(plan: Plan) -> str:
    """Counts per kind (rows) and action (columns); only what the plan has."""
    counts: dict[tuple[Kind, Action], int] = {}
    for c in plan.actionable:
        counts[(c.kind, c.action)] = counts.get((c.kind, c.action), 0) + 1
    if not counts:
        return ""
    actions = [a for a in _ACTIONS if any(a is act for _, act in counts)]
    kinds = [k for k in _KINDS if any(k is kind for kind, _ in counts)]
    lines = [
        "| kind | " + " | ".join(a.value for a in actions) + " |",
        "|---|" + "--:|" * len(actions),
    ]
    for kind in kinds:
        cells = [str(counts.get((kind, a), 0)) for a in actions]
        lines.append(f"| {kind.value.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n"


def _sections(plan: Plan) -> list[Section]:
    calls, held, warns = split(plan)
    warnings = [targeting_warning(plan)] + [s.warning() for s in plan.shared_sets]
    notes = held + [c for c in warns if not is_unmanaged(c)]
    unmanaged = [c for c in warns if is_unmanaged(c)]
    plural = "s" if len(calls) != 1 else ""
    return [
        Section(tuple(f"> **Warning:** {inline(w)}\n\n" for w in warnings if w), counted="note"),
        _suspects(plan),
        Section(
            tuple(_row(c) + "\n" for c in calls),
            opener=f"<details>\n<summary>{{total}} change{plural}{{more}}</summary>\n\n"
            + _TABLE_HEAD,
            closer="\n</details>\n\n",
        ),
        _notes(notes, unmanaged),
    ]


_TABLE_HEAD = "| | change | object | details |\n|:-:|---|---|---|\n"


def _row(change: Change) -> str:
    ident = f" (#{change.id})" if change.id else ""
    details = [inline(f"{name}: {text}" if name else text) for name, text in field_lines(change)]
    if change.reason:
        details.append(f"_{inline(change.reason)}_")
    return (
        f"| `{change.action.symbol}` | {change.action.value} | {inline(label(change) + ident)} "
        f"| {'<br>'.join(details)} |"
    )


def _suspects(plan: Plan) -> Section:
    """Not folded: apply refuses until each is resolved, so the reviewer must see them."""
    items = []
    for s in plan.suspected_renames:
        head, _ = suspect_lines(s)
        where = f" at {_code(s.location)}" if s.location else ""
        items.append(
            f"- `!` {inline(head)}.\n"
            f"  Keep it and its history: add {_code(s.line)} to the task{where}.\n"
            f"  Or create a new task: apply with {_code('--accept-new ' + s.key)}.\n"
        )
    return Section(tuple(items), opener=f"**⚠️ {SUSPECTS_TITLE}**\n\n", closer="\n", counted="note")


def _notes(notes: list[Change], unmanaged: list[Change]) -> Section:
    items = [f"- `{c.action.symbol}` {inline(note_text(c))}\n" for c in notes]
    items += [f"- `!` {inline(note_text(c))}\n" for c in unmanaged[:MAX_UNMANAGED]]
    if len(unmanaged) > MAX_UNMANAGED:
        items.append(f"- ... and {len(unmanaged) - MAX_UNMANAGED} more unmanaged tasks\n")
    n = len(notes) + len(unmanaged)
    summary = f"{n} note{'s' if n != 1 else ''}"
    return Section(
        tuple(items),
        opener="<details>\n<summary>" + summary + "{more}</summary>\n\n",
        closer="\n</details>\n\n",
        counted="note",
    )


def _requests(plan: Plan) -> str:
    reads, writes = plan.requests.get("read", 0), plan.requests.get("write", 0)
    return f"<sub>Estimated requests: {reads} read, {writes} write.</sub>\n"
