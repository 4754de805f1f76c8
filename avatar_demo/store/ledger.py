"""The allowance ledger: runs and units spent per visitor and per UTC day, reserved atomically in SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Ledger", "Reservation", "Speech", "Usage", "utc_day"]

_SCHEMA = """
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
#: Columns added since the first version of a table (a ledger written by it gains them, empty).
_ADDED = {"speech": {"seconds": "REAL"}}
#: The row that sums every visitor's units (the global daily budget).
EVERYONE = "*"


def utc_day(now: dt.datetime | None = None) -> str:
    """Today's key; allowances reset at 00:00 UTC."""
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Usage:
    """What one visitor, and everyone together, spent on a day."""

    runs: int
    speech: int
    units: float
    all_units: float


@dataclass(frozen=True)
class Speech:
    """A text-to-speech voice made here: by whom, and how long (None when the gateway did not say)."""

    visitor: str
    seconds: float | None


@dataclass(frozen=True)
class Reservation:
    """Spending taken from the allowance before a create is sent; given back only on a definite refusal."""

    day: str
    visitor: str
    runs: int
    speech: int
    units: float


class Ledger:
    """One SQLite file; every reservation is a single write transaction, so parallel requests cannot overdraw."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            for table, columns in _ADDED.items():
                have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                for column, kind in columns.items():
                    if column not in have:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def usage(self, visitor: str, day: str) -> Usage:
        """What *visitor* and everyone spent on *day*."""
        with self._lock:
            return self._usage(visitor, day)

    def _usage(self, visitor: str, day: str) -> Usage:
        mine = self._db.execute("SELECT runs, speech, units FROM spend WHERE day = ? AND visitor = ?",
                                (day, visitor)).fetchone() or (0, 0, 0.0)
        everyone = self._db.execute("SELECT units FROM spend WHERE day = ? AND visitor = ?",
                                    (day, EVERYONE)).fetchone() or (0.0,)
        return Usage(int(mine[0]), int(mine[1]), float(mine[2]), float(everyone[0]))

    def reserve(self, visitor: str, day: str, *, runs: int, speech: int, units: float,
                max_runs: int, max_speech: int, max_units: float) -> Reservation | Usage:
        """Take the spending if it fits the limits and return the Reservation; else the Usage that refused it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                used = self._usage(visitor, day)
                if (used.runs + runs > max_runs or used.speech + speech > max_speech
                        or used.all_units + units > max_units + 1e-9):
                    self._db.execute("ROLLBACK")
                    return used
                for who, units_for in ((visitor, units), (EVERYONE, units)):
                    self._db.execute(
                        "INSERT INTO spend (day, visitor, runs, speech, units) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT(day, visitor) DO UPDATE SET runs = runs + excluded.runs, "
                        "speech = speech + excluded.speech, units = units + excluded.units",
                        (day, who, runs if who != EVERYONE else 0, speech if who != EVERYONE else 0, units_for))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return Reservation(day, visitor, runs, speech, units)

    def remember_speech(self, visitor: str, audio_id: str, seconds: float | None = None) -> None:
        """Note that *visitor* made *audio_id* with the house key, *seconds* long (as the gateway said)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO speech (audio_id, visitor, created_at, seconds) "
                             "VALUES (?, ?, ?, ?)", (audio_id, visitor, time.time(), seconds))

    def speech(self, audio_id: str) -> Speech | None:
        """Who made *audio_id* here and how long it is, if anyone did."""
        with self._lock:
            found = self._db.execute("SELECT visitor, seconds FROM speech WHERE audio_id = ?",
                                     (audio_id,)).fetchone()
        return Speech(found[0], found[1]) if found else None

    def speech_maker(self, audio_id: str) -> str | None:
        """Who made *audio_id* here, if anyone did."""
        made = self.speech(audio_id)
        return made.visitor if made else None

    def settle(self, reservation: Reservation, units: float) -> None:
        """Book what a run actually cost (*units*, as the gateway charged) in place of its reservation's estimate."""
        change = units - reservation.units
        if abs(change) < 1e-9:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for who in (reservation.visitor, EVERYONE):
                self._db.execute("UPDATE spend SET units = MAX(0, units + ?) WHERE day = ? AND visitor = ?",
                                 (change, reservation.day, who))
            self._db.execute("COMMIT")

    def release(self, reservation: Reservation) -> None:
        """Give a reservation back (its create was definitely refused: nothing was charged)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for who in (reservation.visitor, EVERYONE):
                own = who != EVERYONE
                self._db.execute(
                    "UPDATE spend SET runs = MAX(0, runs - ?), speech = MAX(0, speech - ?), units = MAX(0, units - ?) "
                    "WHERE day = ? AND visitor = ?",
                    (reservation.runs if own else 0, reservation.speech if own else 0, reservation.units,
                     reservation.day, who))
            self._db.execute("COMMIT")
