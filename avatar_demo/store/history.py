"""The run history: every run in the shared database, recorded before its create is sent, so a task id is never lost."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

import sqlalchemy as sa

from ..core.status import Status
from ..core.text import Text, dumps, text_from_data
from .database import Database
from .records import FACT_NAMES, Record, RunFacts
from .schema import tasks

__all__ = ["AT_GATEWAY", "History", "Record", "RunFacts"]

#: Columns a run's follow may change after it began.
_FIELDS = {"task_id", "status", "video_path", "duration_s", "units", "message", "sent_at", "media_token", "elapsed_s",
           "detail", "stop"}
#: A LIKE pattern's own wildcards, escaped so a search for "50%" finds "50%".
_LIKE_ESCAPES = str.maketrans({"%": "\\%", "_": "\\_", "\\": "\\\\"})
#: Typical job times are the median of this many recent runs.
RECENT = 20
#: Statuses of a run that holds a place at its gateway account (a create sent, or a task unfinished there).
AT_GATEWAY = [s.value for s in (Status.SUBMITTING, Status.CONFIRMING, Status.QUEUED, Status.RUNNING,
                                 Status.UNREACHABLE)]


def _message(stored: str | None) -> str | None:
    """A stored message: our Text as data, or (rows of 0.2, a gateway's words) a plain string."""
    if not stored or not stored.startswith("{"):
        return stored
    try:
        return text_from_data(json.loads(stored))
    except ValueError:
        return stored


_RECORD_NAMES = {f.name for f in fields(Record)} - {"facts"}


def _record(row: sa.Row[Any]) -> Record:
    data = dict(row._mapping)
    data["status"] = Status.parse(data["status"])
    data["changes"] = text_from_data(json.loads(data["changes"] or "[]"))
    data["message"] = _message(data["message"])
    data["byo_key"] = bool(data["byo_key"])
    data["stop"] = bool(data["stop"])
    data["tweak"] = json.loads(data["tweak"]) if data["tweak"] else None
    data["watermark"] = None if data["watermark"] is None else bool(data["watermark"])
    facts = RunFacts(**{name: data[name] for name in FACT_NAMES})
    return Record(**{name: data[name] for name in _RECORD_NAMES}, facts=facts)


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Status) else dumps(value) if isinstance(value, Text) else value


class History:
    """The runs table of the shared database; every method is one short statement or transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        #: Called with a row id after each change this process makes (pages watching the run wake at once).
        self.on_change: Callable[[int], None] | None = None

    def changed(self, row: int) -> None:
        """Tell this process's watchers that *row* changed."""
        if self.on_change is not None:
            self.on_change(row)

    def check_writable(self) -> None:
        """Raises DatabaseError when the store cannot take a write."""
        self.db.check_writable()

    def begin(self, provider: str, *, owner: str | None, prompt: str, mode: str, external_task_id: str | None,
              changes: list[str] | None = None, byo_key: bool = False, facts: RunFacts | None = None,
              status: Status = Status.PENDING) -> int:
        """Record a run before anything is sent for it; returns its row id."""
        now = time.time()
        facts = facts or RunFacts()
        values = {name: getattr(facts, name) for name in FACT_NAMES}
        values["tweak"] = json.dumps(facts.tweak) if facts.tweak is not None else None
        values["watermark"] = None if facts.watermark is None else int(facts.watermark)
        with self.db.write() as conn:
            result = conn.execute(tasks.insert().values(
                owner=owner, provider=provider, external_task_id=external_task_id, status=status.value, prompt=prompt,
                mode=mode, created_at=now, updated_at=now, changes=dumps(changes or []), byo_key=int(byo_key),
                **values))
            row = int(result.inserted_primary_key[0])
        self.changed(row)
        return row

    def update(self, row: int, **changes: Any) -> None:
        """Set some columns of one row (and bump updated_at)."""
        unknown = set(changes) - _FIELDS
        if unknown:
            raise ValueError(f"unknown history fields: {sorted(unknown)}")
        values = {k: _stored(v) for k, v in changes.items()}
        if "stop" in values:
            values["stop"] = int(bool(values["stop"]))
        values["updated_at"] = time.time()
        with self.db.write() as conn:
            conn.execute(tasks.update().where(tasks.c.id == row).values(**values))
        self.changed(row)

    def set_status_if(self, row: int, expected: Iterable[Status], **changes: Any) -> bool:
        """Update *row* only while its status is one of *expected* (one atomic statement); True when it was."""
        values = {k: _stored(v) for k, v in changes.items()}
        values["updated_at"] = time.time()
        with self.db.write() as conn:
            done = conn.execute(tasks.update().where(tasks.c.id == row, tasks.c.status.in_([s.value for s in expected]))
                                .values(**values)).rowcount
        if done:
            self.changed(row)
        return bool(done)

    def _rows(self, query: sa.Select[Any]) -> list[Record]:
        with self.db.read() as conn:
            return [_record(r) for r in conn.execute(query)]

    def get(self, row: int) -> Record | None:
        """One row by id."""
        found = self._rows(sa.select(tasks).where(tasks.c.id == row))
        return found[0] if found else None

    def many(self, rows: Iterable[int]) -> dict[int, Record]:
        """Several rows by id, in one query."""
        wanted = list(dict.fromkeys(rows))
        if not wanted:
            return {}
        return {r.id: r for r in self._rows(sa.select(tasks).where(tasks.c.id.in_(wanted)))}

    def owned(self, owner: str | None, row: int) -> Record | None:
        """Row *row* if *owner* started it; None otherwise (another owner's row reads as missing)."""
        if not owner:
            return None
        found = self._rows(sa.select(tasks).where(tasks.c.id == row, tasks.c.owner == owner))
        return found[0] if found else None

    def for_owner(self, owner: str, limit: int = 50, *, min_rating: int | None = None, search: str | None = None,
                  batch: str | None = None, ids: list[int] | None = None) -> list[Record]:
        """The newest runs one browser started, optionally only those rated at least *min_rating*, whose prompt
        contains *search* (any case), of one lab *batch*, or among *ids*."""
        query = sa.select(tasks).where(tasks.c.owner == owner)
        if min_rating:
            query = query.where(tasks.c.rating >= min_rating)
        if search and search.strip():
            pattern = f"%{search.strip().translate(_LIKE_ESCAPES)}%"
            query = query.where(tasks.c.prompt.ilike(pattern, escape="\\"))
        if batch:
            query = query.where(tasks.c.batch == batch)
        if ids is not None:
            query = query.where(tasks.c.id.in_(ids) if ids else sa.false())
        return self._rows(query.order_by(tasks.c.id.desc()).limit(limit))

    def rate(self, owner: str, row: int, rating: int | None, note: str | None) -> Record | None:
        """Set *owner*'s verdict on row *row* (rating None clears it); None when the row is not theirs."""
        with self.db.write() as conn:
            changed = conn.execute(tasks.update().where(tasks.c.id == row, tasks.c.owner == owner)
                                   .values(rating=rating, note=note or None)).rowcount
        return self.owned(owner, row) if changed else None

    def unresolved(self, owner: str) -> list[Record]:
        """*owner*'s runs that nobody follows but may still finish and bill (worth another look), oldest first."""
        words = [s.value for s in Status if s.unresolved]
        return self._rows(sa.select(tasks).where(tasks.c.owner == owner, tasks.c.status.in_(words)).order_by(tasks.c.id))

    def external_in_use(self, provider: str, external_task_id: str) -> bool:
        """Whether an earlier row already sent this external id to this provider."""
        with self.db.read() as conn:
            found = conn.execute(sa.select(tasks.c.id).where(tasks.c.provider == provider,
                                                             tasks.c.external_task_id == external_task_id).limit(1))
            return found.first() is not None

    def place(self, row: int, account: str) -> int:
        """Where row *row* stands in its account's line (1: next to go)."""
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tasks).where(
                tasks.c.account == account, tasks.c.status == Status.PENDING.value, tasks.c.id <= row)).scalar() or 0)

    def typical_seconds(self, provider: str) -> float | None:
        """The median time of *provider*'s recent finished runs (None before there are any)."""
        with self.db.read() as conn:
            times = [t for (t,) in conn.execute(
                sa.select(tasks.c.elapsed_s).where(tasks.c.provider == provider, tasks.c.status == Status.DONE.value,
                                                   tasks.c.elapsed_s.is_not(None))
                .order_by(tasks.c.id.desc()).limit(RECENT))]
        return statistics.median(times) if times else None

    def at_gateway(self, account: str) -> int:
        """How many of *account*'s runs have a create sent or a task unfinished at the gateway."""
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tasks).where(
                tasks.c.account == account, tasks.c.status.in_(AT_GATEWAY))).scalar() or 0)

    def in_flight(self) -> int:
        """Runs whose create was sent or is being sent and that have not ended (any account, any replica)."""
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tasks).where(
                tasks.c.status.in_([s.value for s in Status if s.followed]))).scalar() or 0)

    def waiting(self, account: str) -> list[int]:
        """*account*'s runs waiting for capacity, oldest first."""
        with self.db.read() as conn:
            return [r for (r,) in conn.execute(sa.select(tasks.c.id).where(
                tasks.c.account == account, tasks.c.status == Status.WAITING.value).order_by(tasks.c.id))]

    def active_refs(self) -> set[str]:
        """Kept inputs that runs not yet ended still need (retention must leave them)."""
        words = [s.value for s in Status if s.active]
        with self.db.read() as conn:
            found = conn.execute(sa.select(tasks.c.image_ref, tasks.c.audio_ref).where(tasks.c.status.in_(words)))
            return {ref for pair in found for ref in pair if ref}

    def forget_videos(self, names: list[str], reason: str) -> None:
        """Rows whose stored video was deleted (retention) keep their history without the file."""
        if not names:
            return
        with self.db.write() as conn:
            conn.execute(tasks.update().where(tasks.c.video_path.in_(names))
                         .values(video_path=None, message=_stored(reason)))

    def all(self) -> list[Record]:
        """Every row, oldest first (for tests and exports)."""
        return self._rows(sa.select(tasks).order_by(tasks.c.id))

    def close(self) -> None:
        """Close the database's connections."""
        self.db.close()
