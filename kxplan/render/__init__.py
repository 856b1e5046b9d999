"""Renderers of a `Plan`: text for terminals, JSON for machines, Markdown for pull requests.

They only read the plan; none of them re-diffs. Output is deterministic: the same plan
gives the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kxplan.formats import DEFAULT_MAX_CHARS, FORMATS, MIN_MAX_CHARS
from kxplan.plan import Plan
from kxplan.render.jsonplan import render_json
from kxplan.render.text import render_text

if TYPE_CHECKING:  # at run time imported when first asked for: see __getattr__
    from kxplan.render.markdown import render_markdown

__all__ = [
    "DEFAULT_MAX_CHARS",
    "FORMATS",
    "MIN_MAX_CHARS",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
]


def render(plan: Plan, fmt: str, *, color: bool = False, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Render `plan` in format `fmt` (one of FORMATS); Markdown is at most `max_chars`
    characters long (docs/plan.md, "Markdown for pull requests")."""
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        from kxplan.render.markdown import render_markdown

        return render_markdown(plan, max_chars)
    return render_text(plan, color)


def __getattr__(name: str) -> Any:
    """`render_markdown`, imported on first use: the Markdown renderer (and the `html`
    module it escapes with) costs an import that a plan shown as text never needs."""
    if name == "render_markdown":
        from kxplan.render.markdown import render_markdown

        return render_markdown
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
