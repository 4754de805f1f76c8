"""One migration path: a data folder of version 0.1 or 0.4 (SQLite files) opens as today's database, once."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from avatar_demo.core.status import Status
from avatar_demo.store.database import Database
from avatar_demo.store.history import History
from avatar_demo.store.ledger import Ledger, Speech, Usage
from avatar_demo.store.schema import VERSION, metadata, tasks

#: The tasks table as versions 0.1 to 0.4 created it.
TASKS_0_1 = """
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
#: The columns 0.2 and 0.3 added to it, as they added them.
ADDED_BY_0_4 = {
    "sent_at": "REAL", "media_token": "TEXT", "byo_key": "INTEGER NOT NULL DEFAULT 0",
    "batch": "TEXT", "parent": "INTEGER", "tweak": "TEXT", "image_ref": "TEXT", "audio_ref": "TEXT",
    "audio_id": "TEXT", "seconds": "REAL", "estimate": "REAL", "currency": "TEXT", "elapsed_s": "REAL",
    "rating": "INTEGER", "note": "TEXT",
}
#: The allowance file of versions 0.3 and 0.4, beside the history.
ALLOWANCE_0_4 = """
CREATE TABLE IF NOT EXISTS spend (
    day TEXT NOT NULL,
    visitor TEXT NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    speech INTEGER NOT NULL DEFAULT 0,
    units REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, visitor)
);
CREATE TABLE IF NOT EXISTS speech (
    audio_id TEXT PRIMARY KEY,
    visitor TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""
SPEND = [("2025-01-02", "ip:a", 2, 30, 3.0), ("2025-01-02", "ip:b", 1, 0, 2.0), ("2025-01-02", "*", 0, 0, 5.0),
         ("2025-01-01", "ip:a", 1, 10, 1.0), ("2025-01-01", "*", 0, 0, 1.0)]
SPEECH = [("tts-1", "ip:a", 100.0), ("tts-2", "ip:b", 200.0)]

#: Every status word versions 0.1 to 0.4 stored, and the id it stands for now.
LEGACY = [
    ("creating", Status.SUBMITTING),  # 0.1
    ("succeeded", Status.DONE),  # 0.1
    ("unknown", Status.UNKNOWN),  # 0.1 (the same word is today's id)
    ("submitting", Status.SUBMITTING),
    ("awaiting the gateway's word", Status.CONFIRMING),
    ("waiting for capacity", Status.WAITING),
    ("queued", Status.QUEUED),
    ("running", Status.RUNNING),
    ("gateway unreachable", Status.UNREACHABLE),
    ("done", Status.DONE),
    ("failed", Status.FAILED),
    ("outcome unknown", Status.UNKNOWN),
    ("still running", Status.OVERDUE),
    ("stopped following", Status.STOPPED),
]
#: One row per word, with a value in most columns 0.4 had (row i holds LEGACY[i - 1]'s word).
OLD_COLUMNS = ("owner", "provider", "task_id", "status", "prompt", "mode", "created_at", "updated_at", "video_path",
               "units", "message", "changes", "sent_at", "byo_key", "batch", "tweak", "image_ref", "rating", "note")
OLD_ROWS = [(f"owner-{i}", "kling", f"k-{i}", word, f"prompt {i}", "pro" if i % 2 else "std", 1000.0 + i, 2000.0 + i,
             f"v{i}.mp4" if i % 3 == 0 else None, 0.5 * i, f"gateway said {i}", '["trimmed audio"]', 1500.0 + i,
             i % 2, "lab-1" if i < 4 else None, '{"prompt": ["a", "b"]}' if i == 1 else None, f"i{i}.jpg",
             i % 6 or None, "good" if i == 2 else None)
            for i, (word, _) in enumerate(LEGACY, start=1)]


def query(file: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """What the file itself holds, read without our code."""
    with closing(sqlite3.connect(file)) as raw:
        return raw.execute(sql, params).fetchall()


def write_0_4_folder(folder: Path, *, columns: dict[str, str] = ADDED_BY_0_4) -> Path:
    """A data folder as version 0.4 left it: the history with a row in each word, and the allowance file
    (*columns*: those 0.2 to 0.4 added; none for a 0.1 history)."""
    folder.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(folder / "history.sqlite3")) as raw, raw:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.executescript(TASKS_0_1)
        for column, kind in columns.items():
            raw.execute(f"ALTER TABLE tasks ADD COLUMN {column} {kind}")
        names = [c for c in OLD_COLUMNS if c in columns or c not in ADDED_BY_0_4]
        for row in OLD_ROWS:
            values = [v for c, v in zip(OLD_COLUMNS, row) if c in names]
            raw.execute(f"INSERT INTO tasks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values)
    with closing(sqlite3.connect(folder / "allowance.sqlite3")) as raw, raw:
        raw.executescript(ALLOWANCE_0_4)
        raw.executemany("INSERT INTO spend VALUES (?, ?, ?, ?, ?)", SPEND)
        raw.executemany("INSERT INTO speech VALUES (?, ?, ?)", SPEECH)
    return folder


def open_folder(folder: Path) -> Database:
    """The database as the app opens it on its data folder."""
    return Database(f"sqlite:///{folder / 'history.sqlite3'}", legacy_dir=folder)


def raw_rows(folder: Path) -> list[tuple[Any, ...]]:
    return query(folder / "history.sqlite3", f"SELECT {', '.join(OLD_COLUMNS)} FROM tasks ORDER BY id")


def columns_of(folder: Path) -> set[str]:
    return {r[1] for r in query(folder / "history.sqlite3", "PRAGMA table_info(tasks)")}


@pytest.fixture
def old_folder(tmp_path: Path) -> Path:
    return write_0_4_folder(tmp_path / "data")


def test_opening_a_0_4_folder_keeps_every_row_and_adds_what_is_new(old_folder: Path) -> None:
    """Every old row is kept with its values (only its status word becomes an id), today's columns and tables
    are there, and the version is recorded."""
    db = open_folder(old_folder)
    try:
        expected = [(*row[:3], status.value, *row[4:]) for row, (_, status) in zip(OLD_ROWS, LEGACY)]
        assert raw_rows(old_folder) == expected
        file = old_folder / "history.sqlite3"
        assert {c.name for c in tasks.columns} <= columns_of(old_folder)
        tables = {r[0] for r in query(file, "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert set(metadata.tables) <= tables
        assert query(file, "SELECT version FROM avatar_schema") == [(VERSION,)]
        # The new columns read as their defaults on old rows, and take writes.
        history = History(db)
        old = history.get(1)
        assert (old.stop, old.detail, old.account, old.visitor, old.reserved_units) == (False, None, None, None, None)
        assert (old.tweak, old.changes, old.byo_key) == ({"prompt": ["a", "b"]}, ["trimmed audio"], True)
        history.update(1, detail="processing", stop=True)
        assert (history.get(1).detail, history.get(1).stop) == ("processing", True)
    finally:
        db.close()


def test_the_old_allowance_file_is_brought_in_once_and_renamed(old_folder: Path) -> None:
    """The spend and speech rows of allowance.sqlite3 join the database, and the file becomes .migrated."""
    db = open_folder(old_folder)
    try:
        ledger = Ledger(db)
        assert ledger.usage("ip:a", "2025-01-02") == Usage(2, 30, 3.0, 5.0)
        assert ledger.usage("ip:b", "2025-01-02") == Usage(1, 0, 2.0, 5.0)
        assert ledger.usage("ip:a", "2025-01-01") == Usage(1, 10, 1.0, 1.0)
        assert (ledger.speech("tts-1"), ledger.speech("tts-2")) == (Speech("ip:a", None), Speech("ip:b", None))
    finally:
        db.close()
    assert not (old_folder / "allowance.sqlite3").exists()
    assert (old_folder / "allowance.sqlite3.migrated").is_file()


@pytest.mark.parametrize(("word", "status"), LEGACY, ids=[word for word, _ in LEGACY])
def test_each_old_status_word_becomes_its_id(old_folder: Path, word: str, status: Status) -> None:
    """The stored word becomes the id (not only read as it), so the queries that look for ids find the run."""
    row = next(i for i, (w, _) in enumerate(LEGACY, start=1) if w == word)
    db = open_folder(old_folder)
    try:
        assert query(old_folder / "history.sqlite3", "SELECT status FROM tasks WHERE id = ?", row) == [(status.value,)]
        history = History(db)
        assert history.get(row).status is status
        owner = f"owner-{row}"
        assert ([r.id for r in history.unresolved(owner)] == [row]) is status.unresolved
    finally:
        db.close()


def test_opening_twice_changes_nothing(old_folder: Path) -> None:
    """A second open (every start of the app, every replica) finds nothing to do: rows, statuses, spending and
    the renamed file are as the first open left them."""
    open_folder(old_folder).close()
    rows = raw_rows(old_folder)
    second = open_folder(old_folder)
    try:
        assert raw_rows(old_folder) == rows
        assert Ledger(second).usage("ip:a", "2025-01-02") == Usage(2, 30, 3.0, 5.0)
        assert len(History(second).all()) == len(LEGACY)
    finally:
        second.close()
    assert sorted(p.name for p in old_folder.glob("allowance*")) == ["allowance.sqlite3.migrated"]


def test_an_allowance_file_brought_in_again_is_not_counted_twice(old_folder: Path) -> None:
    """Stopped after its rows were brought in but before the file was renamed: the next open renames it and
    counts nothing twice."""
    open_folder(old_folder).close()
    shutil.copy(old_folder / "allowance.sqlite3.migrated", old_folder / "allowance.sqlite3")
    db = open_folder(old_folder)
    try:
        assert Ledger(db).usage("ip:a", "2025-01-02") == Usage(2, 30, 3.0, 5.0)
    finally:
        db.close()
    assert not (old_folder / "allowance.sqlite3").exists()


def test_an_unreadable_allowance_file_is_left_where_it_is(tmp_path: Path) -> None:
    """An allowance file that is not a database does not stop the app: it stays, for a person to look at."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "allowance.sqlite3").write_bytes(b"not a database at all, " * 100)
    db = open_folder(folder)
    try:
        assert Ledger(db).usage("ip:a", "2025-01-02") == Usage(0, 0, 0.0, 0.0)
    finally:
        db.close()
    assert (folder / "allowance.sqlite3").is_file() and not (folder / "allowance.sqlite3.migrated").exists()


def test_a_0_1_table_is_migrated_and_its_rows_read(tmp_path: Path) -> None:
    """Opening a 0.1 history (before sent_at, byo_key and the workbench columns) adds them all; old rows read with
    defaults and mapped statuses, take the new fields, and a second open finds nothing to add."""
    folder = write_0_4_folder(tmp_path / "data", columns={})
    (folder / "allowance.sqlite3").unlink()
    db = open_folder(folder)
    history = History(db)
    assert {c.name for c in tasks.columns} <= columns_of(folder)
    succeeded = history.for_owner("owner-2")[0]
    assert (succeeded.task_id, succeeded.status, succeeded.prompt, succeeded.mode, succeeded.changes) == \
        ("k-2", Status.DONE, "prompt 2", "std", ["trimmed audio"])
    assert (succeeded.sent_at, succeeded.media_token, succeeded.byo_key, succeeded.batch, succeeded.rating) == \
        (None, None, False, None, None)
    assert history.for_owner("owner-1")[0].status is Status.SUBMITTING
    history.update(succeeded.id, sent_at=5.0, media_token="tok")
    assert (history.get(succeeded.id).sent_at, history.get(succeeded.id).media_token) == (5.0, "tok")
    new = history.begin("fal", owner="owner-2", prompt="", mode="std", external_task_id=None, byo_key=True)
    assert history.get(new).byo_key is True
    history.close()
    reopened = History(open_folder(folder))
    assert len(reopened.all()) == len(LEGACY) + 1
    reopened.close()
