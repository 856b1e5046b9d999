"""`apply`'s workspace locks: which workspaces to lock, holding them, the `--lock-timeout` flag
(docs/apply.md, "When two applies meet")."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kxplan.client import KantataClient
from kxplan.ids import id_order
from kxplan.lock import Settling, WorkspaceLock, lock_ttl, parse_duration
from kxplan.model import LiveWorkspace

if TYPE_CHECKING:  # imported where used, after the first request (kxplan._deferred)
    from kxplan.apply import CreateGuard
    from kxplan.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])


def lock_timeout_option(fn: F) -> F:
    """`--lock-timeout DURATION`, handed to the command as `lock_timeout: float` seconds."""
    return click.option(
        "--lock-timeout",
        "lock_timeout",
        default="0",
        metavar="DURATION",
        callback=lambda _ctx, _param, value: parse_duration(str(value)),
        help="Wait this long (e.g. 30s, 5m) for another apply of the same workspace to "
        "finish. Default 0: do not wait, exit 1 naming the holder.",
    )(fn)


def peek_locks(
    client: KantataClient,
    workspaces: Sequence[LiveWorkspace],
    timeout: float,
    say: Callable[[str], None] | None = None,
) -> dict[str, WorkspaceLock]:
    """A lock per workspace (each once, in id order), peeked at before planning:
    WorkspaceLocked at once when another apply holds one and `timeout` is 0. Workspace id ->
    its lock. A workspace whose look-up included its lock references (`lock_refs`) costs no
    read; the others one each. What the locks have to say goes to `say` (default: stderr)."""
    ttl = lock_ttl()
    locks: dict[str, WorkspaceLock] = {}
    for ws in sorted({w.id: w for w in workspaces}.values(), key=lambda w: id_order(w.id)):
        lock = WorkspaceLock(client, ws.id, ws.title, ttl=ttl, say=say or _say)
        lock.peek(timeout, ws.lock_refs)  # as its look-up included them: no read (or None)
        locks[ws.id] = lock
    return locks


@contextmanager
def hold_workspaces(
    locks: Mapping[str, WorkspaceLock],
    timeout: float,
    say: Callable[[str], None] | None = None,
    plans: Sequence[Plan] = (),
) -> Iterator[bool]:
    """Hold every lock for the block and release them at its end, also on an error, Ctrl-C
    or SIGTERM. Yields True when another apply wrote a lock since it was peeked (the
    workspace may have changed since it was planned). Release notes go to `say`.

    `plans`: what will be applied; the first marker count of each one that creates tasks
    is made while its lock's claim settles (`first_counts`), saving a round trip."""
    held: list[WorkspaceLock] = []
    changed = False
    with _terminate_as_interrupt():
        try:
            for lock in locks.values():
                changed |= lock.acquire(timeout, _first_counts(lock, plans))
                held.append(lock)
            yield changed
        finally:
            for lock in held:
                note = lock.release()
                if note:
                    (say or _say)(note)


def guard_for(
    locks: Mapping[str, WorkspaceLock], workspace_id: object, stack: str | None = None
) -> CreateGuard:
    """The create-batch checks for a plan of `workspace_id` (and `stack`: its count made
    while the lock settled, when there is one, is the guard's first)."""
    from kxplan.apply import CreateGuard

    lock = locks.get(str(workspace_id))
    if lock is None:
        return CreateGuard()
    counts = lock.settled or {}
    if stack is None or stack not in counts:
        return CreateGuard(check_lock=lock.check)
    return CreateGuard(check_lock=lock.check, first_count=counts[stack], early_requests=1)


def _first_counts(lock: WorkspaceLock, plans: Sequence[Plan]) -> Settling | None:
    """The read `lock.acquire` makes while its claim settles: the count of the stack's
    stories for each plan of its workspace that creates tasks and can count (stack -> count;
    None for a count Kantata refused). None when there is none to make."""
    from kxplan.changes.base import Action, Kind

    stacks = sorted(
        {
            p.stack
            for p in plans
            if str(p.workspace.get("id") or "") == lock.workspace_id
            and p.stack_stories is not None
            and any(c.kind is Kind.TASK and c.action is Action.CREATE for c in p.actionable)
        }
    )
    if not stacks:
        return None

    def counts() -> dict[str, int | None]:
        from kxplan.apply import stack_count

        return {stack: stack_count(lock.client, lock.workspace_id, stack) for stack in stacks}

    return counts


def report_guards(guards: Sequence[CreateGuard], say: Callable[[str], None]) -> None:
    """Say what the marker checks found: creates another apply had made (or made too)."""
    adopted = [k for g in guards for k in g.adopted]
    merged = [k for g in guards for k in g.merged]
    if adopted:
        say(
            f"{_tasks(len(adopted))} had been created meanwhile by another apply "
            f"({_sample(adopted)}): not created again, the existing one is used."
        )
    if merged:
        say(
            f"{_tasks(len(merged))} were created at the same moment by another apply "
            f"({_sample(merged)}): the older copy is kept, the one made here was deleted."
        )


def _tasks(n: int) -> str:
    return f"{n} task{'s' if n != 1 else ''}"


def _sample(keys: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(k) for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _say(text: str) -> None:
    click.echo(text, err=True)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. a CI job cancelled) unwinds like Ctrl-C, so the lock is released."""
    import signal

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. a test runner's worker): leave it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
