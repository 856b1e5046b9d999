"""GC tuning (kxplan._runtime): loading pauses the cyclic collector and gives it back as found."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from kxplan import _runtime
from kxplan._runtime import gc_paused
from kxplan.manifest import load_manifest


@pytest.fixture
def gc_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_collector_is_back_on_after_a_failed_block(gc_enabled: None) -> None:
    with pytest.raises(ValueError), gc_paused():
        assert not gc.isenabled()
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_caller_that_turned_the_collector_off_keeps_it_off(gc_enabled: None) -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_loading_a_manifest_leaves_the_collector_on(gc_enabled: None, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nname: web\nworkspace: W\ntasks:\n  - title: A\n", encoding="utf-8")
    assert load_manifest(path).tasks[0].title == "A"
    assert gc.isenabled()


class _Made:
    """A tracked object of the kind a load makes."""


def test_library_use_leaves_what_a_pause_made_to_the_collector(
    gc_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_runtime, "_FREEZE", False)  # as in a process that never ran `kxplan`
    frozen = gc.get_freeze_count()
    with gc_paused():
        made = [_Made() for _ in range(1000)]
    assert gc.get_freeze_count() == frozen and gc.is_tracked(made[0])


def test_the_command_freezes_what_a_pause_made(
    gc_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `kxplan` (tune_gc) ends a pause by freezing: the collector's next pass does not scan
    # everything the load made, to free nothing (about 0.1 s after 10,000 tasks).
    monkeypatch.setattr(_runtime, "_FREEZE", False)
    threshold = gc.get_threshold()
    try:
        _runtime.tune_gc()
        before = gc.get_freeze_count()
        with gc_paused():
            made = [_Made() for _ in range(1000)]
        assert gc.get_freeze_count() >= before + len(made) and gc.isenabled()
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
