"""On a terminal: apply shows the plan and asks; `n` writes nothing, `y` applies with a
progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import run_on_terminal, tree, write_manifest


def test_answering_no_writes_nothing(sandbox: Any, tmp_path: Path) -> None:
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "m.yaml", tree((3, 3)))
    code, text = run_on_terminal(["apply", str(manifest), "--api-url", sandbox.url], "n")
    assert "Plan: 6 to add" in text and "Apply these changes? [y/N]" in text
    assert code == 1 and "Aborted" in text
    assert sandbox.log.count("POST") == 0


def test_answering_yes_applies_with_a_progress_bar(sandbox: Any, tmp_path: Path) -> None:
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "m.yaml", tree((10, 30)))
    code, text = run_on_terminal(["apply", str(manifest), "--api-url", sandbox.url], "y")
    assert code == 0, text
    assert "Applying" in text and "100%" in text
    # Two bulk creates (the lock was read as it was taken, which answers for them); a count
    # of the stack's stories before the first level, one between the levels (copies of
    # the first, keys of the second) and one after the last (docs/apply.md, "When two
    # applies meet").
    assert "Apply complete: 40 added, 0 changed, 0 moved, 0 deleted in 5 requests" in text
    assert "Verified: the workspace matches the manifest." in text
