"""The bodies of a run's steps, for the engine's workflow: each builds the run from the shared store and acts.

What cannot be stored lives here, in this process only: a visitor's own key (never written anywhere),
the gateway object a step hands to the next (the offline preview renders inside it), and each run's
stop signal. A replica that recovers a run started with a visitor's own key cannot send or follow it,
and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..core.errors import AvatarDemoError, ConfigError
from ..core.status import Status
from ..core.text import Text
from ..providers.base import Cancellable, Lookup, Provider
from ..store.history import Record
from .context import JobContext
from .create import ENDED, create_task, publish_inputs
from .follow import fetch_video, follow_task
from .run import Run, older_than_sent

__all__ = ["MakeProvider", "Steps"]

log = logging.getLogger(__name__)
#: Builds a gateway object for a provider name with a visitor's own key (None: the app's key).
MakeProvider = Callable[[str, "str | None"], Provider]


class _KeyGone(Exception):
    """The run was started with a visitor's own key, which this process does not have."""


class Steps:
    """The step bodies of one app's runs, and the per-run state this process holds for them."""

    def __init__(self, ctx: JobContext, make_provider: MakeProvider) -> None:
        self.ctx = ctx
        self.make_provider = make_provider
        self.keys: dict[int, str] = {}
        self._gateways: dict[int, Provider] = {}
        self._stops: dict[int, asyncio.Event] = {}
        self._reads: asyncio.Semaphore | None = None
        #: The engine's event loop, where every step runs.
        self.loop: asyncio.AbstractEventLoop | None = None

    def _stop(self, row: int) -> asyncio.Event:
        return self._stops.setdefault(row, asyncio.Event())

    def stop_here(self, row: int) -> None:
        """Cut this process's waits for *row* short (its stop flag is already stored). Safe from any thread."""
        event = self._stops.get(row)
        if event is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(event.set)

    def _gateway(self, record: Record) -> Provider:
        gateway = self._gateways.get(record.id)
        if gateway is None:
            key = self.keys.get(record.id)
            if record.byo_key and key is None:
                raise _KeyGone
            gateway = self._gateways[record.id] = self.make_provider(record.provider, key)
        return gateway

    def _run(self, row: int) -> Run:
        record = self.ctx.history.get(row)
        if record is None:
            raise RuntimeError(f"run {row} is not in the history")
        if self._reads is None:
            self.loop = asyncio.get_running_loop()
            self._reads = asyncio.Semaphore(self.ctx.reads_at_once)
        return Run(self.ctx, self._gateway(record), record, self._stop(row), self._reads)

    def _key_gone(self, row: int, *, following: bool) -> None:
        record = self.ctx.history.get(row)
        assert record is not None
        if following or record.sent_at is not None:
            self.ctx.history.update(row, status=Status.STOPPED, message=Text(
                "job.byo_restart", task=record.task_id or Text("job.no_id_yet"), provider=record.provider))
        else:
            self.ctx.history.update(row, status=Status.FAILED, message=Text("job.byo_not_sent"))

    async def inputs(self, row: int) -> dict[str, str | None] | None:
        try:
            run = self._run(row)
            if not run.record.status.active or run.record.task_id:
                return {}  # the create step knows what to do with a run that ended or has its task
            return await publish_inputs(run)
        except _KeyGone:
            self._key_gone(row, following=False)
        except ConfigError as exc:
            self.ctx.history.update(row, status=Status.FAILED, message=exc.text)
        return None

    async def create(self, row: int, urls: dict[str, str | None]) -> str:
        try:
            return await create_task(self._run(row), urls)
        except _KeyGone:
            self._key_gone(row, following=False)
            return ENDED

    async def follow(self, row: int, task_id: str) -> dict[str, Any] | None:
        try:
            return await follow_task(self._run(row), task_id)
        except _KeyGone:
            self._key_gone(row, following=True)
            return None

    async def fetch(self, row: int, task_id: str, found: dict[str, Any]) -> None:
        await fetch_video(self._run(row), task_id, found)

    async def check(self, row: int) -> dict[str, Any] | None:
        """One look at an unresolved run: its facts to fetch when it finished; a failure or a found task recorded."""
        try:
            run = self._run(row)
        except _KeyGone:
            return None
        record = run.record
        if not record.status.unresolved:
            return None
        try:
            if record.task_id is None:
                if not (record.external_task_id and isinstance(run.provider, Lookup)):
                    return None
                found = await run.provider.find_external(record.external_task_id)
                if found is None or older_than_sent(found, record.sent_at):
                    run.save(status=Status.FAILED, message=Text("job.never_created"))
                    return None
                run.save(task_id=found.task_id, status=Status.OVERDUE,
                         message=Text("job.overdue", task=found.task_id, provider=run.label))
                state = found
            else:
                state = await run.read(record.task_id)
        except AvatarDemoError:
            return None  # still unresolved; the next look may say more
        if state.status is Status.FAILED:
            run.save(status=Status.FAILED, units=state.charged, message=Text(
                "job.task_failed", provider=run.label, task=state.task_id,
                reason=Text.verbatim(state.message) if state.message else Text("job.no_reason")))
            return None
        if state.status is Status.DONE:
            return {"task_id": state.task_id, "video_url": state.video_url, "duration_s": state.duration_s,
                    "charged": state.charged, "message": state.message, "raw": state.raw_status}
        return None

    async def broken(self, row: int) -> None:
        record = self.ctx.history.get(row)
        if record is None or not record.status.active:
            return
        if record.task_id:
            status, key = Status.OVERDUE, "job.follow_broke"
        elif record.sent_at is not None:
            status, key = Status.UNKNOWN, "job.create_broke"
        else:
            status, key = Status.FAILED, "job.broke_before_sending"
        self.ctx.history.update(row, status=status, message=Text(key, task=record.task_id, provider=record.provider))

    async def close(self, row: int) -> int | None:
        """The run has ended: its media withdrawn, its books settled, its gateway object closed; returns the run
        waiting at its account that now has room."""
        record = self.ctx.history.get(row)
        assert record is not None
        if record.status.active:
            log.error("run %s closed while %s; recorded as stopped", row, record.status.value)
            self.ctx.history.update(row, status=Status.STOPPED, message=Text(
                "job.stopped", task=record.task_id, provider=record.provider))
            record = self.ctx.history.get(row)
            assert record is not None
        if record.status.final or record.status is Status.UNCLEAR:
            await self.ctx.withdraw(record.media_token)
        if self.ctx.on_end is not None:
            self.ctx.on_end(record)
        gateway = self._gateways.pop(row, None)
        if gateway is not None:
            await gateway.aclose()
        if not record.status.unresolved:
            self.keys.pop(row, None)  # an unresolved run keeps it, in memory only, for a later look
        self._stops.pop(row, None)
        return self.ctx.lines.release(record.account or record.provider)

    async def cancel_at_gateway(self, record: Record) -> None:
        """Ask the gateway to cancel a running task, where it can (a visitor's own key only while it is here).

        Runs on the engine's loop, where the run's gateway object lives."""
        try:
            gateway = self._gateway(record)
        except _KeyGone:
            return
        if record.task_id and gateway.spec.cancel and isinstance(gateway, Cancellable):
            try:
                await gateway.cancel(record.task_id)
            except AvatarDemoError as exc:
                log.info("cancelling task %s failed: %s", record.task_id, exc)
        self.stop_here(record.id)
