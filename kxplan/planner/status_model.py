"""The status writes a plan will send: the applier's own rules, played over a model of each set.

`status_writes` runs kxplan.changes.status_writes (the rules the applier sends with) over
`SetModel`, which counts each write instead of sending it and keeps the set as kxplan
expects Kantata to keep it. So every decision (a temporary name that frees a name, a
position written or not, the tasks put back on a replaced status) is taken by the same
code at plan time and at apply time. What the model assumes of Kantata, which its
documentation leaves open (docs/kantata-api.md, "Status sets and statuses"; docs/plan.md,
"JSON"), as the sandbox plays it:

- a new set holds its four default statuses at positions 1 to 4, in category order;
- a created status goes after every other;
- writing a position inserts the status there and numbers the set 1, 2, 3 ...;
- a delete leaves the others' numbers as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kxplan.changes.base import Change, Kind
from kxplan.changes.stages import STATUS_DELETES, STATUSES, stage_of
from kxplan.changes.status_writes import write_statuses
from kxplan.ids import id_order
from kxplan.model import CATEGORIES, LiveState, LiveStatus


@dataclass(slots=True)
class SetModel:
    """One set as the model keeps it; `writes` counts the requests the rules made."""

    rows: list[LiveStatus]
    writes: int = 0
    _made: int = 0
    _order: dict[str, int] = field(default_factory=dict)  # id -> creation order

    def __post_init__(self) -> None:
        for n, s in enumerate(sorted(self.rows, key=lambda s: id_order(s.id))):
            self._order[s.id] = n

    def statuses(self) -> Sequence[LiveStatus]:
        return sorted(self.rows, key=lambda s: (s.position, self._order[s.id]))

    def create(self, name: str, category: str) -> str:
        self.writes += 1
        self._made += 1
        new_id = f"planned-{self._made}"
        self._order[new_id] = len(self._order)
        position = max((s.position for s in self.rows), default=0) + 1
        self.rows.append(LiveStatus(new_id, name, category, position))
        return new_id

    def rename(self, status_id: str, name: str, *, aside: bool = False) -> None:
        self.writes += 1
        self.rows = [
            LiveStatus(s.id, name, s.category, s.position) if s.id == status_id else s
            for s in self.rows
        ]

    def move(self, status_id: str, position: int) -> None:
        self.writes += 1
        ordered = self.statuses()
        moving = [s for s in ordered if s.id == status_id]
        others = [s for s in ordered if s.id != status_id]
        index = min(max(position, 1), len(others) + 1) - 1
        others[index:index] = moving
        self.rows = [LiveStatus(s.id, s.name, s.category, n) for n, s in enumerate(others, start=1)]

    def delete(self, status_id: str) -> None:
        self.writes += 1
        self.rows = [s for s in self.rows if s.id != status_id]

    def put_tasks(self, task_ids: Sequence[str], name: str) -> None:
        self.writes += len(task_ids)


def new_set_model() -> tuple[SetModel, dict[str, str]]:
    """A set as created: its four defaults, and their ids by category."""
    rows = [
        LiveStatus(f"default-{n}", category, category, n)
        for n, category in enumerate(CATEGORIES, start=1)
    ]
    return SetModel(rows), {s.category: s.id for s in rows}


def status_writes(changes: Iterable[Change], live: LiveState) -> int:
    """The writes the applier sends for the status changes among `changes` (in plan order),
    set by set: the status changes, then (after the task changes) the status deletes."""
    by_set: dict[str, list[Change]] = {}
    for c in changes:
        if c.kind is Kind.STATUS and c.action.makes_calls:
            by_set.setdefault(c.parent or "", []).append(c)
    total = 0
    for set_name, group in by_set.items():
        found = live.status_set_named(set_name)
        if found is None:
            model, defaults = new_set_model()
        else:
            model, defaults = SetModel(list(found.statuses)), {}
        for stage in (STATUSES, STATUS_DELETES):
            here = [c for c in group if stage_of(c) is stage]
            if here:
                write_statuses(model, set_name, here, defaults)
        total += model.writes
    return total
