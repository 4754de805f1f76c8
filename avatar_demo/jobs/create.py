"""Send a task's create without ever paying twice, then hand it to the follow.

- The history row is begun before the create leaves; the task id is recorded right after.
- Capacity refusals (and a connection that never opened) are definite: waited out and sent again.
- A create that may have landed is never re-sent blind: the Kling family looks it up by its external
  id first; gateways without one are never re-sent and the outcome is reported as unknown.
- A task is adopted only if this job created it: its own external id, sent by this job.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace

from ..core.errors import (
    AvatarDemoError,
    CapacityError,
    ConfigError,
    GatewayError,
    GatewayUnreachable,
    RateLimited,
    RequestRejected,
    ServerError,
)
from ..core.status import Status
from ..core.text import Text
from ..providers.base import AvatarRequest, Lookup, Provider, TaskState
from ..store.history import RunFacts
from .context import JobContext, new_external_id
from .events import Event, Failed, Progress, Submitted, Succeeded
from .follow import Follower, older_than_sent

__all__ = ["begin_job", "run_job"]

#: Creates that failed to connect (nothing sent) are tried this many times in all.
CONNECT_ATTEMPTS = 3
#: Creates re-sent under the same external id after a lookup found no task.
RESENDS = 2


class _Unclear(Exception):
    """A create's outcome is unknown on a gateway that cannot be asked."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _NewJob(Follower):
    """A job whose create is still to be sent."""

    def __init__(self, ctx: JobContext, provider: Provider, row: int, request: AvatarRequest,
                 stop: asyncio.Event | None) -> None:
        super().__init__(ctx, provider, row, stop)
        self.request = request
        self.sent_at: float | None = None

    async def lookup(self) -> TaskState | None:
        """The task created under this job's external id, provided it is this job's."""
        assert isinstance(self.provider, Lookup) and self.request.external_task_id
        found = await self.provider.find_external(self.request.external_task_id)
        if found is not None and older_than_sent(found, self.sent_at):
            raise self.id_in_use()
        return found

    def id_in_use(self) -> RequestRejected:
        return RequestRejected(self.label, Text("job.id_in_use", id=self.request.external_task_id),
                               hint=Text("hint.choose_another_id"))

    def can_look_up(self) -> bool:
        """Whether the gateway can be asked for the task under this job's external id."""
        return bool(self.spec.external_ids and isinstance(self.provider, Lookup) and self.request.external_task_id)

    async def resolve(self, detail: str) -> TaskState | None:
        """After an unclear answer: the task under our external id, or None when there is none."""
        failures = 0
        while True:
            try:
                return await self.lookup()
            except (GatewayUnreachable, ServerError, RateLimited) as exc:
                # The create may have landed: keep asking rather than guess, until the deadline.
                failures += 1
                if self.elapsed() > self.ctx.timing.deadline_s:
                    raise _Unclear(detail) from exc
                await self.pause(self.next_delay(0, failures))

    async def create(self) -> AsyncIterator[Progress | TaskState]:
        """Send the create until it is accepted or definitely refused; the last item is the TaskState."""
        capacity = self.ctx.timing.capacity
        waits = connects = resends = 0
        while True:
            if self.sent_at is None:
                self.sent_at = time.time()
                self.record(sent_at=self.sent_at)
            try:
                yield await self.provider.create(self.request)
                return
            except (CapacityError, RateLimited) as exc:
                # A refusal: nothing was created, so sending it again later is safe.
                waits += 1
                if waits >= capacity.attempts:
                    raise
                wait = capacity.delay(waits, exc.retry_after)
                self.record(status=Status.WAITING)
                yield Progress(Status.WAITING, "", self.elapsed(), None, 0,
                               note=Text("job.capacity_wait", reason=exc.message, seconds=round(wait)))
                await self.pause(wait)
            except (GatewayUnreachable, ServerError) as exc:
                if isinstance(exc, GatewayUnreachable) and not exc.sent:
                    connects += 1
                    if connects >= CONNECT_ATTEMPTS:
                        raise
                    yield Progress(Status.SUBMITTING, "", self.elapsed(), None, 0, note=Text("job.connect_retry"))
                    await self.pause(self.next_delay(0, connects))
                    continue
                # The gateway's own words, without its advice: after an unclear create nobody should "try again".
                detail = exc.message if isinstance(exc, GatewayError) else str(exc).split(": ", 1)[-1]
                if not self.can_look_up():
                    if self.wake is None:
                        raise _Unclear(detail)
                    # Never sent again; the gateway's callback to this task's own URL will say what it made.
                    self.record(status=Status.CONFIRMING)
                    yield Progress(Status.CONFIRMING, "", self.elapsed(), None, 0,
                                   note=Text("job.confirming", detail=detail, provider=self.label))
                    heard = await self.hear_task(self.started)
                    if heard is None:
                        raise _Unclear(detail)
                    yield heard
                    return
                found = await self.resolve(detail)
                if found is not None:
                    yield found
                    return
                resends += 1
                if resends > RESENDS:
                    raise
                yield Progress(Status.SUBMITTING, "", self.elapsed(), None, 0, note=Text("job.resend"))
            except RequestRejected as exc:
                if "already exist" not in exc.message.lower() or not self.request.external_task_id:
                    raise
                if resends == 0:
                    # Sent once only, so the id was used before this job: never adopt someone else's task.
                    raise self.id_in_use() from None
                found = await self.lookup()
                if found is None:
                    raise
                yield found
                return

    async def publish(self) -> str | None:
        """Put the media where a URL-only gateway can fetch them; returns the folder to withdraw later."""
        host = self.ctx.media_host
        if not (self.spec.public_media and host is not None):
            return None
        folder = secrets.token_urlsafe(18)
        self.record(media_token=folder)
        try:
            image_url = await host.publish(folder, self.request.image)
            audio_url = await host.publish(folder, self.request.audio) if self.request.audio else None
        except Exception as exc:  # noqa: BLE001 - a disk, network or Hub failure; nothing was sent yet
            await self.ctx.withdraw(folder)
            raise ConfigError(Text("job.publish_failed", provider=self.label, error=type(exc).__name__)) from None
        self.request = replace(self.request, image_url=image_url, audio_url=audio_url)
        return folder

    async def run(self) -> AsyncIterator[Event]:
        """The whole job: publish media, create, record the task id, follow."""
        task_id: str | None = None
        folder: str | None = None
        try:
            folder = await self.publish()
            with self.listening() as self.wake:
                state: TaskState | None = None
                async for item in self.create():
                    if isinstance(item, Progress):
                        yield item
                    else:
                        state = item
                assert state is not None
                task_id = state.task_id
                recorded = self.adopt(state)
                yield Submitted(self.row, self.spec.name, task_id, self.request.external_task_id, recorded, state.status)
                async for event in self.follow(task_id, self.started):
                    if isinstance(event, (Succeeded, Failed)):
                        await self.ctx.withdraw(folder)
                    yield event
        except _Unclear as unclear:
            yield self.unresolved(None, Status.UNKNOWN, unclear.detail)
        except AvatarDemoError as exc:
            if task_id is not None:
                raise  # the follow never raises these: a bug must not be reported as a refusal
            await self.ctx.withdraw(folder)
            self.record(status=Status.FAILED, message=exc.text)
            yield Failed(exc.text, None, exc)


def begin_job(provider: Provider, request: AvatarRequest, ctx: JobContext, *, owner: str | None = None,
              changes: list[str] | None = None, byo_key: bool = False,
              facts: RunFacts | None = None) -> tuple[int, AvatarRequest]:
    """Check the history takes writes, record the job (with *facts*: batch, parent, kept inputs, estimate), and
    complete its request (external id, callback URL).

    Raises ConfigError (nothing is sent) when the data dir cannot record it.
    """
    if provider.spec.external_ids and not request.external_task_id:
        request = replace(request, external_task_id=new_external_id())
    ctx.recorder.ready()
    row = ctx.recorder.begin(provider.spec.name, owner=owner, prompt=request.prompt, mode=request.mode,
                             external_task_id=request.external_task_id, changes=changes, byo_key=byo_key,
                             facts=facts)
    callback = ctx.callbacks.url_for(row) if ctx.callbacks is not None and provider.spec.callbacks else None
    if callback and not request.callback_url:
        request = replace(request, callback_url=callback)
    return row, request


async def run_job(provider: Provider, request: AvatarRequest, ctx: JobContext, *, owner: str | None = None,
                  changes: list[str] | None = None, stop: asyncio.Event | None = None, byo_key: bool = False,
                  row: int | None = None) -> AsyncIterator[Event]:
    """Create the task, record it, follow it, download the video; yields events and ends with an Ending.

    Pass *row* and the request begin_job() returned when the job was begun already.
    """
    if row is None:
        try:
            row, request = begin_job(provider, request, ctx, owner=owner, changes=changes, byo_key=byo_key)
        except AvatarDemoError as exc:
            yield Failed(exc.text, None, exc)
            return
    async for event in _NewJob(ctx, provider, row, request, stop).run():
        yield event
