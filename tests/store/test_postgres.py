"""The shared store on a real Postgres (started by the test session from Debian's server binaries): the same schema
and migration path, reservations and account lines atomic across connections, a SQLite data folder brought in."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from avatar_demo.core.status import Status
from avatar_demo.store.accounts import AccountLines
from avatar_demo.store.database import Database, sqlalchemy_url
from avatar_demo.store.history import History, RunFacts
from avatar_demo.store.ledger import Ledger, Reservation, Usage
from tests.servers import postgres

DAY = "2026-12-06"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with postgres() as url:
        yield url


@pytest.fixture
def url(cluster: str) -> Iterator[str]:
    """The cluster's database, emptied after each test."""
    yield cluster
    engine = sa.create_engine(sqlalchemy_url(cluster))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def test_the_history_reads_and_writes_as_on_sqlite(url: str) -> None:
    db = Database(url)
    history = History(db)
    row = history.begin("kling", owner="b1.a", prompt="A Slow Nod", mode="std", external_task_id="ext-1",
                        facts=RunFacts(account="kling:house", batch="lab-1", watermark=True))
    history.update(row, status=Status.RUNNING, task_id="t-1", stop=True)
    record = history.get(row)
    assert (record.status, record.task_id, record.stop, record.watermark, record.batch) == \
        (Status.RUNNING, "t-1", True, True, "lab-1")
    assert [r.id for r in history.for_owner("b1.a", search="slow nod")] == [row]  # any case, as on SQLite
    assert history.at_gateway("kling:house") == 1
    assert Database(url).identity == db.identity, "every replica on the database reads the same app id"
    db.close()


def test_reservations_never_overdraw_across_connections(url: str, race) -> None:
    """Twenty requests at one moment, each on its own connection pool as on its own replica: exactly the allowance."""
    ledgers = [Ledger(Database(url)) for _ in range(4)]
    taken = race(20, lambda i: ledgers[i % 4].reserve("ip:1", DAY, runs=1, speech=0, units=1.0, max_runs=3,
                                                    max_speech=0, max_units=100.0), *(lg.db for lg in ledgers))
    assert sum(isinstance(t, Reservation) for t in taken) == 3
    assert all(isinstance(t, (Reservation, Usage)) for t in taken)
    assert ledgers[0].usage("ip:1", DAY).runs == 3


def test_an_accounts_learned_limit_holds_across_connections(url: str, race) -> None:
    """With a learned limit of 2 and one task at the gateway, runs asking at one moment from many connections: one
    is admitted, the others wait; when a task ends, exactly one waiting run goes."""
    dbs = [Database(url) for _ in range(4)]
    history = History(dbs[0])
    rows = [history.begin("kling", owner=None, prompt="", mode="std", external_task_id=None,
                          facts=RunFacts(account="kling:house")) for _ in range(12)]
    for row in rows[:2]:
        history.update(row, status=Status.RUNNING)
    assert AccountLines(history).refused(rows[2], "kling:house") == 2
    history.update(rows[2], status=Status.CANCELLED)
    history.update(rows[1], status=Status.DONE)  # one task left at the gateway: room for one more
    lines = [AccountLines(History(db)) for db in dbs]
    admitted = race(9, lambda i: lines[i % 4].admit(rows[3 + i], "kling:house"), *dbs)
    assert sum(admitted) == 1, admitted
    history.update(rows[0], status=Status.DONE)
    freed = race(6, lambda i: lines[i % 4].release("kling:house"), *dbs)
    assert len([r for r in freed if r is not None]) == 1, "one task ended: exactly one waiting run goes"


def test_a_sqlite_data_folder_is_brought_into_an_empty_postgres(url: str, tmp_path: Path) -> None:
    """Moving onto Postgres loses nothing: every run keeps its number, a run that was under way says what became of
    it, the allowance and speech come along, new runs are numbered after the old ones, and it happens once."""
    old = Database(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    history, ledger = History(old), Ledger(old)
    done = history.begin("kling", owner="b1.a", prompt="done", mode="std", external_task_id=None)
    history.update(done, status=Status.DONE, task_id="t-done", video_path="v.mp4")
    running = history.begin("kling", owner="b1.a", prompt="running", mode="std", external_task_id="ext-2")
    history.update(running, status=Status.RUNNING, task_id="t-running")
    waiting = history.begin("kling", owner="b1.a", prompt="in line", mode="std", external_task_id="ext-3")
    ledger.reserve("ip:1", DAY, runs=2, speech=0, units=2.4, max_runs=3, max_speech=6, max_units=100)
    ledger.remember_speech("ip:1", "tts-1", 4.0)
    old.close()

    moved = Database(url, legacy_dir=tmp_path)
    records = {r.id: r for r in History(moved).all()}
    assert [records[r].status for r in (done, running, waiting)] == [Status.DONE, Status.OVERDUE, Status.CANCELLED]
    assert records[done].video_path == "v.mp4" and records[running].task_id == "t-running"
    assert "Postgres" in str(records[running].message)
    assert Ledger(moved).usage("ip:1", DAY).runs == 2 and Ledger(moved).speech_maker("tts-1") == "ip:1"
    assert History(moved).begin("kling", owner=None, prompt="", mode="std", external_task_id=None) == waiting + 1
    assert not (tmp_path / "history.sqlite3").exists() and (tmp_path / "history.sqlite3.moved-to-postgres").exists()
    with sqlite3.connect(tmp_path / "history.sqlite3.moved-to-postgres") as kept:
        assert kept.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 3, "the old file is kept as it was"
    Database(url, legacy_dir=tmp_path)  # opened again: nothing is brought in twice
    assert len(History(moved).all()) == 4
    moved.close()
