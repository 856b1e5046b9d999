"""The repository explains itself: what its code and docs cite is in the repository.

Comments and docs point at docs/*.md (docs/kantata-api.md for the Kantata API), never at
notes kept elsewhere (the project's API notes or product brief by section number, a path
into the shared folder beside the repository), and every docs page and open question
(`docs/kantata-api.md Q10`) they cite exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Where citations live: the code, the tests, the benches and the docs.
_SOURCES = ("kxplan", "tests", "bench")

#: Citations of documents that are not in this repository.
_OUTSIDE = re.compile(
    r"\b(?:NOTES|PRODUCT|STYLE)(?:\.md)?\s*§"  # a section of the notes or the brief
    r"|\b(?:NOTES|PRODUCT|STYLE)\.md\b"  # the files themselves
    r"|\.\./shared\b"  # the shared folder, relative
    r"|/work/(?:shared)\b"  # or absolute
    r"|\bshared/kantata-api\b"
)

#: A docs page named by path.
_DOCS_PAGE = re.compile(r"\bdocs/([\w.-]+\.md)\b")

#: An open question of docs/kantata-api.md cited by number.
_QUESTION = re.compile(r"\bkantata-api\.md,? Q(\d+)\b")


def _files() -> Iterator[Path]:
    for folder in _SOURCES:
        yield from sorted((ROOT / folder).rglob("*.py"))
    yield from sorted((ROOT / "docs").glob("*.md"))


def _hits(pattern: re.Pattern[str]) -> Iterator[tuple[str, str]]:
    """(file:line, match) for every match of `pattern` in the sources."""
    for path in _files():
        text = path.read_text(encoding="utf-8")
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield f"{path.relative_to(ROOT)}:{line}", match.group(0)


def test_nothing_cites_a_document_outside_the_repository() -> None:
    found = [f"{where}: {text!r}" for where, text in _hits(_OUTSIDE)]
    assert not found, "cite docs/*.md instead (docs/kantata-api.md for the API):\n" + "\n".join(
        found
    )


def test_every_docs_page_cited_exists() -> None:
    missing = [
        f"{where}: {text}" for where, text in _hits(_DOCS_PAGE) if not (ROOT / text).is_file()
    ]
    assert not missing, "\n".join(missing)


def test_every_open_question_cited_is_a_row_of_the_api_page() -> None:
    page = (ROOT / "docs" / "kantata-api.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| (\d+) \|", page, flags=re.M))
    cited = list(_hits(_QUESTION))
    assert cited, "no open question is cited: the pattern no longer matches the comments"
    wrong = [f"{where}: {text}" for where, text in cited if text.rsplit("Q", 1)[1] not in rows]
    assert not wrong, "\n".join(wrong)


def test_the_api_page_cites_the_official_documentation() -> None:
    page = (ROOT / "docs" / "kantata-api.md").read_text(encoding="utf-8")
    for url in (
        "https://developer.kantata.com/tag/Stories",
        "https://developer.kantata.com/tag/Story-Tasks",
        "https://developer.kantata.com/tag/Task-Status-Sets",
        "https://developer.kantata.com/tag/Task-Statuses",
        "https://developer.kantata.com/tag/Workspaces",
        "https://developer.kantata.com/tag/External-References",
        "https://developer.kantata.com/kantata/specification/section/rate-limits",
    ):
        assert url in page, url


#: A module of the package named by path in the docs (`kxplan/live/_lookups.py`).
_MODULE = re.compile(r"\bkxplan/[\w/]+\.py\b")


def test_every_module_the_docs_name_exists() -> None:
    """Docs that point at code point at code that is there (modules move in refactors)."""
    pages = sorted((ROOT / "docs").glob("*.md"))
    missing = []
    for page in pages:
        for match in _MODULE.finditer(page.read_text(encoding="utf-8")):
            if not (ROOT / match.group(0)).is_file():
                missing.append(f"{page.relative_to(ROOT)}: {match.group(0)}")
    assert not missing, "update these paths:\n" + "\n".join(missing)
