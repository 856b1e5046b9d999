"""Every example in examples/ bootstraps on an empty sandbox and then plans clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kxplan.manifest import load_manifest
from tests.support import TOKEN, duplicates, kxplan, read

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_are_examples_to_bootstrap() -> None:
    assert EXAMPLES, "examples/*.yaml is empty: the README's main command needs one"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_bootstraps_then_plans_clean(
    example: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    manifest = load_manifest(example)
    assert isinstance(manifest.workspace, str)
    sandbox.model.create_workspace(manifest.workspace)
    result = kxplan("apply", example, "--auto-approve", "--api-url", sandbox.url)
    assert result.code == 0, result.text
    assert "Verified: the workspace matches the manifest." in result.out
    plan = kxplan("plan", example, "--detailed-exitcode", "--api-url", sandbox.url)
    assert plan.code == 0, plan.text
    live = read(sandbox.url, manifest.workspace)
    assert len([t for t in live.tasks if t.key_for(manifest.name)]) == len(manifest.tasks)
    assert duplicates(live, manifest.name) == []
