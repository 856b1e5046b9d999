"""How a command connects to Kantata: the shared flags and `open_client`.

    @cli.command()
    @connection_options
    def export(api_url, token_file, sandbox, log_level, ...):
        with open_client(api_url, token_file, sandbox, log_level) as client:
            live = read_live(client, workspace)

Token: `KANTATA_TOKEN`, or the first line of `--token-file`. It is sent only as a bearer
header, only over https (plain http only to a loopback host), and redacted from logs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from kxplan.client import KantataClient
from kxplan.client._errors import redact
from kxplan.client._urls import check_base_url
from kxplan.errors import UsageError

DEFAULT_API_URL = "https://api.mavenlink.com/api/v1"
TOKEN_ENV = "KANTATA_TOKEN"
URL_ENV = "KANTATA_API_URL"
SANDBOX_TOKEN = "sandbox"
SANDBOX_DATA = Path(".kxplan") / "sandbox.db"
LOG_LEVELS = ("debug", "info", "warning", "error")

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(fn: F) -> F:
    """Add `--api-url`, `--token-file`, `--sandbox` and `--log-level` to a click command.

    The command receives them as `api_url`, `token_file`, `sandbox` and `log_level`.
    """
    options = (
        click.option(
            "--api-url",
            envvar=URL_ENV,
            default=DEFAULT_API_URL,
            show_default=True,
            metavar="URL",
            help=f"Kantata API root (env {URL_ENV}).",
        ),
        click.option(
            "--token-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            metavar="PATH",
            help=f"Read the API token from this file instead of ${TOKEN_ENV}.",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            default=False,
            help=f"Run against an embedded local sandbox (data in {SANDBOX_DATA}).",
        ),
        click.option(
            "--log-level",
            type=click.Choice(LOG_LEVELS, case_sensitive=False),
            default="warning",
            show_default=True,
            help="debug traces every API request (the token is never shown).",
        ),
    )
    for option in reversed(options):
        fn = option(fn)
    return fn


def read_token(token_file: str | Path | None = None) -> str:
    """The API token from `token_file` (first line) or `$KANTATA_TOKEN`; UsageError if none."""
    if token_file is not None:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").strip().splitlines()
        except OSError as exc:
            raise UsageError(
                f"cannot read the token file {str(token_file)!r}: {exc.strerror}",
                hint="check the path given to --token-file",
            ) from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise UsageError(
                f"the token file {str(token_file)!r} is empty",
                hint="put the Kantata API token on its first line",
            )
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            f"no API token: set {TOKEN_ENV} or pass --token-file PATH",
            hint="or try kxplan on a local sandbox with --sandbox",
        )
    return token


@contextmanager
def open_client(
    api_url: str = DEFAULT_API_URL,
    token_file: str | Path | None = None,
    sandbox: bool = False,
    log_level: str | None = None,
    *,
    sandbox_data: str | Path = SANDBOX_DATA,
    **client_options: Any,
) -> Iterator[KantataClient]:
    """A connected `KantataClient`, closed (and the embedded sandbox stopped) on exit.

    With `sandbox=True`, an embedded SandboxServer is started on an ephemeral loopback port
    with its data in `sandbox_data` (the directory is created); no token is needed.
    `client_options` pass through to `KantataClient` (e.g. `max_concurrency`).
    """
    if sandbox:
        with (
            _embedded_sandbox(sandbox_data) as url,
            log_to_stderr(log_level, SANDBOX_TOKEN),
            KantataClient(url, SANDBOX_TOKEN, **client_options) as client,
        ):
            yield client
        return
    url = check_base_url(api_url)
    token = read_token(token_file)
    with log_to_stderr(log_level, token), KantataClient(url, token, **client_options) as client:
        yield client


@contextmanager
def _embedded_sandbox(data: str | Path) -> Iterator[str]:
    from kxplan.sandbox import SandboxServer  # the server is only needed with --sandbox
    from kxplan.sandbox.store import StoreOpenError

    path = Path(data)
    try:
        server = SandboxServer(path, token=SANDBOX_TOKEN)
    except StoreOpenError as err:
        raise UsageError(
            f"cannot use the sandbox's data {str(path)!r}: {err.reason}",
            hint=f"move {path} aside (or delete it) and --sandbox starts a fresh one",
        ) from None
    server.start()
    try:
        yield str(server.url)
    finally:
        server.stop()


class _RedactToken(logging.Filter):
    """Replaces the token in every record that reaches kxplan's log handler."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token and self.token in message:
            record.msg, record.args = redact(message, self.token), ()
        return True


@contextmanager
def log_to_stderr(level: str | None, token: str = "") -> Iterator[None]:
    """While open, send kxplan's log records at `level` and above to stderr, with `token`
    redacted. Only the `kxplan` loggers are configured: httpx's own logs stay silent."""
    if level is None:
        yield
        return
    logger = logging.getLogger("kxplan")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactToken(token))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.upper()))
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach Kantata: the connection options of the command line."""

    api_url: str
    token_file: Path | None
    sandbox: bool
    log_level: str

    def open(self) -> AbstractContextManager[KantataClient]:
        """The client of the run (kxplan.connection.open_client)."""
        return open_client(self.api_url, self.token_file, self.sandbox, self.log_level)

    @property
    def api(self) -> str:
        """Which API plans are made against, as saved plans record it (`api_of`)."""
        return api_of(self.api_url, self.sandbox)

    @contextmanager
    def connecting_early(self) -> Iterator[None]:
        """For the block (load the manifest, then plan or apply): the first connections to
        the API open meanwhile, with no request on them (kxplan.client._early); those the
        client did not take are closed at its end. Nothing for the embedded sandbox, or
        for an API URL the client will refuse (it says why when it is opened)."""
        url = None if self.sandbox else _early_url(self.api_url, self.token_file)
        if url is None:
            yield
            return
        from kxplan.client._early import close_unused, open_early

        open_early(url)
        try:
            yield
        finally:
            close_unused()


def _early_url(api_url: str, token_file: Path | None) -> str | None:
    """The API root to open connections to while the manifest loads; None when the run will
    stop before its first request: a URL or a token the client refuses (it says why when it
    is opened)."""
    try:
        url = check_base_url(api_url)
        read_token(token_file)
    except UsageError:
        return None
    return url


def api_of(api_url: str, sandbox: bool) -> str:
    """Which API a plan is made against, as a saved plan records it: the API root URL, or
    for `--sandbox` the embedded sandbox's data file (its port changes from run to run)."""
    if sandbox:
        return f"sandbox:{SANDBOX_DATA.resolve()}"
    return check_base_url(api_url)
