"""A cooperative lock on a workspace, stored in Kantata (docs/apply.md, "When two applies meet").

    lock = WorkspaceLock(client, workspace_id, workspace_title, ttl=120)
    lock.acquire(timeout=0)      # WorkspaceLocked when another apply holds it
    lock.check()                 # before create batches: ApplyError when it was lost
    lock.release()

There is no state file, so the lock is an external reference on the Workspace subject:
service_name `kxplan-lock` (its own service name: `create_or_update` keeps one reference per
subject and service name, so the lock can never replace another reference on the
workspace), service_model `workspace-lock`, service_model_ref the run id, and
external_message a small JSON object `{"holder", "since", "until"}`; external_link is the
CI job's URL when one is known. One lock per workspace, whatever the stack: two stacks on
one workspace share tasks' parents and the status set, so their applies take turns too.

`create_or_update` is "last writer wins", so acquiring is: read; when nobody else holds an
unexpired lock, write ours; wait as long as the write took (a rival's write that was under
way is then visible); read again and hold the lock only if the reference is ours. A run
that was overtaken finds out at the next `check()`. A holder that dies leaves its lock until
`until` (refreshed every ttl/3 while it lives); then the next run takes it over and says so.
The lock makes two applies take turns; what guarantees one task per key is the marker
check around each level of creates (`kxplan.apply._guard`).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kxplan.errors import ApiError, ApplyError, KxplanError, TransportError
from kxplan.ids import id_order
from kxplan.model import LOCK_SERVICE

if TYPE_CHECKING:
    from kxplan.client import KantataClient

log = logging.getLogger(__name__)

LOCK_MODEL = "workspace-lock"
HELD, RELEASED = "locked", "released"

#: How long a lock lives without a refresh (seconds); `KXPLAN_LOCK_TTL` overrides it.
DEFAULT_TTL = 120.0
TTL_ENV = "KXPLAN_LOCK_TTL"

#: Longest wait between writing the lock and reading it back (seconds).
MAX_SETTLE = 2.0

#: A read that showed this run holding the lock answers `check()` and `release()` for this
#: share of the lifetime (20 s of the default 120 s): a lock is only ever taken over once
#: expired, and this run refreshes it every third of its lifetime, so a read in between only
#: catches a rival whose write raced ours when taking it, which the marker checks settle.
RECHECK_SHARE = 1 / 6

#: A read `acquire` makes while this run's claim settles: the story count of each stack
#: the apply will create tasks for (kxplan.cli.locking).
Settling = Callable[[], Mapping[str, int | None]]

#: Pauses before reading back a lock write whose answer was lost (it may commit late).
_LOST_WRITE_DELAYS = (0.25, 0.5, 1.0, 2.0)


class WorkspaceLocked(KxplanError):
    """Another apply holds the workspace (exit 1)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One lock reference as read from Kantata."""

    ref_id: str
    run_id: str
    holder: str
    since: float
    until: float
    link: str = ""
    released: bool = False
    updated: str = ""  # the server's updated_at: any write changes the claim

    def describe(self) -> str:
        """`alice@ci-7 pid 4121 (run 3f2a9c01d2e4), since 14:03:05 UTC, until 14:05:05 UTC`."""
        link = f", {self.link}" if self.link else ""
        return (
            f"{self.holder} (run {self.run_id}{link}), since {clock_time(self.since)}, "
            f"until {clock_time(self.until)}"
        )


def clock_time(epoch: float) -> str:
    """`2026-12-01 14:03:05 UTC` for messages."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _epoch(text: object) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None


def claim_from_ref(ref: Mapping[str, Any]) -> Claim | None:
    """The claim a reference records, or None when it is not a readable kxplan lock."""
    if ref.get("service_name") != LOCK_SERVICE or ref.get("service_model") != LOCK_MODEL:
        return None
    try:
        data = json.loads(str(ref.get("external_message") or ""))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    since, until = _epoch(data.get("since")), _epoch(data.get("until"))
    if since is None or until is None:
        return None
    return Claim(
        ref_id=str(ref.get("id")),
        run_id=str(ref.get("service_model_ref") or ""),
        holder=str(data.get("holder") or "an unknown apply"),
        since=since,
        until=until,
        link=str(ref.get("external_link") or ""),
        released=ref.get("external_status") == RELEASED,
        updated=str(ref.get("updated_at") or ""),
    )


def current_holder(claims: Iterable[Claim], now: float) -> Claim | None:
    """The claim that holds the workspace: the oldest reference among the unexpired ones
    (a server that keeps one reference per subject has only one)."""
    live = [c for c in claims if c.until > now and not c.released]
    return min(live, key=lambda c: id_order(c.ref_id), default=None)


def who_am_i(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(holder, link): `user@host pid N` plus the CI job when the environment names one."""
    env = os.environ if env is None else env
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    holder = f"{user}@{socket.gethostname()} pid {os.getpid()}"
    job = _ci_job(env)
    return (f"{holder}, {job[0]}" if job[0] else holder), job[1]


def _ci_job(env: Mapping[str, str]) -> tuple[str, str]:
    """(`CI job …`, its URL) from GitHub Actions, GitLab CI or Jenkins variables."""
    if env.get("GITHUB_RUN_ID"):
        url = ""
        if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY"):
            url = (
                f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/"
                f"{env['GITHUB_RUN_ID']}"
            )
        return f"CI job {env.get('GITHUB_WORKFLOW', 'GitHub Actions')} #{env['GITHUB_RUN_ID']}", url
    if env.get("CI_JOB_ID"):
        return f"CI job {env['CI_JOB_ID']}", env.get("CI_JOB_URL", "")
    if env.get("BUILD_URL"):
        return f"CI job {env.get('JOB_NAME', '')} #{env.get('BUILD_NUMBER', '')}", env["BUILD_URL"]
    return "", ""


def lock_ttl(env: Mapping[str, str] | None = None) -> float:
    """The lock's time to live: `KXPLAN_LOCK_TTL` seconds, else DEFAULT_TTL."""
    from kxplan.errors import UsageError

    raw = (os.environ if env is None else env).get(TTL_ENV, "").strip()
    if not raw:
        return DEFAULT_TTL
    try:
        ttl = float(raw)
    except ValueError:
        ttl = -1.0
    if not 0.5 <= ttl <= 86400:
        raise UsageError(
            f"{TTL_ENV}={raw!r} is not a number of seconds between 0.5 and 86400",
            hint=f"unset {TTL_ENV} to use the default ({DEFAULT_TTL:g} s)",
        )
    return ttl


def parse_duration(text: str) -> float:
    """Seconds from `30s`, `5m`, `1h`, `90` (seconds) or `0`; UsageError otherwise."""
    from kxplan.errors import UsageError

    raw = text.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    scale = units.get(raw[-1:]) if raw else None
    number = raw[:-1] if scale is not None else raw
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400 or number.strip() in ("", "nan", "inf"):
        raise UsageError(
            f"--lock-timeout {text!r} is not a duration",
            hint="give a number of seconds, minutes or hours, e.g. 30s, 5m or 1h (0: do not wait)",
        )
    return seconds


class WorkspaceLock:
    """This run's lock on one workspace (see the module docstring for the protocol)."""

    def __init__(
        self,
        client: KantataClient,
        workspace_id: str,
        workspace_title: str,
        *,
        ttl: float = DEFAULT_TTL,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = log.warning,
    ) -> None:
        self.client = client
        self.workspace_id = workspace_id
        self.title = workspace_title
        self.ttl = ttl
        self.run_id = uuid.uuid4().hex[:12]
        self.holder, self.link = who_am_i()
        self._now = now
        self._sleep = sleep
        self._say = say
        self._since = now()
        self._held = False
        self._confirmed: float | None = None  # time.monotonic() of the last read showing it ours
        self._lost: Claim | None = None
        self._seen: frozenset[Claim] | None = None  # what peek() read
        self._first: frozenset[Claim] | None = None  # what acquire() read first
        #: What `acquire`'s `settling` read returned (stack -> its story count) in the try
        #: that took the lock; None: not asked, or made in a try that did not take it.
        self.settled: Mapping[str, int | None] | None = None
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self._mutex = threading.Lock()

    @property
    def where(self) -> str:
        return f'workspace "{self.title}" ({self.workspace_id})'

    # ------------------------------------------------------------------ reading, writing

    def read(self) -> list[Claim]:
        """Every lock claim on the workspace (one GET)."""
        data = self.client.request(
            "GET",
            "/external_references",
            params={
                "subject_type": "Workspace",
                "subject_id": self.workspace_id,
                "service_name": LOCK_SERVICE,
                "per_page": 200,
            },
        )
        refs = data.get("external_references") or {}
        return self._claims(refs.get(str(row.get("id"))) for row in data.get("results") or ())

    def _claims(self, refs: Iterable[object]) -> list[Claim]:
        """The readable lock claims among `refs` that are on this workspace."""
        claims = []
        for ref in refs:
            if not isinstance(ref, Mapping) or str(ref.get("subject_id")) != self.workspace_id:
                continue
            claim = claim_from_ref(ref)
            if claim is not None:
                claims.append(claim)
        return claims

    def _write(self, *, released: bool = False) -> float:
        """Write (or refresh, or release) this run's claim; the seconds the write took."""
        started = time.monotonic()
        until = self._now() + (0 if released else self.ttl)
        message = {
            "holder": self.holder,
            "since": _iso(self._since),
            "until": _iso(until),
        }
        ref = {
            "subject_type": "Workspace",
            "subject_id": int(self.workspace_id),
            "service_name": LOCK_SERVICE,
            "service_model": LOCK_MODEL,
            "service_model_ref": self.run_id,
            "external_status": RELEASED if released else HELD,
            "external_message": json.dumps(message, separators=(",", ":")),
        }
        if self.link:
            ref["external_link"] = self.link
        try:
            self.client.request(
                "POST", "/external_references/create_or_update", json={"external_reference": ref}
            )
        except TransportError as err:
            if not err.outcome_unknown:
                raise
            self._await_lost_write(released, until)
        return time.monotonic() - started

    def _await_lost_write(self, released: bool, until: float) -> None:
        """The answer to a lock write was lost: wait until what it wrote shows (it may
        commit late). Our claim being there is not enough: a refresh or a release changes
        a claim that already exists, so wait for its new state (released, and its `until`)."""
        for delay in _LOST_WRITE_DELAYS:
            self._sleep(delay)
            if any(self._wrote(c, released, until) for c in self.read()):
                return

    def _wrote(self, claim: Claim, released: bool, until: float) -> bool:
        return (
            claim.run_id == self.run_id
            and claim.released == released
            and abs(claim.until - until) < 1.0  # the lock's times are kept to the second
        )

    def _holder(self, claims: Iterable[Claim]) -> Claim | None:
        return current_holder(claims, self._now())

    # ------------------------------------------------------------------ acquire

    def peek(self, timeout: float = 0.0, refs: Iterable[Mapping[str, Any]] | None = None) -> None:
        """Read the lock before planning (nothing is written). Raises WorkspaceLocked at
        once when another apply holds it and `timeout` is 0: no plan is made in vain.

        `refs`: the workspace's lock references as its look-up, made right before, included
        them (`LiveWorkspace.lock_refs`): they are the peek, and nothing is read. `acquire`
        compares its own first read with what the peek saw."""
        claims = self.read() if refs is None else self._claims(refs)
        self._seen = frozenset(claims)
        holder = self._holder(claims)
        if holder is not None and holder.run_id != self.run_id and not timeout:
            raise self._locked_error(holder, timeout)

    def acquire(self, timeout: float = 0.0, settling: Settling | None = None) -> bool:
        """Hold the workspace, waiting up to `timeout` seconds for another apply to finish.

        True when another run wrote the lock since `peek` (it took, refreshed or released
        it: the workspace may have changed since it was planned). Raises WorkspaceLocked
        naming the holder when it is still held after `timeout`.

        `settling`: a read made in the pause between writing this run's claim and reading it
        back (it fills the pause, which lasts as long as the write took): its answer is kept
        in `settled` when that try takes the lock. E.g. the first marker count of the apply,
        which only needs to come after the claim (kxplan.apply._guard)."""
        deadline = time.monotonic() + timeout
        poll = min(5.0, max(0.1, self.ttl / 8))
        waited = False
        while True:
            other = self._try_once(settling)
            if other is None:
                self._start_refresher()
                return waited or self._first != self._seen
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._locked_error(other, timeout)
            log.info("%s is held by %s; waiting", self.where, other.describe())
            self._sleep(min(poll, left))
            waited = True

    def _try_once(self, settling: Settling | None = None) -> Claim | None:
        """None when this run now holds the lock, else the claim that holds it."""
        self.settled = None
        claims = self.read()
        if self._first is None:
            self._first = frozenset(claims)
        holder = self._holder(claims)
        if holder is not None and holder.run_id != self.run_id:
            return holder
        self._note_expired(claims)
        took = self._write()
        started = time.monotonic()
        settled = settling() if settling is not None else None  # fills the pause
        # The pause lasts as long as the write took: a rival's write under way lands meanwhile.
        self._sleep(max(0.0, min(took, MAX_SETTLE) - (time.monotonic() - started)))
        holder = self._holder(self.read())
        if holder is not None and holder.run_id == self.run_id:
            self._hold()
            self.settled = settled
            return None
        if holder is None:  # our write did not show (yet): try again at once
            return self._try_once_more()
        return holder

    def _try_once_more(self) -> Claim | None:
        self._write()
        holder = self._holder(self.read())
        if holder is not None and holder.run_id == self.run_id:
            self._hold()
            return None
        if holder is None:
            raise ApplyError(
                f"could not lock {self.where}: the lock written to Kantata does not read back",
                hint="check that the token may write external references on the workspace",
            )
        return holder

    def _note_expired(self, claims: Iterable[Claim]) -> None:
        now = self._now()
        for claim in claims:
            if claim.until <= now and claim.run_id != self.run_id and not claim.released:
                self._say(
                    f"Taking over the lock on {self.where}: the apply of {claim.holder} "
                    f"(run {claim.run_id}) took it at {clock_time(claim.since)} and it expired "
                    f"at {clock_time(claim.until)} without being released (that run stopped)."
                )

    def _locked_error(self, other: Claim, timeout: float) -> WorkspaceLocked:
        waited = f" after waiting {timeout:g} s" if timeout else ""
        retry = (
            "wait for it to finish and run apply again, or pass --lock-timeout 5m to wait for it"
            if not timeout
            else "run apply again later, or give a longer --lock-timeout"
        )
        return WorkspaceLocked(
            f"{self.where} is locked by another kxplan apply{waited}: {other.describe()}",
            hint=f"{retry}. If that run is dead, its lock expires at {clock_time(other.until)} "
            "and the next apply takes it over",
        )

    # ------------------------------------------------------------------ while applying

    def _hold(self) -> None:
        with self._mutex:
            self._held = True
            self._confirmed = time.monotonic()

    def _fresh(self) -> bool:
        """Whether the last read that showed the lock ours is recent enough to answer for
        it (`RECHECK_SHARE` of the lifetime), with no lost lock seen since."""
        with self._mutex:
            lost, confirmed = self._lost, self._confirmed
        recheck = self.ttl * RECHECK_SHARE
        return lost is None and confirmed is not None and time.monotonic() - confirmed < recheck

    def check(self) -> None:
        """Raise ApplyError unless this run still holds the lock.

        It is read when the last read that showed it ours is older than a sixth of the
        lifetime (`RECHECK_SHARE`), else that read answers; the refresher's reads count
        too. A lock that expired or vanished with nobody else holding it is written again."""
        if self._fresh():
            return
        holder = self._holder(self.read())
        if holder is not None and holder.run_id == self.run_id:
            self._hold()
            return
        if holder is None and self._try_once() is None:
            return
        claim = holder or self._holder(self.read())
        with self._mutex:
            self._held = False
            self._confirmed = None
        raise ApplyError(
            f"another apply took the lock on {self.where}: "
            f"{claim.describe() if claim else 'unknown holder'}; stopped before creating more",
            hint="let that apply finish, then run `kxplan plan` to see what is left",
        )

    def _start_refresher(self) -> None:
        self._refresher = threading.Thread(
            target=self._refresh_loop, name=f"kxplan-lock-{self.workspace_id}", daemon=True
        )
        self._refresher.start()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self._refresh()
            except KxplanError as err:
                log.warning("could not refresh the lock on %s: %s", self.where, err.message)

    def _refresh(self) -> None:
        """Push `until` forward, but only while the lock is still ours."""
        holder = self._holder(self.read())
        if holder is not None and holder.run_id != self.run_id:
            with self._mutex:
                self._held = False
                self._confirmed = None
                self._lost = holder
            return
        self._write()
        self._hold()

    # ------------------------------------------------------------------ release

    def release(self) -> str | None:
        """Mark this run's lock released (if it is still ours); a note for the user, or None.
        Whether it is still ours is read first, unless a read that showed it ours is fresh
        (`_fresh`: a lock is only taken over once it expired).

        The reference stays, released, rather than being deleted: a run that planned while
        this one applied sees that it was written since, and plans again."""
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join(timeout=5)
        if not self._held and self._lost is None:
            return None
        try:
            if not self._fresh():  # else a read that just showed it ours answers
                holder = self._holder(self.read())
                if holder is not None and holder.run_id != self.run_id:
                    return f"Note: the lock on {self.where} had been taken by {holder.describe()}."
            self._write(released=True)
        except ApiError as err:
            return self._left_behind(err)
        return None

    def _left_behind(self, err: ApiError) -> str:
        return (
            f"Note: could not release the lock on {self.where} ({err.message}); it expires "
            f"at {clock_time(self._now() + self.ttl)}."
        )
