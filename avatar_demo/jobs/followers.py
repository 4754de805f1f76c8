"""Server-side followers: every task in flight is followed by the server, whatever happens to the page.

A page or an API call only attaches to a follower and watches its events; closing the tab or
dropping the connection detaches, and the task is still brought to an end and recorded. At
start-up every task left unsettled is picked up again, for every owner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from ..core.errors import AvatarDemoError
from ..core.status import Status
from ..core.text import Text
from ..providers.base import AvatarRequest, Cancellable, Provider
from ..store.history import Record, RunFacts
from .context import JobContext
from .create import begin_job, run_job
from .events import Ending, Event, Failed, Submitted, Succeeded, Unresolved
from .follow import follow_task

__all__ = ["Followers", "Tracked"]

log = logging.getLogger(__name__)
#: A finished follow stays watchable this long (a page that reconnects still sees its end).
KEEP_S = 600.0


@dataclass
class Tracked:
    """One job the server follows: its events so far, and whose it is."""

    row: int
    provider: Provider
    owner: str | None
    visitor: str | None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    ended_at: float | None = None
    task: asyncio.Task[None] | None = None

    @property
    def ending(self) -> Ending | None:
        """The last event once the job has ended."""
        last = self.events[-1] if self.events else None
        return last if isinstance(last, (Succeeded, Failed, Unresolved)) else None


class Followers:
    """Starts, tracks, resumes and stops the server's followers (one process, one event loop)."""

    def __init__(self, ctx: JobContext, provider_for: Callable[[str], Provider]) -> None:
        self.ctx = ctx
        #: Builds a provider with the server's own key, for resumed tasks.
        self.provider_for = provider_for
        self._tracked: dict[int, Tracked] = {}

    def start(self, provider: Provider, request: AvatarRequest, *, owner: str | None = None,
              visitor: str | None = None, changes: list[str] | None = None, byo_key: bool = False,
              facts: RunFacts | None = None, on_created: Callable[[], None] | None = None,
              on_end: Callable[[Ending], None] | None = None) -> Tracked:
        """Record the job and follow it in the background; raises ConfigError (nothing sent) if it cannot be recorded.

        *on_created* runs once the create phase is over (its inputs are no longer needed); *on_end*
        with the job's last event.
        """
        row, request = begin_job(provider, request, self.ctx, owner=owner, changes=changes, byo_key=byo_key,
                                 facts=facts)
        tracked = Tracked(row, provider, owner, visitor)
        events = run_job(provider, request, self.ctx, stop=tracked.stop, row=row)
        self._launch(tracked, events, on_created, on_end)
        return tracked

    def _launch(self, tracked: Tracked, events: AsyncIterator[Event], on_created: Callable[[], None] | None,
                on_end: Callable[[Ending], None] | None) -> None:
        self._prune()
        self._tracked[tracked.row] = tracked
        tracked.task = asyncio.get_running_loop().create_task(self._drive(tracked, events, on_created, on_end),
                                                                name=f"follow-{tracked.row}")

    async def _drive(self, tracked: Tracked, events: AsyncIterator[Event], on_created: Callable[[], None] | None,
                     on_end: Callable[[Ending], None] | None) -> None:
        created = False
        try:
            async for event in events:
                if not created and (isinstance(event, Submitted) or _ends(event)):
                    created = True
                    _quietly(on_created)
                await self._add(tracked, event)
        except Exception:  # noqa: BLE001 - a bug must not lose the task: keep it resumable and say so
            log.exception("the follower of row %s failed", tracked.row)
            await self._add(tracked, Unresolved(Text("job.follow_broke"), None, Status.OVERDUE))
        finally:
            if not created:
                _quietly(on_created)
            # The books (a refund, the inputs) are settled before anyone watching learns the job has ended.
            ending = tracked.ending
            if ending is not None and on_end is not None:
                _quietly(lambda: on_end(ending))
            tracked.ended_at = time.monotonic()
            async with tracked.changed:
                tracked.changed.notify_all()
            await tracked.provider.aclose()

    async def _add(self, tracked: Tracked, event: Event) -> None:
        async with tracked.changed:
            tracked.events.append(event)
            tracked.changed.notify_all()

    async def watch(self, tracked: Tracked) -> AsyncIterator[Event]:
        """Every event of *tracked*, from its first, until it ends. Leaving early only stops watching."""
        seen = 0
        while True:
            async with tracked.changed:
                while seen >= len(tracked.events) and tracked.ended_at is None:
                    await tracked.changed.wait()
                fresh = tracked.events[seen:]
                finished = tracked.ended_at is not None
            seen += len(fresh)
            for event in fresh:
                yield event
            if finished and seen >= len(tracked.events):
                return

    def get(self, row: int) -> Tracked | None:
        """The follower of row *row*, while it runs or shortly after."""
        return self._tracked.get(row)

    def running(self, visitor: str) -> int:
        """How many of *visitor*'s jobs are still being followed."""
        return sum(1 for t in self._tracked.values() if t.visitor == visitor and t.ended_at is None)

    async def stop(self, row: int) -> bool:
        """Stop following row *row* (the user's cancel); asks the gateway to cancel when it can."""
        tracked = self._tracked.get(row)
        if tracked is None or tracked.ended_at is not None:
            return False
        submitted = next((e for e in tracked.events if isinstance(e, Submitted)), None)
        # Ask the gateway first, while the follower still holds its connection; then stop following.
        if submitted is not None and tracked.provider.spec.cancel and isinstance(tracked.provider, Cancellable):
            try:
                await tracked.provider.cancel(submitted.task_id)
            except AvatarDemoError as exc:
                log.info("cancelling task %s failed: %s", submitted.task_id, exc)
        tracked.stop.set()
        return True

    def resume(self, record: Record) -> Tracked | None:
        """Follow an unsettled history row again, unless it is followed already; None when nothing can be done."""
        if record.id in self._tracked and self._tracked[record.id].ended_at is None:
            return self._tracked[record.id]
        spec_name = record.provider
        try:
            provider = self.provider_for(spec_name)
        except AvatarDemoError as exc:
            self.ctx.recorder.update(record.id, message=Text("job.not_followed", error=exc.text))
            return None
        if provider.spec.in_process:
            self.ctx.recorder.update(record.id, status=Status.FAILED, message=Text("job.preview_restart"))
            return None
        if record.byo_key and record.status.followed:
            self.ctx.recorder.update(record.id, status=Status.STOPPED, message=Text(
                "job.byo_restart", task=record.task_id or Text("job.no_id_yet"), provider=provider.spec.label))
            return None
        if record.byo_key:
            return None
        tracked = Tracked(record.id, provider, record.owner, None)
        self._launch(tracked, follow_task(provider, record.id, self.ctx, stop=tracked.stop), None, None)
        return tracked

    def resume_all(self, owner: str | None = None) -> list[Tracked]:
        """Pick up every unsettled task (of *owner*, or of everyone at start-up)."""
        return [t for t in (self.resume(r) for r in self.ctx.recorder.history.unsettled(owner)) if t is not None]

    def busy_rows(self) -> set[int]:
        """Rows whose follower is running."""
        return {row for row, t in self._tracked.items() if t.ended_at is None}

    def _prune(self) -> None:
        cutoff = time.monotonic() - KEEP_S
        for row in [r for r, t in self._tracked.items() if t.ended_at is not None and t.ended_at < cutoff]:
            del self._tracked[row]


def _ends(event: Event) -> bool:
    return isinstance(event, (Succeeded, Failed, Unresolved))


def _quietly(callback: Callable[[], None] | None) -> None:
    if callback is None:
        return
    try:
        callback()
    except Exception:  # noqa: BLE001 - bookkeeping must never break a follow
        log.exception("a follower callback failed")

