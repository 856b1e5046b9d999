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
CREATE TABLE IF NOT EXISTS story_assignees (
  story_id INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (story_id, user_id));
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
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  full_name TEXT NOT NULL, email_address TEXT, token TEXT UNIQUE,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id INTEGER NOT NULL, story_id INTEGER, subject_id INTEGER,
  message TEXT NOT NULL, user_id INTEGER NOT NULL, private INTEGER NOT NULL DEFAULT 0,
  recipient_ids TEXT NOT NULL DEFAULT '', newest_reply_at TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS posts_workspace ON posts (workspace_id, id);
CREATE INDEX IF NOT EXISTS posts_subject ON posts (subject_id);
"""

# The user behind every token that no registered person holds (see docs/sandbox.md,
# "People and tokens").
SANDBOX_USER_ID = 300_001

# Columns added after the first release: (table, column, declaration). `Store` adds the
# missing ones to an existing database file, so files written by older versions still open.
ADDED_COLUMNS = (
    ("stories", "billable", "INTEGER NOT NULL DEFAULT 1"),
    ("stories", "fixed_fee", "INTEGER NOT NULL DEFAULT 0"),
    ("stories", "time_trackable", "INTEGER NOT NULL DEFAULT 1"),
    ("stories", "weight", "INTEGER"),
    ("stories", "budget_estimate_in_cents", "INTEGER"),
    ("stories", "time_estimate_in_minutes", "INTEGER"),
    ("stories", "creator_id", f"INTEGER NOT NULL DEFAULT {SANDBOX_USER_ID}"),
    ("story_state_changes", "user_id", f"INTEGER NOT NULL DEFAULT {SANDBOX_USER_ID}"),
    ("task_status_sets", "account_default", "INTEGER NOT NULL DEFAULT 0"),
    ("stories", "project_plan", "INTEGER NOT NULL DEFAULT 1"),
    ("story_state_changes", "formatted_state", "TEXT"),
)

TABLES = (
    "workspaces",
    "stories",
    "story_assignees",
    "story_tasks",
    "tags",
    "story_tags",
    "external_references",
    "task_status_sets",
    "custom_task_statuses",
    "workspace_task_status_sets",
    "story_state_changes",
    "users",
    "posts",
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
    "users": SANDBOX_USER_ID,  # people registered to act in tests come after the sandbox user
    "posts": 1_500_000,
}

Row = dict[str, Any]


class StoreOpenError(Exception):
    """The data file cannot be used: not SQLite, damaged, or another program's database.
    `reason` says which; the caller adds what to do."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class Store:
    """A SQLite database (a file, or ":memory:") shared safely by the server's threads.

    Opening a file checks it first (`StoreOpenError`): it must be SQLite, pass SQLite's
    quick integrity check, and hold sandbox tables or none at all (another program's
    database is never written to).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise StoreOpenError(self.path, f"cannot open it ({err})") from None
        try:
            self._open()
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise StoreOpenError(self.path, _why(err)) from None
        except StoreOpenError:
            self._conn.close()
            raise

    def _open(self) -> None:
        self._conn.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._check_file()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._add_columns()
        # Unicode-aware case folding for search (SQLite's lower() folds ASCII only).
        self._conn.create_function("casefold", 1, _casefold, deterministic=True)
        with self.transaction():
            self._seed_ids()

    def _check_file(self) -> None:
        verdict = self._conn.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            shown = " ".join(str(verdict).replace("*** in database main ***", "").split())
            raise StoreOpenError(self.path, f"the SQLite file is damaged ({shown})")
        names = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
        names = {n for n in names if not n.startswith("sqlite_")}
        if names and not names & set(TABLES):
            raise StoreOpenError(
                self.path, "it is a SQLite database of another program (no sandbox tables)"
            )

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

    def _add_columns(self) -> None:
        for table, column, decl in ADDED_COLUMNS:
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        # Finds the few estimated subtasks of a tree (present.py's sub-story totals) without
        # reading the whole tree; the WHERE must match that query's clause exactly.
        self._conn.execute(
            "CREATE INDEX IF NOT EXISTS stories_estimated ON stories (root_id) WHERE "
            "time_estimate_in_minutes IS NOT NULL OR budget_estimate_in_cents IS NOT NULL"
        )

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


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _why(err: sqlite3.DatabaseError) -> str:
    text = str(err)
    if "not a database" in text:
        return "it is not a SQLite database"
    if "malformed" in text:
        return "the SQLite file is damaged (database disk image is malformed)"
    return f"it cannot be used as the sandbox's data ({text})"
