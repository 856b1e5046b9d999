"""How kxplan tunes Python's cyclic garbage collector: the one place for it.

kxplan builds hundreds of thousands of small, acyclic, long-lived objects (manifest nodes,
locations, live tasks). Reference counting frees them as usual; the cyclic collector only
rescans them for nothing. Two tools:

- `tune_gc`: process-wide, for the `kxplan` command (not for library use);
- `gc_paused`: a context manager the manifest loader, the live read and the planner wrap
  around their work, so library callers get the same speed-up without a process-wide
  change.

Re-enabling the collector after a pause makes its next pass scan every object made during
the pause (about 0.1 s after loading a 10,000-task manifest, again after the read and the
plan), to free nothing. In the `kxplan` command (`tune_gc` was called) a pause ends with
`gc.freeze()` instead: what was made is moved out of the collector's sight. Reference
counting still frees it; only a reference cycle among those objects would stay until the
process exits, and a command's process exits within seconds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_FREEZE = False  # `tune_gc` was called: pauses end with gc.freeze() (see above)


def tune_gc() -> None:
    """Collect cycles less often. The default thresholds make the cyclic collector rescan
    the plan's objects many times for nothing (about 0.3 s of a 10,000-task plan); and end
    each `gc_paused` block by freezing what it made."""
    global _FREEZE
    gc.set_threshold(50_000, 20, 20)
    _FREEZE = True


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
        if _FREEZE:
            gc.freeze()
        if was_enabled:
            gc.enable()
