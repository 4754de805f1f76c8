"""Replicas' heartbeats in the shared database: who is alive, who stopped, and one live replica's claim on a dead one's
runs."""

from __future__ import annotations

import time

import sqlalchemy as sa

from .database import Database
from .schema import heartbeats

__all__ = ["Heartbeats"]

#: A replica's row: beating, stopped on purpose (its runs go to others at once), or taken over by another.
ALIVE, STOPPED, TAKEN = 0, 1, 2


class Heartbeats:
    """The heartbeats table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def beat(self, replica: str, *, now: float | None = None) -> None:
        """*replica* is alive now."""
        now = time.time() if now is None else now
        with self.db.write() as conn:
            conn.execute(self.db.insert_ignore(heartbeats, replica=replica, beat_at=now, started_at=now, stopped=ALIVE))
            conn.execute(heartbeats.update().where(heartbeats.c.replica == replica).values(beat_at=now, stopped=ALIVE))

    def stopped(self, replica: str) -> None:
        """*replica* is shutting down on purpose: a live replica takes its runs over at once."""
        with self.db.write() as conn:
            conn.execute(heartbeats.update().where(heartbeats.c.replica == replica).values(stopped=STOPPED))

    def claim_silent(self, me: str, *, silent_s: float, now: float | None = None) -> list[str]:
        """Replicas that stopped, or have not beaten for *silent_s*, claimed by *me* to recover (each by one claimer)."""
        now = time.time() if now is None else now
        with self.db.write() as conn:
            found = [r for (r,) in conn.execute(
                sa.select(heartbeats.c.replica).where(
                    heartbeats.c.replica != me, heartbeats.c.stopped != TAKEN,
                    sa.or_(heartbeats.c.stopped == STOPPED, heartbeats.c.beat_at < now - silent_s))
                .with_for_update())]
            if found:
                conn.execute(heartbeats.update().where(heartbeats.c.replica.in_(found)).values(stopped=TAKEN))
        return found

    def all(self) -> dict[str, tuple[float, int]]:
        """Every replica's last beat and state."""
        with self.db.read() as conn:
            return {r: (at, state) for r, at, state in conn.execute(
                sa.select(heartbeats.c.replica, heartbeats.c.beat_at, heartbeats.c.stopped))}
