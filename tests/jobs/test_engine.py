"""The engine's launch on this machine's SQLite: the sub-second clock DBOS writes its timestamps with."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import JobHarness
from tests.providers.test_gateways import provider_for


@pytest.mark.skipif(sqlite3.sqlite_version_info >= (3, 42, 0), reason="this SQLite has unixepoch('subsec') itself")
def test_an_older_sqlite_gets_the_subsecond_clock_dbos_writes_with(tmp_path: Path) -> None:
    """DBOS (Python 3.12+) defaults its timestamps to unixepoch('subsec'), which SQLite before 3.42 answers with NULL:
    once the engine has launched, every SQLite connection of the process answers it."""
    with JobHarness(tmp_path, lambda name, key: provider_for(name)) as harness:
        harness.runs.engine._started.wait(60)
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'clock.sqlite3'}")
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (at INTEGER NOT NULL DEFAULT (unixepoch('subsec') * 1000), n INT)"))
            conn.execute(sa.text("INSERT INTO t (n) VALUES (1)"))
            at = conn.execute(sa.text("SELECT at FROM t")).scalar()
            # Every other time value still gets SQLite's own answer.
            others = conn.execute(sa.text("SELECT unixepoch('now'), unixepoch('2024-01-01'), unixepoch(2460310.5), "
                                          "unixepoch('not a time'), unixepoch(NULL)")).one()
        engine.dispose()
    assert at is not None and at > 1.7e12
    assert abs(others[0] - time.time()) < 5 and others[1:] == (1704067200, 1704067200, None, None)
