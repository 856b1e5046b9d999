"""A fresh 1,000-task tree over 5 levels is created in Σ⌈tasks at that level / 300⌉ requests."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.support import TOKEN, kxplan, read, tree, write_manifest

SIZES = (10, 40, 150, 300, 500)  # tasks per level: 1,000 in all


def test_a_fresh_1000_task_tree_takes_one_bulk_request_per_300_tasks_per_level(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    # A lock that lives an hour is refreshed (written again) only after 20 minutes: a slow
    # run on a loaded machine writes it twice, as a quick one does.
    monkeypatch.setenv("KXPLAN_LOCK_TTL", "3600")
    sandbox.model.create_workspace("Big")
    manifest = write_manifest(tmp_path / "big.yaml", tree(SIZES))
    result = kxplan("apply", manifest, "--auto-approve", "--api-url", sandbox.url)
    assert result.code == 0, result.text
    bound = sum(math.ceil(n / 300) for n in SIZES)  # 1 + 1 + 1 + 1 + 2
    assert sandbox.log.count("POST", "/stories") <= bound == 6
    # Checklists and tags rode in the create calls: no other write was needed, but for
    # taking and releasing the workspace lock (docs/apply.md, "When two applies meet").
    lock = "/external_references/create_or_update"
    assert sandbox.log.count("POST", lock) == 2
    assert sandbox.log.count("POST") == sandbox.log.count("POST", "/stories") + 2
    assert sandbox.log.count("PUT") == sandbox.log.count("DELETE") == 0
    assert "Verified: the workspace matches the manifest." in result.out
    live = read(sandbox.url, "Big")
    assert len(live.tasks) == 1000
    assert all(len(t.checklist) == 2 and t.tags for t in live.tasks)
