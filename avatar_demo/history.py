"""The run history: every task in SQLite, recorded before its first poll so a paid task id is never lost."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ACTIVE", "History", "Record"]

#: Statuses of a task that may still produce a video.
ACTIVE = ("creating", "queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT,
    provider TEXT NOT NULL,
    task_id TEXT,
    external_task_id TEXT,
    status TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT 'std',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    video_path TEXT,
    duration_s REAL,
    units REAL,
    message TEXT,
    changes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS tasks_owner ON tasks(owner, id);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
"""


@dataclass(frozen=True)
class Record:
    """One task as the history remembers it."""

    id: int
    owner: str | None
    provider: str
    task_id: str | None
    external_task_id: str | None
    status: str
    prompt: str
    mode: str
    created_at: float
    updated_at: float
    video_path: str | None = None
    duration_s: float | None = None
    units: float | None = None
    message: str | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether the task may still produce a video."""
        return self.status in ACTIVE


class History:
    """A small thread-safe SQLite table of tasks (one file under AVATAR_DATA_DIR)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            cursor = self._db.execute(sql, params)
            return int(cursor.lastrowid or 0)

    def begin(
        self,
        provider: str,
        *,
        owner: str | None,
        prompt: str,
        mode: str,
        external_task_id: str | None,
        changes: list[str] | None = None,
    ) -> int:
        """Record a create about to be sent; returns the row id."""
        now = time.time()
        return self._write(
            "INSERT INTO tasks (owner, provider, external_task_id, status, prompt, mode, created_at, updated_at, changes)"
            " VALUES (?, ?, ?, 'creating', ?, ?, ?, ?, ?)",
            (owner, provider, external_task_id, prompt, mode, now, now, json.dumps(changes or [])),
        )

    def update(self, row: int, **fields: Any) -> None:
        """Set some columns of one row (and bump updated_at)."""
        allowed = {"task_id", "status", "video_path", "duration_s", "units", "message", "created_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown history fields: {sorted(unknown)}")
        fields["updated_at"] = time.time()
        columns = ", ".join(f"{name} = ?" for name in fields)
        self._write(f"UPDATE tasks SET {columns} WHERE id = ?", (*fields.values(), row))  # noqa: S608 - names checked above

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Record]:
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [Record(**{**dict(r), "changes": json.loads(r["changes"] or "[]")}) for r in rows]

    def get(self, row: int) -> Record | None:
        """One row by id."""
        found = self._rows("SELECT * FROM tasks WHERE id = ?", (row,))
        return found[0] if found else None

    def for_owner(self, owner: str, limit: int = 50) -> list[Record]:
        """The newest tasks one browser started."""
        return self._rows("SELECT * FROM tasks WHERE owner = ? ORDER BY id DESC LIMIT ?", (owner, limit))

    def active(self, owner: str | None = None) -> list[Record]:
        """Tasks still in flight (all, or one owner's)."""
        marks = ",".join("?" * len(ACTIVE))
        if owner is None:
            return self._rows(f"SELECT * FROM tasks WHERE status IN ({marks}) ORDER BY id", ACTIVE)  # noqa: S608
        return self._rows(f"SELECT * FROM tasks WHERE owner = ? AND status IN ({marks}) ORDER BY id", (owner, *ACTIVE))  # noqa: S608

    def all(self) -> list[Record]:
        """Every row, oldest first (for tests and exports)."""
        return self._rows("SELECT * FROM tasks ORDER BY id", ())

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
