"""The app's one database of shared facts: a SQLite file by default, Postgres for several replicas (SQLAlchemy Core).

Reads run one statement each; writes that must be atomic run in `write()`, which on SQLite takes the
write lock up front (BEGIN IMMEDIATE) and on Postgres is a transaction whose rows the caller locks
(`FOR UPDATE`): either way a check-then-write cannot interleave with another process's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .schema import insert_ignore, migrate

__all__ = ["Database", "DatabaseError", "sqlalchemy_url"]

#: Raised by every driver for a statement or connection that failed (a full disk, a lost server).
DatabaseError = sa.exc.SQLAlchemyError
_READ = "avatar_read"


def sqlalchemy_url(url: str) -> sa.URL:
    """*url* with the driver SQLAlchemy needs: psycopg 3 for Postgres (what `postgresql://` means to people)."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Database:
    """One engine for the app's tables, migrated on open."""

    def __init__(self, url: str, *, legacy_dir: Path | None = None) -> None:
        """*legacy_dir*: a data folder whose older files (the 0.x allowance file) are brought in once."""
        self.url = url
        parsed = sqlalchemy_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30},
                                           pool_size=8, max_overflow=16)
            sa.event.listen(self.engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = sa.create_engine(parsed, pool_size=5, max_overflow=10, pool_pre_ping=True)
        #: The app's name for this database, kept in it: the same on every replica that shares it, however each
        #: one spells the address.
        self.identity = migrate(self.engine, legacy_dir)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection for reads that need no lock."""
        with self.engine.connect().execution_options(**{_READ: True}) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One transaction, committed at the end of the block (rolled back on an exception)."""
        with self.engine.begin() as conn:
            yield conn

    def insert_ignore(self, table: sa.Table, **values: Any) -> Any:
        """INSERT that does nothing when the primary key is taken (both dialects)."""
        return insert_ignore(self.engine, table, **values)

    def check_writable(self) -> None:
        """Take the write lock and let it go: raises DatabaseError when the store cannot be written."""
        with self.write() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling is off: BEGIN is ours (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # A write transaction takes the lock at once, so a read-then-write inside it is atomic across processes.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ) else "BEGIN IMMEDIATE")
