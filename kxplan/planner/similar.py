"""When two task titles are "similar" (a suspected rename, kxplan.planner.renames).

Titles are compared as words: case folded, accents removed, punctuation dropped
(`title_words`). Two titles are similar when

- their words are the same ("Content Inventory!" and "content inventory"), or
- one word was changed, added or removed, and either at least one word is kept
  ("Content inventory" -> "Content audit", "Kickoff" -> "Kickoff call") or the changed word
  is a typo fix (character similarity of the two words at least WORD_RATIO:
  "Discvery" -> "Discovery"),

except when the only change is one number for another ("Sprint 1" / "Sprint 2" are items of
a series, not a rename). Every similar pair is within one word edit, so candidates are found
through an index of word sequences with one word left out (`index_keys` / `probe_keys`)
instead of comparing every pair.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator

#: Character similarity at which a changed word counts as a typo fix.
WORD_RATIO = 0.8

_WORD = re.compile(r"[^\W_]+")

Words = tuple[str, ...]
IndexKey = tuple[object, ...]


def title_words(title: str) -> Words:
    """The words of a title: case folded, accents removed, punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return tuple(_WORD.findall(plain))


def title_similarity(new: str, old: str) -> float | None:
    """How alike two titles are (0..1, higher first when pairing), or None: not similar."""
    return words_similarity(title_words(new), title_words(old))


def words_similarity(a: Words, b: Words) -> float | None:
    """`title_similarity` on words already split."""
    if not a or not b:
        return None
    if a == b:
        return 1.0
    if not _similar_edit(a, b):
        return None
    return round(difflib.SequenceMatcher(None, " ".join(a), " ".join(b)).ratio(), 3)


def _similar_edit(a: Words, b: Words) -> bool:
    if len(a) == len(b):
        changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        if len(changed) != 1:
            return False
        x, y = changed[0]
        if x.isdigit() and y.isdigit():
            return False  # another item of a series
        return len(a) > 1 or difflib.SequenceMatcher(None, x, y).ratio() >= WORD_RATIO
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def index_keys(words: Words) -> Iterator[IndexKey]:
    """Keys an old title is indexed under: itself, and itself with each word left out
    (by position, for a changed word; without position, for a removed word)."""
    yield ("=", words)
    for i in range(len(words)):
        rest = words[:i] + words[i + 1 :]
        yield ("~", i, rest)
        yield ("-", rest)


def probe_keys(words: Words) -> Iterator[IndexKey]:
    """Keys a new title looks up: every old title within one word edit is under one."""
    yield ("=", words)  # same words
    yield ("-", words)  # the old title has one more word
    for i in range(len(words)):
        rest = words[:i] + words[i + 1 :]
        yield ("~", i, rest)  # one word changed
        yield ("=", rest)  # the new title has one more word
