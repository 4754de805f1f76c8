"""The store's shared database, as the app opens it (a SQLite file), and threads contending for it at one moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from avatar_demo.store.database import Database
from avatar_demo.store.history import History

#: How long a thread pauses after each transaction while racing.
_PAUSE_S = 0.002


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "history.sqlite3"


@pytest.fixture
def database(db_path: Path) -> Iterator[Database]:
    opened = Database(f"sqlite:///{db_path}")
    yield opened
    opened.close()


@pytest.fixture
def history(database: Database) -> History:
    return History(database)


def _pause(*_: Any) -> None:
    time.sleep(_PAUSE_S)


def _race(calls: int, work: Callable[[int], Any], *databases: Database) -> list[Any]:
    """Run *work(i)* for i in range(calls) on as many threads, all released at the same moment.

    While they race, a thread pauses a moment after each transaction on *databases*: SQLite's busy handler
    sleeps, so without it the thread that just committed nearly always takes the write lock again before
    the threads already waiting for it, and a check split from its write would rarely be caught.
    """
    start = threading.Barrier(calls)

    def one(i: int) -> Any:
        start.wait()
        return work(i)

    for db in databases:
        sa.event.listen(db.engine, "checkin", _pause)
    try:
        with ThreadPoolExecutor(max_workers=calls) as pool:
            return list(pool.map(one, range(calls)))
    finally:
        for db in databases:
            sa.event.remove(db.engine, "checkin", _pause)


@pytest.fixture
def race() -> Callable[..., list[Any]]:
    """race(calls, work, *databases): real threads contending for the database at once."""
    return _race
