"""What `--format` and `--max-chars` accept, and the version of the plan format: here, not
in `kxplan.render` and `kxplan.plan`, so the command line's options and the `--json` event
stream start without importing the renderers or the plan model (kxplan._deferred)."""

from __future__ import annotations

#: Values of `--format`.
FORMATS: tuple[str, ...] = ("text", "json", "markdown")

#: Default of `--max-chars`: a GitHub comment holds 65,536 characters; this leaves room.
DEFAULT_MAX_CHARS = 60000

#: The smallest `--max-chars`: room for the marker, the heading, the summary and the
#: line that says what was left out, whatever the names.
MIN_MAX_CHARS = 4000

#: `format_version` of a saved plan, of the JSON plan and of the `--json` events.
FORMAT_VERSION = "1"
