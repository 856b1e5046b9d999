"""Task keys: the identity kxplan writes into each story's marker.

An explicit `key` matches `KEY_PATTERN` (lowercase letters, digits, `.`, `_`, `-` and `/`,
starting with a letter or digit, at most `KEY_MAX` characters). A task without `key`
gets a derived key: its parent's key, `/`, and the slug of its own title — so with no
explicit keys at all, a key is the slugs of the title path (`discovery/kickoff-call`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: What an explicit task key looks like (also in schemas/manifest.schema.json).
KEY_PATTERN = r"^[a-z0-9][a-z0-9._/-]*$"

#: Longest key (explicit or derived).
KEY_MAX = 200

#: Longest slug of one title; longer slugs are cut at a word boundary.
SLUG_MAX = 60

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """A key segment for `text`: lowercase ASCII words joined by `-`, at most SLUG_MAX long.

    Accents are folded (`Café Überblick` -> `cafe-uberblick`); other characters separate
    words. A text with no letters or digits left (only emoji, or a script with no ASCII
    folding) gets the deterministic fallback `t-` + 8 hex digits of its SHA-1, so the
    same title always yields the same key.
    """
    folded = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = folded.encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_only).strip("-")
    if len(slug) > SLUG_MAX:
        cut = slug[: SLUG_MAX + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:SLUG_MAX]
    if not slug:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        slug = f"t-{digest}"
    return slug


def derive_key(parent_key: str | None, title: str) -> str:
    """The key of a task without an explicit `key`."""
    slug = slugify(title)
    return f"{parent_key}/{slug}" if parent_key else slug


def is_valid_key(key: str) -> bool:
    """True when `key` matches KEY_PATTERN and KEY_MAX."""
    return len(key) <= KEY_MAX and re.match(KEY_PATTERN, key) is not None
