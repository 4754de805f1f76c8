"""Submit a task and follow it to a local video: one async generator of typed events for UI, CLI and tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from .callbacks import CallbackHub, Wakeup
from .download import download_video
from .errors import (
    AmbiguousCreate,
    AvatarDemoError,
    CapacityError,
    GatewayUnreachable,
    PollTimeout,
    RequestRejected,
    ServerError,
    TaskFailed,
)
from .history import History
from .polling import CapacityPolicy, PollSchedule
from .providers.base import AvatarRequest, Provider, Status, TaskState

__all__ = ["Event", "Failed", "Progress", "Submitted", "Succeeded", "follow_task", "new_external_id", "run_job"]


@dataclass(frozen=True)
class Submitted:
    """The gateway accepted the task; its id is in the history."""

    provider: str
    task_id: str
    external_task_id: str | None
    row: int


@dataclass(frozen=True)
class Progress:
    """A status update: after every poll, and while waiting for capacity."""

    status: Status | None
    raw_status: str
    elapsed_s: float
    task_id: str | None
    polls: int
    note: str = ""


@dataclass(frozen=True)
class Succeeded:
    """The video is ready at a local path."""

    task_id: str
    video_path: Path
    duration_s: float | None
    units: float | None
    elapsed_s: float
    polls: int


@dataclass(frozen=True)
class Failed:
    """The job ended without a video; *reason* is safe to show a user."""

    reason: str
    task_id: str | None
    error: AvatarDemoError


Event = Submitted | Progress | Succeeded | Failed
Sleep = Callable[[float], Awaitable[None]]


def new_external_id() -> str:
    """A fresh idempotency key for a Kling-family create."""
    return f"avatar-demo-{uuid.uuid4().hex}"


@dataclass
class _Runner:
    provider: Provider
    history: History
    videos_dir: Path
    deadline_s: float
    schedule: PollSchedule
    capacity: CapacityPolicy
    sleep: Sleep
    clock: Callable[[], float]
    #: Rung by the gateway's callbacks for this task, when the app receives them.
    wake: Wakeup | None = None

    async def pause(self, seconds: float) -> None:
        """Wait before the next poll; a callback for this task cuts the wait short."""
        if self.wake is None:
            await self.sleep(seconds)
        else:
            await self.wake.pause(seconds)

    def next_delay(self, age: float) -> float:
        # Once a callback has arrived the gateway can reach us: it brings the result, polls are the backstop.
        schedule = self.schedule.relaxed() if self.wake is not None and self.wake.heard else self.schedule
        return schedule.next_delay(age)

    async def create(self, request: AvatarRequest, row: int, started: float) -> AsyncIterator[Progress | TaskState]:
        """Send the create, waiting out capacity refusals and resolving ambiguous outcomes by external id."""
        capacity_waits = 0
        resends = 0
        while True:
            try:
                yield await self.provider.create(request)
                return
            except CapacityError as exc:
                capacity_waits += 1
                if capacity_waits >= self.capacity.attempts:
                    raise
                wait = self.capacity.delay(capacity_waits, exc.retry_after)
                yield Progress(None, "waiting", self.clock() - started, None, 0,
                               note=f"{exc.message}; trying again in {wait:.0f} s")
                await self.sleep(wait)
            except (GatewayUnreachable, ServerError) as exc:
                # The create may have landed. Never send a second one blind.
                ext = request.external_task_id
                if not (self.provider.supports_external_id and ext):
                    raise AmbiguousCreate(self.provider.label, str(exc).split(": ", 1)[-1]) from None
                found = await self.provider.find_external(ext)
                if found is not None:
                    yield found
                    return
                resends += 1
                if resends > 2:
                    raise
                # Re-sending with the same external id is safe: a duplicate is refused, not billed.
                yield Progress(None, "resending", self.clock() - started, None, 0,
                               note="the create got no clear answer and no task exists under its id; sending it again")
            except RequestRejected as exc:
                ext = request.external_task_id
                if ext and "already exist" in exc.message.lower():
                    found = await self.provider.find_external(ext)
                    if found is not None:
                        yield found
                        return
                raise

    async def follow(self, row: int, task_id: str, created_at: float, started: float) -> AsyncIterator[Event]:
        """Poll until the task ends or the deadline passes, then download the video."""
        polls = 0
        while True:
            age = self.clock() - created_at
            if age >= self.deadline_s:
                raise PollTimeout(self.provider.label, task_id, age)
            await self.pause(min(self.next_delay(age), max(0.0, self.deadline_s - age)))
            state = await self.provider.get(task_id)
            polls += 1
            self.history.update(row, status=state.status.value, message=state.message)
            elapsed = self.clock() - started
            yield Progress(state.status, state.raw_status, elapsed, task_id, polls)
            if state.status is Status.FAILED:
                self.history.update(row, status="failed", message=state.message or "failed", units=state.units)
                raise TaskFailed(self.provider.label, task_id, state.message or "the gateway gave no reason")
            if state.status is Status.SUCCEEDED:
                assert state.video_url is not None  # parse_* guarantees it
                dest = self.videos_dir / f"{self.provider.name}-{_safe(task_id)}.mp4"
                path = await download_video(state.video_url, dest)
                self.history.update(row, status="succeeded", video_path=str(path), duration_s=state.duration_s, units=state.units)
                yield Succeeded(task_id, path, state.duration_s, state.units, self.clock() - started, polls)
                return


def _safe(task_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in task_id)[:100]


def _failure(exc: AvatarDemoError, task_id: str | None, history: History, row: int) -> Failed:
    if task_id is None:
        # No task id: refused (nothing charged), or ambiguous on a gateway that cannot be asked.
        history.update(row, status="unknown" if isinstance(exc, AmbiguousCreate) else "failed", message=str(exc))
    elif not isinstance(exc, TaskFailed):
        # The status stays as last seen: the task may still finish, and a resume picks it up.
        history.update(row, message=str(exc))
    return Failed(str(exc), task_id, exc)


async def run_job(
    provider: Provider,
    request: AvatarRequest,
    *,
    history: History,
    videos_dir: Path,
    owner: str | None = None,
    changes: list[str] | None = None,
    deadline_s: float = 1200.0,
    schedule: PollSchedule | None = None,
    capacity: CapacityPolicy | None = None,
    callbacks: CallbackHub | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Event]:
    """Create the task, record it, follow it, download the video; yields events and ends on Succeeded or Failed."""
    if provider.supports_external_id and not request.external_task_id:
        request = replace(request, external_task_id=new_external_id())
    hub = _usable(callbacks, provider)
    if hub is not None and not request.callback_url:
        request = replace(request, callback_url=hub.url)
    runner = _Runner(provider, history, Path(videos_dir), deadline_s, schedule or PollSchedule(),
                     capacity or CapacityPolicy(), sleep, clock)
    row = history.begin(provider.name, owner=owner, prompt=request.prompt, mode=request.mode,
                        external_task_id=request.external_task_id, changes=changes)
    started = clock()
    task_id: str | None = None
    with hub.listen(request.external_task_id) if hub else nullcontext() as runner.wake:
        try:
            state: TaskState | None = None
            async for item in runner.create(request, row, started):
                if isinstance(item, Progress):
                    yield item
                else:
                    state = item
            assert state is not None
            task_id = state.task_id
            history.update(row, task_id=task_id, status=state.status.value)
            if hub is not None:
                hub.attach(runner.wake, task_id)
            yield Submitted(provider.name, task_id, request.external_task_id, row)
            async for event in runner.follow(row, task_id, started, started):
                yield event
        except AvatarDemoError as exc:
            yield _failure(exc, task_id, history, row)


def _usable(callbacks: CallbackHub | None, provider: Provider) -> CallbackHub | None:
    # Only when the app has a public address and the gateway can call one.
    return callbacks if callbacks is not None and callbacks.url and provider.supports_callback else None


async def follow_task(
    provider: Provider,
    row: int,
    *,
    history: History,
    videos_dir: Path,
    deadline_s: float = 1200.0,
    schedule: PollSchedule | None = None,
    callbacks: CallbackHub | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Event]:
    """Resume following a recorded task (after a reload or restart)."""
    record = history.get(row)
    if record is None:
        raise KeyError(row)
    runner = _Runner(provider, history, Path(videos_dir), deadline_s, schedule or PollSchedule(),
                     CapacityPolicy(), sleep, clock)
    task_id = record.task_id
    try:
        if task_id is None:
            # The process stopped between create and reply: the external id tells whether it landed.
            found = await provider.find_external(record.external_task_id) if record.external_task_id else None
            if found is None:
                reason = "The task was never created (nothing was charged); generate again"
                history.update(row, status="failed", message=reason)
                yield Failed(reason, None, AvatarDemoError(reason))
                return
            task_id = found.task_id
            history.update(row, task_id=task_id, status=found.status.value)
        # Age as the gateway sees it, so the poll schedule and deadline carry on where they were.
        age = max(0.0, time.time() - record.created_at)
        created = clock() - age
        hub = _usable(callbacks, provider)
        # The callback URL is stable across restarts, so a resumed task still wakes its follower.
        with hub.listen(task_id, record.external_task_id) if hub else nullcontext() as runner.wake:
            async for event in runner.follow(row, task_id, created, clock()):
                yield event
    except AvatarDemoError as exc:
        yield _failure(exc, task_id, history, row)
