"""Assemble README.md from the sections in docs/ (the sections are the source).

Run `python docs/assemble_readme.py` after editing a section; a test checks README.md is current.
Headings of every section after the introduction are pushed down one level (outside code blocks).
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SECTIONS = (
    "manifest.md",
    "plan.md",
    "drift.md",
    "apply.md",
    "fleet.md",
    "ci.md",
    "export.md",
    "cli.md",
    "client.md",
    "kantata-api.md",
    "sandbox.md",
    "bench.md",
)


def demote(text: str) -> str:
    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out).rstrip() + "\n"


def assemble() -> str:
    parts = [(DOCS / "intro.md").read_text(encoding="utf-8").rstrip() + "\n"]
    parts += [demote((DOCS / name).read_text(encoding="utf-8")) for name in SECTIONS]
    return "\n".join(parts)


if __name__ == "__main__":
    target = DOCS.parent / "README.md"
    target.write_text(assemble(), encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
