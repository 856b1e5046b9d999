"""Pruning whole subtrees: the parents' DELETEs first, then one read says which subtasks
Kantata deleted with them, and only those still there get a DELETE of their own."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox.variants import Variants
from tests.support import TOKEN, kxplan, read, tree, write_manifest

SIZES = (10, 40, 150, 300, 500)  # 1,000 tasks; each top-level tree holds 100
ARGS = ("--auto-approve", "--prune", "--allow-mass-delete")


def _prune_two_trees(make_sandbox: Any, tmp_path: Path, cascade: str) -> tuple[int, int]:
    """(DELETEs, story reads) of pruning 2 of 10 trees; nothing left behind either way."""
    sandbox = make_sandbox(variants=Variants(delete_cascade=cascade))
    sandbox.model.create_workspace("Big")
    doc = tree(SIZES)
    manifest = write_manifest(tmp_path / "big.yaml", doc)
    assert kxplan("apply", manifest, "--auto-approve", "--api-url", sandbox.url).code == 0
    pruned = copy.deepcopy(doc)
    pruned["tasks"] = pruned["tasks"][:8]  # 2 of the 10 trees: 200 tasks
    write_manifest(manifest, pruned)
    since = len(sandbox.log.entries)
    result = kxplan("apply", manifest, *ARGS, "--api-url", sandbox.url)
    assert result.code == 0, result.text
    assert "Verified: the workspace matches the manifest." in result.out
    assert "200 deleted" in result.out
    counts = (_deletes(sandbox, since), _reads(sandbox, since))
    live = read(sandbox.url, "Big")
    assert len(live.tasks) == 800  # nothing left behind, under either answer
    ids = {t.id for t in live.tasks}
    assert all(t.parent_id is None or t.parent_id in ids for t in live.tasks)
    return counts


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.setenv("KXPLAN_LOCK_TTL", "3600")


def _deletes(sandbox: Any, since: int) -> int:
    return sum(1 for e in sandbox.log.entries[since:] if e.method == "DELETE")


def _reads(sandbox: Any, since: int) -> int:
    entries = sandbox.log.entries[since:]
    return sum(1 for e in entries if e.method == "GET" and e.route == "/stories")


def test_when_kantata_deletes_subtasks_with_their_parent_only_the_parents_are_deleted(
    make_sandbox: Any, tmp_path: Path
) -> None:
    deletes, reads = _prune_two_trees(make_sandbox, tmp_path, "cascade")
    assert deletes == 2  # was 200: one per task
    assert reads == 5 + 1  # the plan's read + one `only=` read of the 198 subtasks


def test_when_it_does_not_every_subtask_still_there_gets_its_delete(
    make_sandbox: Any, tmp_path: Path
) -> None:
    deletes, reads = _prune_two_trees(make_sandbox, tmp_path, "none")
    assert deletes == 200
    assert reads == 5 + 1  # one read showed nothing went with its parent: no more reads
