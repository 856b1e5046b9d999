"""Composition: `include`, `for_each` and `when` in task lists (docs/manifest.md,
"Composition"), expanded before the schema and the semantic checks run, so keys, depth
and dates are checked over the expanded tree.

    - include: phases/qa.yaml      # the tasks of another file (relative to this one)
      vars: {phase: 2}             #   which sees only these vars over its own defaults
    - key: sprint-${each}
      for_each: [1, 2, 3]          # or a list variable: ${sprints}
      title: Sprint ${each}        # ${each.field} when the items are mappings
    - title: Legal review
      when: ${needs_legal}         # a boolean variable: the task exists only when true

Every node of the result keeps where it was written (a `Place`: file, chain of includes
and for_each copies, line, column), so each problem is reported in the file that causes
it, followed by the chain that led there. Manifests without any of the three keys never
come here (`uses_composition`).

    walk.py       the walk over task lists that ties the rest together
    for_each.py   a for_each's items, and one copy per item
    each.py       ${each} and ${each.field} in text
    when.py       whether an item exists
    includes.py   reading an included file: path, loops, its vars, the chain
    scope.py      the variables one part of the manifest sees
    record.py     where each node was written, and the problems
    wording.py    how problems describe values
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping

from kxplan.errors import Problem
from kxplan.jsontypes import JsonValue
from kxplan.manifest.compose.record import Record, Spot, TooBig
from kxplan.manifest.compose.scope import Scope
from kxplan.manifest.compose.walk import Into, Walk
from kxplan.manifest.vars import substitute_document
from kxplan.manifest.yaml_loader import ComposedDocument, Document, Source

__all__ = ["COMPOSE_KEYS", "MAX_TASKS", "compose_document", "expansions", "uses_composition"]

#: The keys that make a task-list item more than a task.
COMPOSE_KEYS = ("include", "for_each", "when")
#: The most tasks one manifest may expand to (for_each inside for_each inside includes).
MAX_TASKS = 100_000

#: How many documents were expanded: lets tests see that plain manifests never are.
expansions: Counter[str] = Counter()


def uses_composition(data: JsonValue) -> bool:
    """True when a task list of `data` (at any depth) has an include, for_each or when."""
    stack = [data.get("tasks") if isinstance(data, dict) else None]
    while stack:
        items = stack.pop()
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict):
                if any(key in item for key in COMPOSE_KEYS):
                    return True
                stack.append(item.get("children"))
    return False


def compose_document(
    doc: Document, values: Mapping[str, str], raw: Mapping[str, JsonValue]
) -> tuple[ComposedDocument, list[Problem]]:
    """`doc` with its task lists expanded and every `${...}` substituted; `values` are the
    variables' text and `raw` their typed values (`typed_vars`)."""
    expansions["documents"] += 1
    data: JsonValue = doc.data
    data = data if isinstance(data, dict) else {}
    outside, problems = substitute_document(
        doc.with_data({k: v for k, v in data.items() if k != "tasks"}), values
    )
    rest = outside if isinstance(outside, dict) else {}
    record = Record(doc.file, MAX_TASKS)  # read here, at each call: tests lower it
    record.keep_outside_tasks(doc)
    tasks = data.get("tasks")
    if isinstance(tasks, list):
        tasks = _expand(record, doc, tasks, Scope(values, raw))
    composed = ComposedDocument(
        doc.file,
        {**rest, "tasks": tasks} if "tasks" in data else rest,
        {},
        {},
        record.places,
        record.key_places,
    )
    return composed, [*problems, *record.problems]


def _expand(record: Record, doc: Document, tasks: list[JsonValue], scope: Scope) -> list[JsonValue]:
    """The manifest's task list expanded; cut short (its problem recorded) past MAX_TASKS."""
    out: list[JsonValue] = []
    spot = Spot(doc, Source(doc.file), ("tasks",))
    with contextlib.suppress(TooBig):
        Walk(record).items(spot, tasks, Into(("tasks",), out), scope, ())
    return out
