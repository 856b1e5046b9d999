"""Create batches of one level sent side by side still leave every parent's children in
manifest order, under both placements Kantata may use for a new sibling."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.support import TOKEN, kxplan, read, tree, write_manifest

SIZES = (1, 3, 900)  # 300 children under each of 3 parents: three batches that share none


@pytest.mark.parametrize("placement", ["first", "last"])
def test_a_level_sent_in_parallel_batches_keeps_sibling_order(
    make_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, placement: str
) -> None:
    from kxplan.sandbox.variants import Variants

    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.setenv("KXPLAN_LOCK_TTL", "3600")
    sandbox = make_sandbox(variants=Variants(new_siblings=placement))
    sandbox.model.create_workspace("Wide")
    doc = {**tree(SIZES), "workspace": "Wide"}
    manifest = write_manifest(tmp_path / "wide.yaml", doc)
    result = kxplan("apply", manifest, "--auto-approve", "--api-url", sandbox.url)
    assert result.code == 0, result.text
    assert "Verified: the workspace matches the manifest." in result.out
    assert sandbox.log.count("POST", "/stories") == sum(math.ceil(n / 300) for n in SIZES)
    live = read(sandbox.url, "Wide")
    by_id = {t.id: t for t in live.tasks}
    for parent in doc["tasks"][0]["children"]:
        kids = sorted(
            (t for t in live.tasks if t.parent_id and by_id[t.parent_id].title == parent["title"]),
            key=lambda t: (t.position, int(t.id)),
        )
        assert [t.title for t in kids] == [c["title"] for c in parent["children"]]
