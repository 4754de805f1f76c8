"""Follow a task until the gateway ends it, the deadline passes or the user stops; then fetch the video.

Once a task id is known nothing else ends the follow: a failed read is a state ("gateway
unreachable"), not an ending, and an ending that is not terminal says the task may still finish
and be billed. It never says "try again".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext

from ..core.errors import AvatarDemoError, GatewayError, GatewayUnreachable
from ..core.status import Status
from ..core.text import Text
from ..providers.base import HasCallbacks, Lookup, Provider, TaskState
from ..web.callbacks import Wakeup
from ..web.download import download_video
from .context import JobContext
from .events import Event, Failed, Progress, Succeeded, Unresolved

__all__ = ["CLOCK_SKEW_S", "Follower", "follow_task", "older_than_sent"]

#: A task the gateway says it made this long before our create left is someone else's.
CLOCK_SKEW_S = 60.0


def older_than_sent(found: TaskState, sent_at: float | None) -> bool:
    """Whether *found* was made before our create could have reached the gateway: then it is not ours."""
    return bool(found.created_at and sent_at and found.created_at < sent_at - CLOCK_SKEW_S)


class Follower:
    """One task's follow: waiting (cut short by callbacks or a stop), polling, recording, ending."""

    def __init__(self, ctx: JobContext, provider: Provider, row: int, stop: asyncio.Event | None) -> None:
        self.ctx = ctx
        self.provider = provider
        self.spec = provider.spec
        self.label = provider.spec.label
        self.row = row
        self.stop = stop or asyncio.Event()
        self.wake: Wakeup | None = None
        self.started = ctx.timing.clock()
        #: When the job began, in wall-clock seconds (a resumed task began before this process did).
        self.began_at = time.time()

    def elapsed(self) -> float:
        """Seconds since this follow (or job) began."""
        return self.ctx.timing.clock() - self.started

    def run_time(self) -> float:
        """Seconds the whole run took so far, from its start to now, across restarts."""
        return round(max(0.0, time.time() - self.began_at), 1)

    def record(self, **fields: object) -> bool:
        """Write to this task's history row; False when the write is held in memory and the journal."""
        return self.ctx.recorder.update(self.row, **fields)

    def adopt(self, state: TaskState) -> bool:
        """Record the task this job follows. A terminal status waits for its outcome (see follow())."""
        return self.record(task_id=state.task_id, **({} if state.status.terminal else {"status": state.status}))

    def listening(self) -> AbstractContextManager[Wakeup | None]:
        """While inside: this task's Wakeup, rung when the gateway calls back (if it can reach us)."""
        hub = self.ctx.callbacks
        if hub is None or not hub.base or not isinstance(self.provider, HasCallbacks):
            return nullcontext()
        return hub.listen(self.row, self.provider.callback_status, self.provider.callback_task_id)

    async def pause(self, seconds: float) -> None:
        """Wait *seconds*; a callback for this task or the user's stop cuts it short."""
        if seconds <= 0 or self.stop.is_set():
            return
        waiting = asyncio.ensure_future(self.wake.pause(seconds) if self.wake else self.ctx.timing.sleep(seconds))
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (waiting, stopping):
                pending.cancel()

    def next_delay(self, age: float, failures: int) -> float:
        """Seconds until the next poll of a task *age* seconds old after *failures* failed reads in a row."""
        timing = self.ctx.timing
        # Once a callback has arrived the gateway can reach us: it brings the result, polls are the backstop.
        schedule = timing.schedule.relaxed() if self.wake is not None and self.wake.heard else timing.schedule
        delay = schedule.next_delay(age)
        if failures:
            delay = max(delay, min(timing.unreachable_max_s, timing.schedule.floor_s * 2 ** failures))
        return delay

    async def read(self, task_id: str) -> TaskState:
        """One poll, within the process-wide bound on reads in flight."""
        async with self.ctx.reads or nullcontext():
            return await self.provider.get(task_id)

    def not_answering(self, exc: AvatarDemoError) -> Text:
        """Why a read failed, without the gateway's advice (a task that exists is never "tried again")."""
        if isinstance(exc, GatewayUnreachable):
            return Text("job.not_reached", provider=self.label)
        if isinstance(exc, GatewayError):
            return Text("job.answered_error", provider=self.label, error=exc.message)
        return exc.text

    async def follow(self, task_id: str, created_at: float) -> AsyncIterator[Event]:
        """Poll until an ending; *created_at* is on the timing clock. Ends with Succeeded, Failed or Unresolved.

        A failed read is a state (gateway unreachable), not an ending: only the gateway's own word, the
        deadline or the user's stop end it.
        """
        timing = self.ctx.timing
        polls = failures = 0
        last: Status | None = None
        while True:
            age = timing.clock() - created_at
            if self.stop.is_set():
                yield self.unresolved(task_id, Status.STOPPED)
                return
            if age >= timing.deadline_s:
                yield self.unresolved(task_id, Status.OVERDUE)
                return
            await self.pause(min(self.next_delay(age, failures), timing.deadline_s - age))
            if self.stop.is_set():
                continue
            try:
                state = await self.read(task_id)
            except AvatarDemoError as exc:
                failures += 1
                note = Text("job.still_following", why=self.not_answering(exc), task=task_id)
                if last is not Status.UNREACHABLE:
                    self.record(status=Status.UNREACHABLE, message=note)
                    last = Status.UNREACHABLE
                yield Progress(Status.UNREACHABLE, "", self.elapsed(), task_id, polls, note=note)
                continue
            failures = 0
            polls += 1
            # A terminal status is recorded only with its outcome (the video, the reason): recorded alone, a
            # restart before the download would find the row final and never fetch the video it paid for.
            if state.status is not last and not state.status.terminal:
                self.record(status=state.status, message=state.message)
                last = state.status
            if state.status is not Status.FAILED:
                yield Progress(state.status, state.raw_status, self.elapsed(), task_id, polls)
            if not state.status.terminal:
                continue
            try:
                yield await self.finish(task_id, state, polls)
                return
            except AvatarDemoError as exc:
                failures += 1
                yield Progress(Status.UNREACHABLE, state.raw_status, self.elapsed(), task_id, polls,
                               note=Text("job.video_not_fetched", error=exc.text))

    async def check_once(self, task_id: str, unresolved: Unresolved) -> AsyncIterator[Event]:
        """One look at a task nobody follows any more (overdue, stopped): finish it if the gateway says it
        ended, else end with *unresolved* and leave its record as it was."""
        try:
            state = await self.read(task_id)
            if state.status.terminal:
                if state.status is Status.DONE:
                    yield Progress(state.status, state.raw_status, self.elapsed(), task_id, 1)
                yield await self.finish(task_id, state, 1)
                return
        except AvatarDemoError:
            pass
        yield unresolved

    async def finish(self, task_id: str, state: TaskState, polls: int) -> Succeeded | Failed:
        """A task the gateway says has ended: record why it failed, or fetch and record its video.

        Raises AvatarDemoError when the video cannot be fetched (yet): the record is then left as it was.
        """
        if state.status is Status.FAILED:
            reason = Text("job.task_failed", provider=self.label, task=task_id,
                          reason=Text.verbatim(state.message) if state.message else Text("job.no_reason"))
            self.record(status=Status.FAILED, message=reason, units=state.charged, elapsed_s=self.run_time())
            return Failed(reason, task_id)
        assert state.video_url is not None  # each parser guarantees it
        path = await download_video(state.video_url, self.ctx.new_video(), local=self.spec.in_process)
        pricing = self.spec.pricing
        charged = pricing.charged(state.charged) if pricing and state.charged is not None else None
        self.record(status=Status.DONE, video_path=path.name, duration_s=state.duration_s,
                    units=state.charged, message=state.message, elapsed_s=self.run_time())
        return Succeeded(task_id, path, state.duration_s, charged, self.elapsed(), polls, note=state.message)

    async def hear_task(self, created_at: float) -> TaskState | None:
        """After an unclear create: wait for the gateway's callback to name the task, then read it from the gateway.

        Only the gateway has this task's callback URL, and the task is confirmed by reading it with our
        own key. None when nothing can call back here, or the deadline passes without word.
        """
        if self.wake is None:
            return None
        timing = self.ctx.timing
        tried: set[str] = set()
        while timing.clock() - created_at < timing.deadline_s and not self.stop.is_set():
            for task_id in [t for t in self.wake.named if t not in tried]:
                tried.add(task_id)
                # Kept at once: the gateway says it once, and a restart must still know which task to follow.
                self.record(task_id=task_id)
                try:
                    return await self.read(task_id)
                except AvatarDemoError:
                    tried.discard(task_id)  # read it again after the next pause
            left = timing.deadline_s - (timing.clock() - created_at)
            await self.pause(min(timing.unreachable_max_s, max(0.0, left)))
        return None

    def unresolved(self, task_id: str | None, status: Status, detail: str | Text = "") -> Unresolved:
        """End without a terminal status, saying plainly that it may still finish (or exist) and be billed."""
        if status is Status.UNKNOWN:
            reason = Text("job.unknown", provider=self.label, detail=detail)
        else:
            key = "job.stopped" if status is Status.STOPPED else "job.overdue"
            reason = Text(key, task=task_id, provider=self.label)
        self.record(status=status, message=reason)
        return Unresolved(reason, task_id, status)


async def follow_task(provider: Provider, row: int, ctx: JobContext, *,
                      stop: asyncio.Event | None = None) -> AsyncIterator[Event]:
    """Pick a recorded task up again (after a restart, or when its owner comes back); ends with an Ending.

    A task still followed when the app stopped is followed on, up to its original deadline; one nobody
    follows any more (overdue, stopped) is checked once, and finished if the gateway says it ended.
    """
    record = ctx.recorder.get(row)
    if record is None:
        raise KeyError(row)
    job = Follower(ctx, provider, row, stop)
    job.began_at = record.sent_at or record.created_at
    task_id = record.task_id
    # Age as the gateway sees it, so the schedule and the deadline carry on where they were.
    created = ctx.timing.clock() - max(0.0, time.time() - (record.sent_at or record.created_at))
    with job.listening() as job.wake:
        if task_id is None:
            # The app stopped between create and reply: an external id, or the gateway's callback, tells.
            found: TaskState | None = None
            if record.external_task_id and isinstance(provider, Lookup):
                try:
                    found = await provider.find_external(record.external_task_id)
                except AvatarDemoError as exc:
                    yield job.unresolved(None, Status.UNKNOWN, Text("job.lookup_failed", error=exc.text))
                    return
                if found is not None and older_than_sent(found, record.sent_at):
                    # Someone else's task under the same id: the gateway refused ours as a duplicate.
                    found = None
                if found is None:
                    reason = Text("job.never_created")
                    job.record(status=Status.FAILED, message=reason)
                    await ctx.withdraw(record.media_token)
                    yield Failed(reason, None)
                    return
            elif job.wake is not None:
                job.record(status=Status.CONFIRMING)
                found = await job.hear_task(created)
            if found is None:
                yield job.unresolved(None, Status.UNKNOWN, Text("job.app_stopped"))
                return
            task_id = found.task_id
            job.adopt(found)
        if record.status.unresolved:
            events = job.check_once(task_id, Unresolved(record.message or "", task_id, record.status))
        else:
            events = job.follow(task_id, created)
        async for event in events:
            if isinstance(event, (Succeeded, Failed)):
                await ctx.withdraw(record.media_token)
            yield event
