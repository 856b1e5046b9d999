"""Looking again before re-sending a create whose answer was lost (docs/apply.md, "Late
commits").

When the connection drops or times out after a create was sent, the server may still be
working on it and commit it later: a look-up made at once finds nothing, and re-sending
would create the objects twice. So the look-up is repeated, with growing pauses, for
about as long as a client waits for an answer (the 60 s default timeout): a request that
reached the server before the client gave up has had a second full timeout to commit.
Only what is still missing after that is re-sent, and `kxplan apply` verification (and
`kxplan plan`) report any duplicate that slips through anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Pauses before the second, third... look-up: 63.75 s in all, a little more than one
#: default client timeout; most late commits are seen by the first few, which cost < 2 s.
GRACE_DELAYS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def look_again(
    find: Callable[[list[str]], Mapping[str, T]],
    keys: Iterable[str],
    what: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    delays: tuple[float, ...] = GRACE_DELAYS,
) -> dict[str, T]:
    """Key -> what `find(missing keys)` found, looked up now and again after each of
    `delays` while some key is still missing (a create may commit late)."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, T] = {}
    for delay in (0.0, *delays):
        missing = [k for k in wanted if k not in found]
        if not missing:
            break
        if delay:
            log.warning(
                "%s: the answer was lost and %d of %d not found yet; looking again in %g s "
                "before re-sending (the server may commit it late)",
                what,
                len(missing),
                len(wanted),
                delay,
            )
            sleep(delay)
        found.update(find(missing))
    return found
