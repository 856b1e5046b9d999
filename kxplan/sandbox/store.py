"""SQLite storage for the sandbox (stdlib only).

One connection guarded by one re-entrant lock: the HTTP server is threaded, and SQLite
connections are not safe to share between threads without serialising them. Each request
runs its rules inside `transaction()`, so a bulk create is all-or-nothing and concurrent
requests never see half a write. Files use WAL so a crash mid-write leaves the last commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL, description TEXT, archived INTEGER NOT NULL DEFAULT 0,
  creator_role TEXT NOT NULL, status_set_id INTEGER, start_date TEXT, due_date TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL, parent_id INTEGER, root_id INTEGER,
  ancestry TEXT NOT NULL DEFAULT '', ancestry_depth INTEGER NOT NULL DEFAULT 0,
  title TEXT NOT NULL, description TEXT, story_type TEXT NOT NULL, state TEXT NOT NULL,
  status TEXT NOT NULL, custom_task_status_id INTEGER, priority TEXT NOT NULL,
  percentage_complete INTEGER NOT NULL DEFAULT 0, archived INTEGER NOT NULL DEFAULT 0,
  deleted_at TEXT, position INTEGER NOT NULL, start_date TEXT, due_date TEXT,
  sub_story_count INTEGER NOT NULL DEFAULT 0, subtree_depth INTEGER NOT NULL DEFAULT 0,
  project_plan INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS stories_siblings ON stories (workspace_id, parent_id, position);
CREATE INDEX IF NOT EXISTS stories_parent ON stories (parent_id);
CREATE INDEX IF NOT EXISTS stories_created ON stories (workspace_id, created_at, id);
CREATE INDEX IF NOT EXISTS stories_updated ON stories (workspace_id, updated_at, id);
CREATE INDEX IF NOT EXISTS stories_root ON stories (root_id);
CREATE TABLE IF NOT EXISTS story_tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  story_id INTEGER NOT NULL, name TEXT NOT NULL,
  completed INTEGER NOT NULL DEFAULT 0, completed_at TEXT, position INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS story_tasks_story ON story_tasks (story_id, position);
CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS story_tags (
  story_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, PRIMARY KEY (story_id, tag_id));
CREATE TABLE IF NOT EXISTS external_references (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subject_type TEXT NOT NULL, subject_id INTEGER NOT NULL,
  service_name TEXT NOT NULL, service_model TEXT NOT NULL, service_model_ref TEXT NOT NULL,
  status TEXT, external_link TEXT, external_status TEXT, external_message TEXT,
  locked INTEGER NOT NULL DEFAULT 0, last_synced_at TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (subject_type, subject_id, service_name));
CREATE INDEX IF NOT EXISTS ext_refs_ref ON external_references (service_name, service_model_ref);
CREATE TABLE IF NOT EXISTS task_status_sets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS custom_task_statuses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  status_set_id INTEGER NOT NULL, status TEXT NOT NULL,
  category TEXT NOT NULL, position INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workspace_task_status_sets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL, status_set_id INTEGER,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS story_state_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  story_id INTEGER NOT NULL, state TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ssc_story ON story_state_changes (story_id);
"""

TABLES = (
    "workspaces",
    "stories",
    "story_tasks",
    "tags",
    "story_tags",
    "external_references",
    "task_status_sets",
    "custom_task_statuses",
    "workspace_task_status_sets",
    "story_state_changes",
)

# First id minus one of each table (see `_seed_ids`).
ID_BASES = {
    "workspaces": 41_000,
    "stories": 500_000,
    "story_tasks": 700_000,
    "tags": 3_000,
    "external_references": 900_000,
    "task_status_sets": 60,
    "custom_task_statuses": 800,
    "workspace_task_status_sets": 20_000,
    "story_state_changes": 1_200_000,
}

Row = dict[str, Any]

#: Columns added after the first release of the schema: (name, SQL declaration) per table.
_LATER_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "stories": (("project_plan", "INTEGER NOT NULL DEFAULT 1"),),
}


class Store:
    """A SQLite database (a file, or ":memory:") shared safely by the server's threads."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._add_missing_columns()
        with self.transaction():
            self._seed_ids()

    def _add_missing_columns(self) -> None:
        # A sandbox file written before a column existed gets it with its default.
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(stories)")}
        for name, decl in _LATER_COLUMNS["stories"]:
            if name not in have:
                self._conn.execute(f"ALTER TABLE stories ADD COLUMN {name} {decl}")

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and run one transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query, as plain dicts."""
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql, tuple(args))]

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        with self._lock:
            row = self._conn.execute(sql, tuple(args)).fetchone()
        return dict(row) if row is not None else None

    def by_id(self, table: str, row_id: int) -> Row | None:
        """The row of `table` with this id, or None (`table` is one of ours, never user text)."""
        return self.one(f"SELECT * FROM {table} WHERE id = ?", [row_id])

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        with self._lock:
            row = self._conn.execute(sql, tuple(args)).fetchone()
        return row[0] if row is not None else None

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a write; returns the last inserted row id."""
        with self._lock:
            cur = self._conn.execute(sql, tuple(args))
            return int(cur.lastrowid or 0)

    def insert(self, table: str, row: Row) -> int:
        """Insert a dict as a row of `table` (a trusted name); returns its id."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        return self.run(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))

    def update(self, table: str, row_id: int, changes: Row) -> None:
        """Set columns of one row of `table` (a trusted name)."""
        if not changes:
            return
        sets = ", ".join(f"{col} = ?" for col in changes)
        self.run(f"UPDATE {table} SET {sets} WHERE id = ?", [*changes.values(), row_id])

    def reset(self) -> None:
        """Delete every row of every table; ids restart at their first value."""
        with self.transaction():
            for table in TABLES:
                self.run(f"DELETE FROM {table}")
            self.run("DELETE FROM sqlite_sequence")
            self._seed_ids()

    def _seed_ids(self) -> None:
        # Each type counts from its own base, like real ids that never coincide: a client
        # that sends a story id where a workspace id belongs gets a 404, not a lucky match.
        for table, base in ID_BASES.items():
            if self.scalar("SELECT seq FROM sqlite_sequence WHERE name = ?", [table]) is None:
                self.run("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [table, base])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
