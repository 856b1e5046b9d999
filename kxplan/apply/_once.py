"""Create once: every create the applier sends goes through `create_once` (docs/apply.md,
"Late commits").

Why: a create whose answer is lost (the connection dropped, a timeout, a 5xx after the
server committed) may have been carried out. Sending it again blindly would make a second
story, status set, status or checklist item, and nothing a user has in Kantata may ever be
duplicated. So on an unknown outcome the objects are looked up by what identifies them (a
story's marker, a set's or status's name, an item's name within its story), repeatedly over
a grace period in case the create commits late (`look_again`), and only what is still
missing is sent again, up to MAX_UNKNOWN_ATTEMPTS sends in all. Each object found this way
counts in `Run.recovered`. A refusal (4xx) or a known failure is raised at once: nothing was
created, and nothing is re-sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from kxplan.apply._grace import GRACE_DELAYS, look_again
from kxplan.apply._run import MAX_UNKNOWN_ATTEMPTS, Run
from kxplan.errors import TransportError

T = TypeVar("T")  # what a send returns (usually Kantata's answer)
F = TypeVar("F")  # what a look-up finds for a key

#: Sends `keys` (the ones still missing), returning the answer.
Send = Callable[[list[str]], T]
#: Key -> the object found for it, among the keys asked for (absent: not created).
LookUp = Callable[[list[str]], Mapping[str, F]]


@dataclass(frozen=True, slots=True)
class Once(Generic[T, F]):
    """How a `create_once` ended.

    `answer`: what the send that got an answer returned, for the keys not in `found` (None
    when look-ups found every key, so nothing needed sending again). `found`: key -> the
    object a look-up found, created by a send whose answer was lost.
    """

    answer: T | None = None
    found: Mapping[str, F] = field(default_factory=dict)


def create_once(
    run: Run,
    send: Send[T],
    look_up: LookUp[F],
    keys: Iterable[str],
    what: str | Callable[[list[str]], str],
    on_found: Callable[[Mapping[str, F]], None] | None = None,
    *,
    grace: tuple[float, ...] = GRACE_DELAYS,
) -> Once[T, F]:
    """Send the create of `keys` so that each object exists exactly once afterwards.

    `send(missing)` is called with the keys not found yet; when its outcome is unknown
    (`TransportError.outcome_unknown`), `look_up` is asked for those keys over the grace
    period, `on_found` (if given) sees what was found at once (before anything is sent
    again), and only the keys still missing are sent again. The last attempt's error, and
    any error with a known outcome, is raised. `what` names the create in log lines
    (`creating task 'a'`), or is called with the keys still missing to name them. `grace`:
    the pauses between look-ups (kxplan.apply._grace).
    """
    pending = list(dict.fromkeys(keys))
    found: dict[str, F] = {}
    for attempt in range(MAX_UNKNOWN_ATTEMPTS):
        try:
            return Once(send(pending), found)
        except TransportError as err:
            if not err.outcome_unknown or attempt == MAX_UNKNOWN_ATTEMPTS - 1:
                raise
            name = what if isinstance(what, str) else what(pending)
            seen = look_again(look_up, pending, name, delays=grace)
            got = {k: seen[k] for k in pending if k in seen}
            run.count_recovered(len(got))
            found.update(got)
            if on_found is not None:
                on_found(got)
            pending = [k for k in pending if k not in got]
            if not pending:
                return Once(None, found)
    raise AssertionError("unreachable: the last attempt returns or raises")
