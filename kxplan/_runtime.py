"""How kxplan tunes Python's cyclic garbage collector: the one place for it.

kxplan builds hundreds of thousands of small, acyclic, long-lived objects (manifest nodes,
locations, live tasks). Reference counting frees them as usual; the cyclic collector only
rescans them for nothing. Two tools:

- `tune_gc`: process-wide, for the `kxplan` command (not for library use);
- `gc_paused`: a context manager the manifest loader wraps around loading, so library
  callers get the same speed-up without a process-wide change. Under `tune_gc` it also
  freezes (`gc.freeze()`) what the block left alive: the loaded manifest then never costs
  a full collection when the collector is re-enabled (about 0.1 s at 10,000 tasks).
  Reference counting still frees frozen objects; only cycles among them would outlive
  their use, and manifests build none.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Whether `gc_paused` freezes what its block built (set by `tune_gc`: the command only).
_freeze_after_pause = False


def tune_gc() -> None:
    """Collect cycles less often. The default thresholds make the cyclic collector rescan
    the plan's objects many times for nothing (about 0.3 s of a 10,000-task plan)."""
    global _freeze_after_pause
    gc.set_threshold(50_000, 20, 20)
    _freeze_after_pause = True


def release_frozen() -> None:
    """Undo `tune_gc`'s freezing: unfreeze what `gc_paused` froze and stop freezing. The
    command calls it on the way out, so a process that runs `main` in-process (the tests)
    keeps collecting cycles as usual."""
    global _freeze_after_pause
    _freeze_after_pause = False
    gc.unfreeze()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block, then restore it as it was.

    The collector's repeated passes over a loading manifest cost more than half the load
    time of a 10,000-task manifest and free nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze_after_pause:
            gc.freeze()
        if was_enabled:
            gc.enable()
