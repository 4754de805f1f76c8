"""The allowance ledger: runs and units spent per visitor and per UTC day, reserved atomically in the shared database.

A reservation is one transaction that locks the visitor's row and the everyone row before it checks
them (BEGIN IMMEDIATE on SQLite, FOR UPDATE on Postgres), so parallel requests on any number of
replicas can never overdraw an allowance.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from .database import Database
from .schema import settled, speech, spend
from .spending import EVERYONE, Reservation, Speech, Usage, utc_day

__all__ = ["EVERYONE", "Ledger", "Reservation", "Speech", "Usage", "utc_day"]

class Ledger:
    """The spend, speech and settled tables of the shared database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def usage(self, visitor: str, day: str) -> Usage:
        """What *visitor* and everyone spent on *day*."""
        with self.db.read() as conn:
            return self._usage(conn, visitor, day)

    @staticmethod
    def _usage(conn: sa.Connection, visitor: str, day: str, *, lock: bool = False) -> Usage:
        def row(who: str) -> sa.Row[tuple[int, int, float]] | None:
            query = sa.select(spend.c.runs, spend.c.speech, spend.c.units).where(spend.c.day == day,
                                                                                 spend.c.visitor == who)
            return conn.execute(query.with_for_update() if lock else query).first()

        # The everyone row first, always: two transactions lock rows in the same order and never deadlock.
        everyone = row(EVERYONE)
        mine = row(visitor)
        runs, spoken, units = mine if mine is not None else (0, 0, 0.0)
        return Usage(int(runs), int(spoken), float(units), float(everyone[2]) if everyone is not None else 0.0)

    def reserve(self, visitor: str, day: str, *, runs: int, speech: int, units: float,
                max_runs: int, max_speech: int, max_units: float) -> Reservation | Usage:
        """Take the spending if it fits the limits and return the Reservation; else the Usage that refused it."""
        with self.db.write() as conn:
            for who in (EVERYONE, visitor):
                conn.execute(self.db.insert_ignore(spend, day=day, visitor=who, runs=0, speech=0, units=0.0))
            used = self._usage(conn, visitor, day, lock=True)
            if (used.runs + runs > max_runs or used.speech + speech > max_speech
                    or used.all_units + units > max_units + 1e-9):
                return used
            self._add(conn, day, visitor, runs, speech, units)
        return Reservation(day, visitor, runs, speech, units)

    @staticmethod
    def _add(conn: sa.Connection, day: str, visitor: str, runs: int, spoken: int, units: float) -> None:
        """Add to the visitor's row and the everyone row (negative amounts give back, never below zero)."""
        for who in (EVERYONE, visitor):
            own = who != EVERYONE
            conn.execute(spend.update().where(spend.c.day == day, spend.c.visitor == who).values(
                runs=_clamped(spend.c.runs, runs if own else 0), speech=_clamped(spend.c.speech, spoken if own else 0),
                units=_clamped(spend.c.units, units)))

    def remember_speech(self, visitor: str, audio_id: str, seconds: float | None = None) -> None:
        """Note that *visitor* made *audio_id* with the house key, and how long it speaks."""
        with self.db.write() as conn:
            conn.execute(speech.delete().where(speech.c.audio_id == audio_id))
            conn.execute(speech.insert().values(audio_id=audio_id, visitor=visitor, created_at=time.time(),
                                                seconds=seconds))

    def speech(self, audio_id: str) -> Speech | None:
        """Who made *audio_id* here and how long it speaks; None when it was not made here."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(speech.c.visitor, speech.c.seconds).where(speech.c.audio_id == audio_id)).first()
        return Speech(row[0], row[1]) if row else None

    def speech_maker(self, audio_id: str) -> str | None:
        """Who made *audio_id* here, if anyone did."""
        made = self.speech(audio_id)
        return made.visitor if made else None

    def release(self, reservation: Reservation) -> None:
        """Give a reservation back (its create was definitely refused, or never sent: nothing was charged)."""
        with self.db.write() as conn:
            self._add(conn, reservation.day, reservation.visitor, -reservation.runs, -reservation.speech,
                      -reservation.units)

    def settle(self, run: int, reservation: Reservation, *, refund: bool, units: float | None = None) -> bool:
        """Once per run: give its reservation back (*refund*), or book what it really cost (*units*, when the
        gateway said) in place of the estimate. True when this call settled it; False when it was settled before."""
        with self.db.write() as conn:
            if conn.execute(self.db.insert_ignore(settled, run=run, at=time.time())).rowcount == 0:
                return False
            if refund:
                self._add(conn, reservation.day, reservation.visitor, -reservation.runs, -reservation.speech,
                          -reservation.units)
            elif units is not None and abs(units - reservation.units) > 1e-9:
                self._add(conn, reservation.day, reservation.visitor, 0, 0, units - reservation.units)
        return True


def _clamped(column: sa.Column[Any], delta: float) -> sa.ColumnElement[Any]:
    total = column + delta
    return sa.case((total < 0, 0), else_=total)
