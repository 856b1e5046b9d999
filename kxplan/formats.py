"""What `--format` and `--max-chars` accept: here, not in `kxplan.render`, so the command
line's options are defined without importing the renderers (kxplan._deferred)."""

from __future__ import annotations

#: Values of `--format`.
FORMATS: tuple[str, ...] = ("text", "json", "markdown")

#: Default of `--max-chars`: a GitHub comment holds 65,536 characters; this leaves room.
DEFAULT_MAX_CHARS = 60000

#: The smallest `--max-chars`: room for the marker, the heading, the summary and the
#: line that says what was left out, whatever the names.
MIN_MAX_CHARS = 4000
