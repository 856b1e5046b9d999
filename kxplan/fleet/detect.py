"""Is this input a fleet? Cheap enough for every `plan` and `apply`: a file that does not
mention `workspaces` or `fleet_format` is not parsed here (kxplan.fleet.command does the
rest, imported only for a fleet)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kxplan.errors import UsageError
from kxplan.inputfile import InputFileError, decode_utf8, read_input

#: `fleet_format` of the fleet document (and of a saved fleet plan).
FLEET_FORMAT = "fleet/1"


def fleet_input(inputs: Sequence[str | Path]) -> Path | None:
    """The one input if it is a fleet (a `workspaces:` manifest or a saved fleet plan),
    else None. A fleet given with other inputs is a UsageError."""
    fleets = [Path(p) for p in inputs if _is_fleet(Path(p))]
    if not fleets:
        return None
    if len(inputs) > 1:
        raise UsageError(
            f"{fleets[0]} is a fleet (workspaces:): it is planned and applied on its own",
            hint=f"run kxplan with {fleets[0]} alone, and the other manifests in another run",
        )
    return fleets[0]


def _is_fleet(path: Path) -> bool:
    data = peek(path)
    if isinstance(data, dict):
        return "workspaces" in data or data.get("fleet_format") == FLEET_FORMAT
    return False


def peek(path: Path) -> Any:
    """The top level of a manifest or JSON plan, or None when it cannot be read (the
    ordinary loaders then say why)."""
    try:
        text = decode_utf8(read_input(path, "manifest"))
    except (InputFileError, OSError):
        return None
    if "workspaces" not in text and "fleet_format" not in text:
        return None
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    from kxplan.manifest.yaml_loader import read_document

    doc, _ = read_document(path)
    return doc.data if doc is not None else None
