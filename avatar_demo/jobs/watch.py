"""Watching a run from the shared store: its events, for a page, an API call or the command line, on any replica.

A watcher reads the run's row; it wakes at once when this process changed the row, and reads again
every TICK_S anyway (another replica may be running it). Leaving early only stops watching.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from .. import providers
from ..core.status import Status
from ..core.text import Text
from ..providers.spec import Cost
from ..store.history import History, Record
from .events import Event, Failed, Progress, Submitted, Succeeded, Unresolved

__all__ = ["Signals", "watch_run", "waiting_note"]

#: A watcher reads its run at least this often (elapsed time moves on, other replicas write).
TICK_S = 1.0


class Signals:
    """Wakes this process's watchers of a row when the row changes; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)

    def ring(self, row: int) -> None:
        with self._lock:
            waiting = list(self._waiting.get(row, ()))
        for loop, event in waiting:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, row: int, seconds: float) -> None:
        """Until row *row* changes here, or *seconds* pass."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiting[row].add(entry)
        try:
            await asyncio.wait_for(entry[1].wait(), seconds)
        except asyncio.TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiting[row].discard(entry)
                if not self._waiting[row]:
                    del self._waiting[row]


def waiting_note(history: History, record: Record, limit: int) -> Text:
    """Where a run stands in its account's line, with an estimate from recent job times ("4th for Kling, ~40 s")."""
    spec = providers.spec(record.provider)
    place = max(1, history.place(record.id, record.account or record.provider))
    typical = history.typical_seconds(record.provider) or spec.typical_s
    rounds = math.ceil(place / max(1, limit))
    return Text("status.line", place=place, provider=spec.label, seconds=round(rounds * typical))


def _charged(record: Record) -> Cost | None:
    spec = providers.spec(record.provider)
    return spec.pricing.charged(record.units) if spec.pricing is not None and record.units is not None else None


def _ending(record: Record, videos: Path) -> Event:
    status = record.status
    if status is Status.DONE:
        path = videos / (record.video_path or "")
        return Succeeded(record.task_id or "", path, record.duration_s, _charged(record), record.elapsed_s or 0.0, 0,
                         note=record.message)
    if status in (Status.FAILED, Status.CANCELLED):
        return Failed(record.message or "", record.task_id, status=status)
    return Unresolved(record.message or "", record.task_id, status)


async def watch_run(history: History, signals: Signals, row: int, *, videos: Path,
                    limit: Callable[[Record], int], now: Callable[[], float]) -> AsyncIterator[Event]:
    """Every change of run *row* as events, from where it stands now until it ends (the last is its Ending).

    *limit* gives the parallel limit of a record's account (for the wait estimate).
    """
    last: tuple[object, ...] | None = None
    told_task = False
    while True:
        record = history.get(row)
        if record is None:
            return
        if record.task_id and not told_task and (record.status.active or record.status is Status.DONE):
            told_task = True
            yield Submitted(row, record.provider, record.task_id, record.external_task_id,
                            status=record.status if record.status.followed else Status.RUNNING)
        if not record.status.active:
            yield _ending(record, videos)
            return
        note: str = record.message or ""
        if record.status is Status.PENDING:
            note = waiting_note(history, record, limit(record))
        state = (record.status, record.detail, note, record.task_id)
        elapsed = max(0.0, now() - record.created_at)
        if state != last or record.status.followed:
            last = state
            yield Progress(record.status, record.detail or "", elapsed, record.task_id, 0, note=note)
        await signals.wait(row, TICK_S)
