"""Which title edits count as similar for a suspected rename (kxplan.planner.similar), and
that the index finds every similar pair the definition allows."""

from __future__ import annotations

import pytest

from kxplan.planner.similar import index_keys, probe_keys, title_similarity, title_words

SIMILAR = [
    ("Content audit", "Content inventory"),  # one word changed, one kept
    ("Content Inventory!", "content inventory"),  # case and punctuation only
    ("Café review", "Cafe review"),  # accents
    ("Kickoff call", "Kickoff"),  # one word added
    ("Review", "Final review"),  # one word removed
    ("Discovery", "Discvery"),  # a typo in a one-word title
    ("Sprint 2 retro", "Sprint 2 review"),  # a number kept, a word changed
    ("Phase 2", "Phase"),  # a number added
]

NOT_SIMILAR = [
    ("Build", "Design"),  # one word, nothing in common
    ("Sprint 4", "Sprint 1"),  # only a number changed: another item of a series
    ("Sprint 1 review", "Sprint 2 review"),
    ("Content audit plan", "Content inventory list"),  # two words changed
    ("Kickoff call notes", "Kickoff"),  # two words added
    ("!!!", "Review"),  # no words
]


@pytest.mark.parametrize(("new", "old"), SIMILAR)
def test_similar_titles(new: str, old: str) -> None:
    score = title_similarity(new, old)
    assert score is not None and 0 < score <= 1
    assert title_similarity(old, new) == score  # symmetric
    assert set(probe_keys(title_words(new))) & set(index_keys(title_words(old)))


@pytest.mark.parametrize(("new", "old"), NOT_SIMILAR)
def test_titles_that_are_not_similar(new: str, old: str) -> None:
    assert title_similarity(new, old) is None


def test_the_same_words_score_highest() -> None:
    same = title_similarity("Content Inventory", "content inventory")
    edited = title_similarity("Content audit", "Content inventory")
    assert same == 1.0 and edited is not None and edited < same
