"""The run history: every task in SQLite, recorded before its create is sent, so a paid task id is never lost."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.status import Status
from ..core.text import Text, dumps, text_from_data

__all__ = ["History", "Record", "RunFacts"]

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
#: Columns added after version 0.1, with their definitions.
_ADDED = {
    "sent_at": "REAL",
    "media_token": "TEXT",
    "byo_key": "INTEGER NOT NULL DEFAULT 0",
    # The workbench (0.3): where a run came from, what it was made of, and the person's verdict.
    "batch": "TEXT",
    "parent": "INTEGER",
    "tweak": "TEXT",
    "image_ref": "TEXT",
    "audio_ref": "TEXT",
    "audio_id": "TEXT",
    "seconds": "REAL",
    "estimate": "REAL",
    "currency": "TEXT",
    "elapsed_s": "REAL",
    "rating": "INTEGER",
    "note": "TEXT",
}
_FIELDS = {"task_id", "status", "video_path", "duration_s", "units", "message", "sent_at", "media_token", "elapsed_s"}
#: A LIKE pattern's own wildcards, escaped so a search for "50%" finds "50%".
_LIKE_ESCAPES = str.maketrans({"%": "\\%", "_": "\\_", "\\": "\\\\"})


def _message(stored: str | None) -> str | None:
    """A stored message: our Text as data, or (rows of 0.2, a gateway's words) a plain string."""
    if not stored or not stored.startswith("{"):
        return stored
    try:
        return text_from_data(json.loads(stored))
    except ValueError:
        return stored


@dataclass(frozen=True)
class RunFacts:
    """What a run is made of and where it came from, fixed when it begins."""

    #: The prompt lab batch it belongs to.
    batch: str | None = None
    #: The run it re-runs, and what changed: {"prompt": [old, new], ...}.
    parent: int | None = None
    tweak: dict[str, list[str]] | None = None
    #: The kept prepared photo and voice (InputStore names), or the text-to-speech audio id used instead.
    image_ref: str | None = None
    audio_ref: str | None = None
    audio_id: str | None = None
    #: Seconds of voice sent, and the estimated cost in the gateway's own currency.
    seconds: float | None = None
    estimate: float | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Record:
    """One task as the history remembers it."""

    id: int
    owner: str | None
    provider: str
    task_id: str | None
    external_task_id: str | None
    status: Status
    prompt: str
    mode: str
    created_at: float
    updated_at: float
    #: The stored video's file name (in the data dir's videos folder), once downloaded.
    video_path: str | None = None
    duration_s: float | None = None
    #: What the gateway charged, in its own currency, when it said.
    units: float | None = None
    message: str | None = None
    changes: list[str] = field(default_factory=list)
    #: When the create left (Unix seconds): a task the gateway made earlier is not ours.
    sent_at: float | None = None
    #: The folder of published media for a URL-only gateway, withdrawn once the task is final.
    media_token: str | None = None
    #: Started with a visitor's own key, which is never stored: it cannot be followed after a restart.
    byo_key: bool = False
    batch: str | None = None
    parent: int | None = None
    tweak: dict[str, list[str]] | None = None
    image_ref: str | None = None
    audio_ref: str | None = None
    audio_id: str | None = None
    seconds: float | None = None
    estimate: float | None = None
    currency: str | None = None
    #: Seconds from start to the end of the run (the video downloaded, or the failure known).
    elapsed_s: float | None = None
    #: The person's verdict: 1-5 (None when unrated) and a short note.
    rating: int | None = None
    note: str | None = None


class History:
    """A small thread-safe SQLite table of tasks (one file in the data dir)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            present = {r["name"] for r in self._db.execute("PRAGMA table_info(tasks)")}
            for column, kind in _ADDED.items():
                if column not in present:
                    self._db.execute(f"ALTER TABLE tasks ADD COLUMN {column} {kind}")  # noqa: S608 - our names

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            cursor = self._db.execute(sql, params)
            return int(cursor.lastrowid or 0)

    def check_writable(self) -> None:
        """Take the write lock and let it go: raises sqlite3.Error when the store cannot be written."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ROLLBACK")

    def begin(self, provider: str, *, owner: str | None, prompt: str, mode: str, external_task_id: str | None,
              changes: list[str] | None = None, byo_key: bool = False, facts: RunFacts | None = None) -> int:
        """Record a create about to be sent; returns the row id."""
        now = time.time()
        facts = facts or RunFacts()
        return self._write(
            "INSERT INTO tasks (owner, provider, external_task_id, status, prompt, mode, created_at, updated_at,"
            " changes, byo_key, batch, parent, tweak, image_ref, audio_ref, audio_id, seconds, estimate, currency)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (owner, provider, external_task_id, Status.SUBMITTING.value, prompt, mode, now, now,
             dumps(changes or []), int(byo_key), facts.batch, facts.parent,
             json.dumps(facts.tweak) if facts.tweak is not None else None, facts.image_ref, facts.audio_ref,
             facts.audio_id, facts.seconds, facts.estimate, facts.currency),
        )

    def update(self, row: int, **fields: Any) -> None:
        """Set some columns of one row (and bump updated_at)."""
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ValueError(f"unknown history fields: {sorted(unknown)}")
        values = {k: (v.value if isinstance(v, Status) else dumps(v) if isinstance(v, Text) else v)
                  for k, v in fields.items()}
        values["updated_at"] = time.time()
        columns = ", ".join(f"{name} = ?" for name in values)
        self._write(f"UPDATE tasks SET {columns} WHERE id = ?", (*values.values(), row))  # noqa: S608 - names checked

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Record]:
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        records = []
        for r in rows:
            data = dict(r)
            data["status"] = Status.parse(data["status"])
            data["changes"] = text_from_data(json.loads(data["changes"] or "[]"))
            data["message"] = _message(data["message"])
            data["byo_key"] = bool(data["byo_key"])
            data["tweak"] = json.loads(data["tweak"]) if data["tweak"] else None
            records.append(Record(**data))
        return records

    def get(self, row: int) -> Record | None:
        """One row by id."""
        found = self._rows("SELECT * FROM tasks WHERE id = ?", (row,))
        return found[0] if found else None

    def owned(self, owner: str | None, row: int) -> Record | None:
        """Row *row* if *owner* started it; None otherwise (another owner's row reads as missing)."""
        if not owner:
            return None
        found = self._rows("SELECT * FROM tasks WHERE id = ? AND owner = ?", (row, owner))
        return found[0] if found else None

    def for_owner(self, owner: str, limit: int = 50, *, min_rating: int | None = None, search: str | None = None,
                  batch: str | None = None, ids: list[int] | None = None) -> list[Record]:
        """The newest tasks one browser started, optionally only those rated at least *min_rating*, whose prompt
        contains *search* (any case), of one lab *batch*, or among *ids*."""
        where, params = ["owner = ?"], [owner]
        if min_rating:
            where.append("rating >= ?")
            params.append(min_rating)
        if search and search.strip():
            where.append("prompt LIKE ? ESCAPE '\\'")
            params.append(f"%{search.strip().translate(_LIKE_ESCAPES)}%")
        if batch:
            where.append("batch = ?")
            params.append(batch)
        if ids is not None:
            # One parameter however many ids: SQLite builds older than 3.32 take at most 999 of them.
            where.append("id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps([int(i) for i in ids]))
        sql = f"SELECT * FROM tasks WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"  # noqa: S608 - our clauses
        return self._rows(sql, (*params, limit))

    def rate(self, owner: str, row: int, rating: int | None, note: str | None) -> Record | None:
        """Set *owner*'s verdict on row *row* (rating None clears it); None when the row is not theirs."""
        with self._lock:
            changed = self._db.execute("UPDATE tasks SET rating = ?, note = ? WHERE id = ? AND owner = ?",
                                       (rating, note or None, row, owner)).rowcount
        return self.owned(owner, row) if changed else None

    def unsettled(self, owner: str | None = None) -> list[Record]:
        """Tasks not yet final (followed or unresolved), oldest first: all of them, or one owner's."""
        words = [s.value for s in Status if not s.final] + ["creating"]
        marks = ",".join("?" * len(words))
        if owner is None:
            return self._rows(f"SELECT * FROM tasks WHERE status IN ({marks}) ORDER BY id", tuple(words))  # noqa: S608
        return self._rows(f"SELECT * FROM tasks WHERE owner = ? AND status IN ({marks}) ORDER BY id",  # noqa: S608
                          (owner, *words))

    def external_in_use(self, provider: str, external_task_id: str) -> bool:
        """Whether an earlier row already sent this external id to this provider."""
        with self._lock:
            found = self._db.execute("SELECT 1 FROM tasks WHERE provider = ? AND external_task_id = ? LIMIT 1",
                                     (provider, external_task_id)).fetchone()
        return found is not None

    def forget_videos(self, names: list[str], reason: str) -> None:
        """Rows whose stored video was deleted (retention) keep their history without the file."""
        for name in names:
            self._write("UPDATE tasks SET video_path = NULL, message = ? WHERE video_path = ?",
                        (dumps(reason) if isinstance(reason, Text) else reason, name))

    def all(self) -> list[Record]:
        """Every row, oldest first (for tests and exports)."""
        return self._rows("SELECT * FROM tasks ORDER BY id", ())

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
