"""The kept-input index in the shared database: when any replica last used each kept input.

Retention reads it beside the files' own clocks, so an input another replica used yesterday is kept even
where the shared folder cannot carry a file's modification time (some bucket mounts cannot).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import sqlalchemy as sa

from .database import Database
from .schema import kept

__all__ = ["KeptIndex"]


class KeptIndex:
    """The kept table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def used(self, name: str, size: int | None = None, *, now: float | None = None) -> None:
        """*name* was kept or used now."""
        now = time.time() if now is None else now
        with self.db.write() as conn:
            conn.execute(self.db.insert_ignore(kept, name=name, used_at=now, size=size or 0))
            values: dict[str, object] = {"used_at": now}
            if size is not None:
                values["size"] = size
            conn.execute(kept.update().where(kept.c.name == name).values(**values))

    def last_used(self) -> dict[str, float]:
        """Every kept input's last use."""
        with self.db.read() as conn:
            return {name: at for name, at in conn.execute(sa.select(kept.c.name, kept.c.used_at))}

    def forget(self, names: Iterable[str]) -> None:
        """Inputs retention deleted."""
        gone = list(names)
        if gone:
            with self.db.write() as conn:
                conn.execute(kept.delete().where(kept.c.name.in_(gone)))
