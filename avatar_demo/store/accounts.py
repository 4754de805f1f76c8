"""Who may send a create on a gateway account now: a semaphore in the shared database, across every replica.

The engine's queue already holds runs to the account's configured parallel limit. When the gateway
refuses a create for capacity anyway (the limit was not configured, or someone else uses the same
account), the account's limit is *learned*: the number of tasks it had then. Until the account has
drained, runs past that number wait, and each task that ends lets exactly one waiting run send,
oldest first — a capacity refusal is never answered by sending again on a timer.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from ..core.status import Status
from .history import AT_GATEWAY, History
from .schema import capacity, tasks

__all__ = ["AccountLines"]


class AccountLines:
    """Admission to each gateway account, decided in one locked transaction per decision."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.db = history.db

    def _learned(self, conn: sa.Connection, account: str) -> int | None:
        """The account's learned limit, its row locked until the transaction ends."""
        conn.execute(self.db.insert_ignore(capacity, account=account, learned=None, at=time.time()))
        return conn.execute(sa.select(capacity.c.learned).where(capacity.c.account == account).with_for_update()).scalar()

    @staticmethod
    def _busy(conn: sa.Connection, account: str, *, besides: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(tasks).where(tasks.c.account == account,
                                                                    tasks.c.status.in_(AT_GATEWAY))
        if besides is not None:
            query = query.where(tasks.c.id != besides)
        return int(conn.execute(query).scalar() or 0)

    @staticmethod
    def _set(conn: sa.Connection, row: int, status: Status, **values: object) -> None:
        conn.execute(tasks.update().where(tasks.c.id == row).values(status=status.value, updated_at=time.time(), **values))

    def admit(self, row: int, account: str) -> bool:
        """Whether run *row* may send its create now (it is then SUBMITTING); else it is WAITING its turn."""
        with self.db.write() as conn:
            learned = self._learned(conn, account)
            status = conn.execute(sa.select(tasks.c.status).where(tasks.c.id == row)).scalar()
            if status == Status.SUBMITTING.value:
                return True  # its turn was given to it by release(), or an earlier attempt of this step took it
            if status is None or not Status.parse(status).active:
                return False  # cancelled since its step looked: nothing may be sent for it
            older = conn.execute(sa.select(sa.func.count()).select_from(tasks).where(
                tasks.c.account == account, tasks.c.status == Status.WAITING.value, tasks.c.id < row)).scalar()
            admitted = not older and (learned is None or self._busy(conn, account, besides=row) < learned)
            self._set(conn, row, Status.SUBMITTING if admitted else Status.WAITING)
        self.history.changed(row)
        return admitted

    def refused(self, row: int, account: str) -> int:
        """Run *row*'s create was refused for capacity: learn the account's limit, and wait. Returns the limit."""
        with self.db.write() as conn:
            learned = self._learned(conn, account)
            busy = max(1, self._busy(conn, account, besides=row))
            limit = busy if learned is None else min(learned, busy)
            conn.execute(capacity.update().where(capacity.c.account == account).values(learned=limit, at=time.time()))
            self._set(conn, row, Status.WAITING, sent_at=None)
        self.history.changed(row)
        return limit

    def release(self, account: str) -> int | None:
        """A task of *account* ended: the oldest waiting run gets the room (returned, to be woken), if it fits."""
        with self.db.write() as conn:
            learned = self._learned(conn, account)
            waiter = conn.execute(sa.select(tasks.c.id).where(tasks.c.account == account,
                                                              tasks.c.status == Status.WAITING.value)
                                  .order_by(tasks.c.id).limit(1)).scalar()
            busy = self._busy(conn, account)
            if waiter is None:
                if busy == 0 and learned is not None:
                    # Drained: the next batch starts from the configured limit again.
                    conn.execute(capacity.update().where(capacity.c.account == account).values(learned=None))
                return None
            if learned is not None and busy >= learned:
                return None
            self._set(conn, waiter, Status.SUBMITTING)
        self.history.changed(waiter)
        return int(waiter)

    def learned(self, account: str) -> int | None:
        """The limit learned for *account*, if any."""
        with self.db.read() as conn:
            return conn.execute(sa.select(capacity.c.learned).where(capacity.c.account == account)).scalar()
