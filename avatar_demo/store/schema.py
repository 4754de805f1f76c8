"""The tables of shared facts and their one migration path, the same for SQLite and Postgres.

A database is brought to `VERSION` on open: tables are created, columns that earlier versions lacked
are added, old status words become ids, and the allowance file of versions before 0.5 is brought in.
"""

from __future__ import annotations

import importlib
import logging
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..core.status import LEGACY_WORDS, Status
from ..core import text as words

__all__ = ["VERSION", "capacity", "heartbeats", "insert_ignore", "kept", "metadata", "migrate", "settled", "speech",
           "spend", "tasks"]

log = logging.getLogger(__name__)
VERSION = 2
metadata = sa.MetaData()

Text, Float, Integer = sa.Text, sa.Float, sa.Integer

tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", Text),
    sa.Column("provider", Text, nullable=False),
    sa.Column("task_id", Text),
    sa.Column("external_task_id", Text),
    sa.Column("status", Text, nullable=False),
    sa.Column("prompt", Text, nullable=False, server_default=""),
    sa.Column("mode", Text, nullable=False, server_default="std"),
    sa.Column("created_at", Float, nullable=False),
    sa.Column("updated_at", Float, nullable=False),
    sa.Column("video_path", Text),
    sa.Column("duration_s", Float),
    sa.Column("units", Float),
    sa.Column("message", Text),
    sa.Column("changes", Text, nullable=False, server_default="[]"),
    # 0.2: when the create left, the published media's folder, a visitor's own key (never stored).
    sa.Column("sent_at", Float),
    sa.Column("media_token", Text),
    sa.Column("byo_key", Integer, nullable=False, server_default="0"),
    # 0.3, the workbench: where a run came from, what it was made of, and the person's verdict.
    sa.Column("batch", Text),
    sa.Column("parent", Integer),
    sa.Column("tweak", Text),
    sa.Column("image_ref", Text),
    sa.Column("audio_ref", Text),
    sa.Column("audio_id", Text),
    sa.Column("seconds", Float),
    sa.Column("estimate", Float),
    sa.Column("currency", Text),
    sa.Column("elapsed_s", Float),
    sa.Column("rating", Integer),
    sa.Column("note", Text),
    # 0.5, the durable engine: the request's remaining fields, whose account and visitor it is, the
    # gateway's own word, a stop asked for from any replica, and the allowance it reserved.
    sa.Column("watermark", Integer),
    sa.Column("callback_url", Text),
    sa.Column("language", Text),
    sa.Column("account", Text),
    sa.Column("visitor", Text),
    sa.Column("detail", Text),
    sa.Column("stop", Integer, nullable=False, server_default="0"),
    sa.Column("reserved_day", Text),
    sa.Column("reserved_units", Float),
    sa.Index("tasks_owner", "owner", "id"),
    sa.Index("tasks_status", "status"),
    sa.Index("tasks_account", "account", "status"),
)

#: Runs and units spent per visitor and UTC day; the row of visitor "*" sums everyone's units.
spend = sa.Table(
    "spend", metadata,
    sa.Column("day", Text, primary_key=True),
    sa.Column("visitor", Text, primary_key=True),
    sa.Column("runs", Integer, nullable=False, server_default="0"),
    sa.Column("speech", Integer, nullable=False, server_default="0"),
    sa.Column("units", Float, nullable=False, server_default="0"),
)

#: Text-to-speech made on the house key: whose it is, and how long it speaks.
speech = sa.Table(
    "speech", metadata,
    sa.Column("audio_id", Text, primary_key=True),
    sa.Column("visitor", Text, nullable=False),
    sa.Column("created_at", Float, nullable=False),
    sa.Column("seconds", Float),
)

#: Runs whose allowance was settled: a settlement repeated (steps run at least once) changes nothing.
settled = sa.Table(
    "settled", metadata,
    sa.Column("run", Integer, primary_key=True, autoincrement=False),
    sa.Column("at", Float, nullable=False),
)

#: A gateway account's in-flight limit learned from a capacity refusal; gone once the account has drained.
capacity = sa.Table(
    "capacity", metadata,
    sa.Column("account", Text, primary_key=True),
    sa.Column("learned", Integer),
    sa.Column("at", Float, nullable=False),
)

#: Kept inputs, by name: the last time any replica used one (retention reads this, not one folder's clock).
kept = sa.Table(
    "kept", metadata,
    sa.Column("name", Text, primary_key=True),
    sa.Column("used_at", Float, nullable=False),
    sa.Column("size", Integer, nullable=False, server_default="0"),
)

#: Each replica's last sign of life; a replica silent for too long has its runs taken over.
heartbeats = sa.Table(
    "heartbeats", metadata,
    sa.Column("replica", Text, primary_key=True),
    sa.Column("beat_at", Float, nullable=False),
    sa.Column("started_at", Float, nullable=False),
    sa.Column("stopped", Integer, nullable=False, server_default="0"),
)

#: The schema's version, and the app's own name for this database (the same on every replica that shares it).
_version = sa.Table("avatar_schema", metadata, sa.Column("version", Integer, nullable=False),
                    sa.Column("app_id", Text))


def insert_ignore(engine: sa.Engine, table: sa.Table, **values: Any) -> Any:
    """INSERT that does nothing when the primary key is taken (SQLite and Postgres alike)."""
    # The dialect's own INSERT, loaded with its first use: the Postgres one costs ~20 ms that a SQLite app never pays.
    dialect = importlib.import_module(f"sqlalchemy.dialects.{engine.dialect.name}")
    return dialect.insert(table).values(**values).on_conflict_do_nothing()


def migrate(engine: sa.Engine, legacy_dir: Path | None = None) -> str:
    """Bring the database to VERSION: one path for a new database, an old SQLite file, and Postgres alike. Returns
    the database's app id."""
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
        _add_missing_columns(conn, tasks)
        _add_missing_columns(conn, _version)
        found = conn.execute(sa.select(_version.c.version)).scalar()
        if found is None:
            conn.execute(_version.insert().values(version=0))
            found = 0
        app_id = conn.execute(sa.select(_version.c.app_id)).scalar()
        if app_id is None:
            app_id = secrets.token_hex(6)
            conn.execute(_version.update().values(app_id=app_id))
        if found < 2:
            # Versions before 0.5 stored our English words for a status; ids are stable, words live in catalogs.
            for word, status in LEGACY_WORDS.items():
                conn.execute(tasks.update().where(tasks.c.status == word).values(status=status.value))
        if found != VERSION:
            conn.execute(_version.update().values(version=VERSION))
    if legacy_dir is not None:
        _bring_in_allowance(engine, Path(legacy_dir) / "allowance.sqlite3")
        if engine.dialect.name != "sqlite":
            _bring_in_sqlite(engine, Path(legacy_dir) / "history.sqlite3")
    return str(app_id)


def _add_missing_columns(conn: sa.Connection, table: sa.Table) -> None:
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name in present:
            continue
        kind = column.type.compile(dialect=conn.dialect)
        default = ""
        if column.server_default is not None:
            value = str(column.server_default.arg)
            # Numbers as they are; text quoted as SQL text.
            literal = value if value.lstrip("-").replace(".", "", 1).isdigit() else "'" + value.replace("'", "''") + "'"
            default = f" NOT NULL DEFAULT {literal}"
        conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{default}"))


def _bring_in_allowance(engine: sa.Engine, old: Path) -> None:
    """The allowance of versions before 0.5 lived in a file of its own: its rows join the database once."""
    if not old.is_file():
        return
    try:
        source = sqlite3.connect(old)
        try:
            rows = source.execute("SELECT day, visitor, runs, speech, units FROM spend").fetchall()
            voices = source.execute("SELECT audio_id, visitor, created_at FROM speech").fetchall()
        finally:
            source.close()
    except sqlite3.Error as exc:
        log.warning("the old allowance file %s could not be read (%s); it is left where it is", old, exc)
        return
    with engine.begin() as conn:
        for day, visitor, runs, spoken, units in rows:
            conn.execute(insert_ignore(engine, spend, day=day, visitor=visitor, runs=runs, speech=spoken, units=units))
        for audio_id, visitor, created_at in voices:
            conn.execute(insert_ignore(engine, speech, audio_id=audio_id, visitor=visitor, created_at=created_at))
    old.rename(old.with_name(old.name + ".migrated"))
    log.info("brought %d allowance row(s) from %s into the database", len(rows), old)


def _bring_in_sqlite(engine: sa.Engine, old: Path) -> None:
    """A data folder's SQLite database joins an empty Postgres once, when the app moves onto Postgres."""
    if not old.is_file():
        return
    with engine.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(tasks)).scalar():
            return  # Postgres already holds a history: nothing is merged into it
    source = sa.create_engine(f"sqlite:///{old}")
    try:
        migrate(source)
        with source.connect() as src, engine.begin() as conn:
            for table in (tasks, spend, speech, settled, kept):
                for row in src.execute(sa.select(table)):
                    conn.execute(insert_ignore(engine, table, **_moved(table, dict(row._mapping))))
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('tasks', 'id'), "
                                 "COALESCE((SELECT MAX(id) FROM tasks), 0) + 1, false)"))
    finally:
        source.dispose()
    old.rename(old.with_name(old.name + ".moved-to-postgres"))
    log.info("brought the history in %s into Postgres", old)


def _moved(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    if table is not tasks:
        return row
    status = Status.parse(row["status"])
    if status.active:
        if status is Status.PENDING:
            row["status"] = Status.CANCELLED.value
        elif row["task_id"]:
            row["status"] = Status.OVERDUE.value
        else:
            row["status"] = (Status.UNCLEAR if row["external_task_id"] else Status.UNKNOWN).value
        row["message"] = words.dumps(words.Text("store.moved_mid_run"))
    return row
