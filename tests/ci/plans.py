"""What the CI kit's tests share besides fixtures: the stack they plan, and the type of the
`make_plan` fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

STACK = "onboarding"
WORKSPACE = "Acme — Onboarding"

#: `make_plan(tasks=3, title="Task", name="plan.json")` -> the saved plan's path.
MakePlan = Callable[..., Path]


def manifest_doc(tasks: int = 3, title: str = "Task") -> dict[str, Any]:
    """A manifest of `tasks` top-level tasks t0, t1, ... titled `title 0`, `title 1`, ..."""
    return {
        "version": 1,
        "name": STACK,
        "workspace": WORKSPACE,
        "tasks": [{"key": f"t{i}", "title": f"{title} {i}"} for i in range(tasks)],
    }
