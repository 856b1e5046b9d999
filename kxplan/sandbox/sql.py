"""SQL building blocks the queries share: IN lists, WHERE clauses and one page of rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kxplan.sandbox.params import Page
from kxplan.sandbox.store import Row, Store


class Found(NamedTuple):
    """One page of matching rows, how many match in all, and the page that was used."""

    rows: list[Row]
    total: int
    page: Page


def in_clause(values: Iterable[Any]) -> tuple[str, list[Any]]:
    """`(?,?,...)` and its arguments for an SQL IN over `values`."""
    args = list(values)
    return "(" + ",".join("?" * len(args)) + ")", args


@dataclass(slots=True)
class Where:
    """A WHERE clause built up condition by condition, with its arguments in order."""

    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *values: Any) -> None:
        """AND one condition with the values of its `?`s."""
        self.clauses.append(clause)
        self.args.extend(values)

    def among(self, column: str, values: Sequence[Any]) -> None:
        """`column IN (values)` (an empty list matches nothing)."""
        marks, args = in_clause(values)
        self.add(f"{column} IN {marks}", *args)

    def equal(self, column: str, value: Any) -> None:
        """`column = value`, unless the value is None (no filter asked for)."""
        if value is not None:
            self.add(f"{column} = ?", value)

    def only(self, page: Page, column: str) -> None:
        """The `only=` ids of the request, when it named some."""
        if page.only is not None:
            self.among(column, page.only)

    def sql(self) -> str:
        """The conditions joined by AND (`1` when there are none)."""
        return " AND ".join(self.clauses) or "1"


def select_page(
    store: Store, table: str, where: Where, order: str, page: Page, order_args: Sequence[Any] = ()
) -> Found:
    """The page of `table`'s rows matching `where` in `order`, and the count of them all."""
    count = int(store.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where.sql()}", where.args) or 0)
    sql = f"SELECT {table}.* FROM {table} WHERE {where.sql()} ORDER BY {order}"
    if page.limit is not None:
        sql += f" LIMIT {page.limit} OFFSET {page.offset}"
    return Found(store.all(sql, [*where.args, *order_args]), count, page)
