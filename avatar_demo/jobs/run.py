"""One run inside a step: its record, its gateway, its request, and the waits between polls (cut short by callbacks
and stops).

A step may run more than once (after a crash, or on another replica): everything here reads the run's
state from the shared store, never from memory a restart would lose.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from ..core.errors import AvatarDemoError, GatewayError, GatewayUnreachable
from ..core.status import Status
from ..core.text import Text
from ..providers.base import AvatarRequest, HasCallbacks, Provider, TaskState
from ..store.history import Record
from ..web.callbacks import Wakeup
from .context import JobContext
from .events import Unresolved

__all__ = ["CLOCK_SKEW_S", "Run", "older_than_sent"]

#: A task the gateway says it made this long before our create left is someone else's.
CLOCK_SKEW_S = 60.0


def older_than_sent(found: TaskState, sent_at: float | None) -> bool:
    """Whether *found* was made before our create could have reached the gateway: then it is not ours."""
    return bool(found.created_at and sent_at and found.created_at < sent_at - CLOCK_SKEW_S)


class Run:
    """A run's working view for one step; *stop* is this process's signal for it (set by a stop asked here)."""

    def __init__(self, ctx: JobContext, provider: Provider, record: Record, stop: asyncio.Event,
                 reads: asyncio.Semaphore) -> None:
        self.ctx = ctx
        self.provider = provider
        self.spec = provider.spec
        self.label = provider.spec.label
        self.row = record.id
        self.record = record
        self.stop = stop
        self._reads = reads
        self.wake: Wakeup | None = None

    # -- the record ------------------------------------------------------------------------------------------
    def save(self, **fields: object) -> None:
        """Write to this run's row."""
        self.ctx.history.update(self.row, **fields)

    def reload(self) -> Record:
        """The run's row as stored now."""
        found = self.ctx.history.get(self.row)
        assert found is not None  # rows are never deleted
        self.record = found
        return found

    def now(self) -> float:
        return self.ctx.timing.now()

    def age(self) -> float:
        """Seconds since the create left (or, before that, since the run began)."""
        return max(0.0, self.now() - (self.record.sent_at or self.record.created_at))

    def run_time(self) -> float:
        """Seconds the whole run took so far, from its start to now, across restarts."""
        return round(max(0.0, self.now() - self.record.created_at), 1)

    def request(self, urls: dict[str, str | None] | None = None) -> AvatarRequest:
        """The create this run sends, rebuilt from its record and its kept inputs."""
        rec, kept = self.record, self.ctx.kept
        image = kept.path(rec.image_ref)
        audio = kept.path(rec.audio_ref) if not rec.audio_id else None
        callback = rec.callback_url
        if not callback and self.ctx.callbacks is not None and self.spec.callbacks:
            callback = self.ctx.callbacks.url_for(self.row)
        assert image is not None, "checked by the inputs step"
        return AvatarRequest(
            image=image, audio=audio, audio_id=rec.audio_id, prompt=rec.prompt, mode=rec.mode,  # type: ignore[arg-type]
            audio_duration_s=rec.seconds, watermark=rec.watermark, callback_url=callback,
            external_task_id=rec.external_task_id, image_url=(urls or {}).get("image_url"),
            audio_url=(urls or {}).get("audio_url"), language=rec.language or "en")

    def inputs_present(self) -> bool:
        """Whether the kept photo (and voice) this run needs are still there."""
        rec, kept = self.record, self.ctx.kept
        return kept.path(rec.image_ref) is not None and (bool(rec.audio_id) or kept.path(rec.audio_ref) is not None)

    def kept_files(self) -> list[Path]:
        rec, kept = self.record, self.ctx.kept
        return [p for p in (kept.path(rec.image_ref), kept.path(rec.audio_ref)) if p is not None]

    # -- waiting -----------------------------------------------------------------------------------------------
    def listening(self) -> AbstractContextManager[Wakeup | None]:
        """While inside: this run's Wakeup, rung when the gateway calls back (if it can reach us)."""
        hub = self.ctx.callbacks
        if hub is None or not hub.base or not isinstance(self.provider, HasCallbacks):
            return nullcontext()
        return hub.listen(self.row, self.provider.callback_status, self.provider.callback_task_id)

    def stopped(self) -> bool:
        """Whether someone asked to stop this run (here, or on another replica: the flag in its row)."""
        if self.stop.is_set():
            return True
        record = self.ctx.history.get(self.row)
        if record is not None and record.stop:
            self.stop.set()
        return self.stop.is_set()

    async def pause(self, seconds: float) -> None:
        """Wait *seconds*; a callback for this task or a stop cuts it short."""
        timing = self.ctx.timing
        end = self.now() + seconds
        while not self.stopped():
            left = end - self.now()
            if left <= 0:
                return
            chunk = min(left, timing.stop_check_s)
            waiting = asyncio.ensure_future(self.wake.pause(chunk) if self.wake else timing.sleep(chunk))
            stopping = asyncio.ensure_future(self.stop.wait())
            try:
                await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pending in (waiting, stopping):
                    pending.cancel()
            if waiting.done() and not waiting.cancelled() and waiting.result() is True:
                return  # a callback: poll now

    def next_delay(self, age: float, failures: int) -> float:
        """Seconds until the next poll of a task *age* seconds old after *failures* failed reads in a row."""
        timing = self.ctx.timing
        # Once a callback has arrived the gateway can reach us: it brings the result, polls are the backstop.
        schedule = timing.schedule.relaxed() if self.wake is not None and self.wake.heard else timing.schedule
        delay = schedule.next_delay(age)
        if failures:
            delay = max(delay, min(timing.unreachable_max_s, timing.schedule.floor_s * 2 ** failures))
        return delay

    # -- the gateway -------------------------------------------------------------------------------------------
    async def read(self, task_id: str) -> TaskState:
        """One poll, within the app-wide bound on reads in flight."""
        async with self._reads:
            return await self.provider.get(task_id)

    def not_answering(self, exc: AvatarDemoError) -> Text:
        """Why a read failed, without the gateway's advice (a task that exists is never "tried again")."""
        if isinstance(exc, GatewayUnreachable):
            return Text("job.not_reached", provider=self.label)
        if isinstance(exc, GatewayError):
            return Text("job.answered_error", provider=self.label, error=exc.message)
        return exc.text

    def unresolved(self, task_id: str | None, status: Status, detail: str | Text = "") -> Unresolved:
        """End without a terminal status, saying plainly that it may still finish (or exist) and be billed."""
        if status in (Status.UNKNOWN, Status.UNCLEAR):
            key = "job.unclear" if status is Status.UNCLEAR else "job.unknown"
            reason = Text(key, provider=self.label, detail=detail)
        else:
            key = "job.stopped" if status is Status.STOPPED else "job.overdue"
            reason = Text(key, task=task_id, provider=self.label)
        self.save(status=status, message=reason)
        return Unresolved(reason, task_id, status)
