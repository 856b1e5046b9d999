"""What every rules module shares: the store, the clock, and small validation helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kxplan.sandbox.errors import Problem, SandboxError, invalid
from kxplan.sandbox.params import format_time
from kxplan.sandbox.store import Store
from kxplan.sandbox.variants import Variants

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Ctx:
    """The store, a clock (tests may inject a fixed one) and the variants in play.

    `variants` is read at each decision, so assigning a new value takes effect at once.
    """

    store: Store
    clock: Callable[[], datetime] = field(default=_utcnow)
    variants: Variants = field(default_factory=Variants)

    def now(self) -> str:
        """The current time as the sandbox writes it."""
        return format_time(self.clock())


def as_id(value: Any, field_name: str, index: int | None = None) -> int:
    """An id from a request body: an integer or a numeric string (Rails accepts both)."""
    if isinstance(value, bool):
        raise invalid(field_name, f"{field_name} must be an integer", index)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise invalid(field_name, f"{field_name} must be an integer", index)


def as_date(value: Any, field_name: str, index: int | None = None) -> str | None:
    """A YYYY-MM-DD date (or null) from a request body."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            pass
        else:
            return value
    label = field_name.replace("_", " ").capitalize()
    raise invalid(field_name, f"{label} is not a valid date (use YYYY-MM-DD)", index)


def as_bool(value: Any, field_name: str, index: int | None = None) -> bool:
    """A boolean from a request body (JSON booleans, or the strings Rails accepts)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise invalid(field_name, f"{field_name} must be true or false", index)


def unwrap(body: Any, key: str) -> dict[str, Any]:
    """The object under the singular root key, or the documented 400 when it is missing."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise SandboxError("missing_root")
    obj: dict[str, Any] = body[key]
    return obj


def collect(problems: list[Problem]) -> None:
    """Raise one 422 carrying every problem found (all-or-nothing writes)."""
    if problems:
        raise SandboxError("validation", problems[0].message, problems=tuple(problems))
