"""The kxplan error tree. Every error knows its exit code and how to show itself.

    KxplanError                     exit 1
    ├── ManifestError               invalid manifest(s); carries every Problem found
    ├── UsageError                  bad flags or arguments (e.g. --out with two manifests)
    ├── PlanError                   the plan cannot be built (ambiguous adoption, unsafe plan)
    │   └── UnsafePlanError         mass delete without --allow-mass-delete
    ├── StalePlanError              a saved plan no longer matches the live workspace
    ├── ApplyError                  apply stopped part-way; carries what was and was not applied
    └── ApiError                    the Kantata API answered with an error (method, path, status)
        ├── AuthError               401 / 403
        ├── NotFoundError           404
        ├── ValidationError         422, with one message per field
        ├── RateLimitedError        429 (after retries)
        ├── ServerError             5xx (after retries)
        ├── InconsistentReadError   a listing contradicted itself twice (counts, dangling ids)
        └── TransportError          connection failed / dropped / timed out (after retries)

Only `kxplan.cli` prints errors and exits. Messages never contain the API token.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a manifest, at a file position (1-based line and column)."""

    file: str
    line: int
    col: int
    message: str
    hint: str | None = None
    #: How the manifest reached this file: includes and for_each copies, innermost first,
    #: each shown on a line of its own (`  included from template.yaml:12:5`).
    chain: tuple[str, ...] = ()

    def format(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return "".join((text, *(f"\n  {step}" for step in self.chain)))


class KxplanError(Exception):
    """Base of every error kxplan reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def format(self) -> str:
        """The text shown to the user: summary, then the next step when there is one."""
        if self.hint:
            return f"Error: {self.message}\n  {self.hint}"
        return f"Error: {self.message}"


class ManifestError(KxplanError):
    """One or more manifests are invalid. `problems` holds every problem, sorted."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col, p.message, p.chain))
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found in the manifest")

    def format(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class UsageError(KxplanError):
    """The command line is wrong."""


class PlanError(KxplanError):
    """The plan cannot be built from these inputs."""


class UnsafePlanError(PlanError):
    """The plan would do something dangerous that needs an explicit flag."""


class StalePlanError(KxplanError):
    """A saved plan no longer describes the live workspace."""


class ApplyError(KxplanError):
    """Apply stopped part-way. The message says what was applied and what was not."""


class ApiError(KxplanError):
    """The Kantata API answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        where = f"{method} {path}".strip()
        prefix = f"{where} -> {status}: " if status is not None else (f"{where}: " if where else "")
        super().__init__(prefix + message, hint=hint)


class AuthError(ApiError):
    """401/403: the token was rejected or lacks permission."""


class NotFoundError(ApiError):
    """404: the object does not exist or is hidden by default filters."""


class ValidationError(ApiError):
    """422: the API refused the data; `errors` holds each field's message."""

    def __init__(
        self, message: str, *, errors: list[dict[str, object]] | None = None, **kw: object
    ) -> None:
        self.errors = errors or []
        super().__init__(message, **kw)  # type: ignore[arg-type]


class RateLimitedError(ApiError):
    """429 that did not clear within the retry budget."""


class ServerError(ApiError):
    """5xx that did not clear within the retry budget."""


class InconsistentReadError(ApiError):
    """A listing contradicted itself (counts vs pages, ids pointing at nothing) on two reads
    in a row. `problems` lists what was wrong on the second read."""

    def __init__(self, message: str, *, problems: tuple[str, ...] = (), **kw: object) -> None:
        self.problems = problems
        super().__init__(message, **kw)  # type: ignore[arg-type]


class TransportError(ApiError):
    """The connection failed, was dropped or timed out (after retries).

    `outcome_unknown` is true when a write may have reached the server.
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False, **kw: object) -> None:
        self.outcome_unknown = outcome_unknown
        super().__init__(message, **kw)  # type: ignore[arg-type]
