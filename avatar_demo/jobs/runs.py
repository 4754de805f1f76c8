"""The job core's face: start a run, watch it, stop it, look at it again. Every run, paid or free, from every entry
point, is one workflow of the durable engine."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

from .. import providers
from ..core.errors import ConfigError, DiskFull
from ..core.status import Status
from ..core.text import Text
from ..store.database import DatabaseError
from ..store.history import Record, RunFacts
from .context import JobContext, new_external_id
from .engine import Engine
from .events import Event, Failed, Succeeded, Unresolved
from .lines import LineRules
from .queues import workflow_id
from .steps import MakeProvider, Steps
from .watch import Signals, waiting_note, watch_run

__all__ = ["Runs"]

log = logging.getLogger(__name__)


class Runs:
    """The runs of one app (one history), on the process's engine."""

    def __init__(self, ctx: JobContext, make_provider: MakeProvider, rules: LineRules, *, system_url: str,
                 executor_id: str, engine: Engine | None = None) -> None:
        """*system_url* is where the engine keeps its workflows; *executor_id* names this replica to it."""
        self.ctx = ctx
        self.system_url = system_url
        self.executor_id = executor_id
        self.attached = False
        self.rules = rules
        self.app_id = rules.app
        self.steps = Steps(ctx, make_provider)
        self.engine = engine or Engine.shared()
        self.signals = Signals()
        ctx.history.on_change = self.signals.ring

    def attach(self) -> None:
        """Join the process's engine (launched in the background the first time; recovers this replica's unfinished
        runs when it launches). Idempotent."""
        if not self.attached:
            self.attached = True
            left = self.ctx.history.in_flight()
            if left:
                # Launching the engine carries each of them on at the step it was in.
                log.info("the engine picked up %d run(s) left unfinished", left)
            self.engine.attach(self, system_url=self.system_url, executor_id=self.executor_id)

    def load_workflows(self) -> None:
        """The engine launches with the run workflows registered (DBOS must know them to recover them)."""
        from . import workflow  # noqa: F401 - loads DBOS: only in the engine's launch thread, never at start-up

    def detach(self) -> None:
        """Leave the engine (it stops with the last app of the process)."""
        if self.attached:
            self.attached = False
            self.engine.detach(self.app_id)

    async def begin(self, provider: str, *, owner: str | None, prompt: str, mode: str,
                    external_task_id: str | None = None, changes: list[str] | None = None,
                    facts: RunFacts | None = None, visitor: str | None = None, user_key: str | None = None) -> int:
        """Record a run before anything is sent for it; returns its row. DiskFull or ConfigError (nothing recorded,
        nothing sent) when the store refuses."""
        spec = providers.spec(provider)
        if spec.external_ids and not external_task_id:
            external_task_id = new_external_id()
        facts = replace(facts or RunFacts(), account=self.rules.account(spec, user_key), visitor=visitor)
        try:
            row = await asyncio.to_thread(self.ctx.history.begin, provider, owner=owner, prompt=prompt, mode=mode,
                                          external_task_id=external_task_id, changes=changes, byo_key=bool(user_key),
                                          facts=facts)
        except DatabaseError as exc:
            if DiskFull.caused(exc):
                raise DiskFull("the history cannot be written") from None
            raise ConfigError(Text("store.history_unwritable", error=type(exc).__name__)) from None
        if user_key:
            self.steps.keys[row] = user_key
        return row

    async def queue(self, row: int) -> None:
        """Put a begun run in its account's line. When the engine cannot take it, the run ends (nothing sent, its
        allowance given back) and ConfigError says so."""
        record = self.ctx.history.get(row)
        assert record is not None
        spec = providers.spec(record.provider)
        queue, partition = self.rules.queue(spec, record.account or spec.name, record.visitor)
        self.attach()
        try:
            await self.engine.enqueue(queue, self.app_id, row, partition)
        except Exception as exc:
            log.exception("run %s could not be put in line", row)
            self.ctx.history.update(row, status=Status.FAILED, message=Text("engine.not_queued"))
            await self.steps.close(row)
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(Text("engine.not_queued")) from exc

    async def start(self, provider: str, **fields: object) -> int:
        """begin() and queue(): a run recorded and in its line."""
        row = await self.begin(provider, **fields)  # type: ignore[arg-type]
        await self.queue(row)
        return row

    def get(self, row: int) -> Record | None:
        return self.ctx.history.get(row)

    async def watch(self, row: int) -> AsyncIterator[Event]:
        """Run *row*'s events from where it stands until it ends (read from the shared store). The ending comes
        once the run's books are settled, so whoever watches reads an allowance that includes it."""
        async for event in watch_run(self.ctx.history, self.signals, row, videos=self.ctx.videos_dir,
                                     limit=self._limit, now=self.ctx.timing.now):
            if isinstance(event, (Succeeded, Failed, Unresolved)):
                await self.engine.closed(self.app_id, row)
            yield event

    def shown(self, record: Record) -> Record:
        """*record* as a person should read it: a run in line says where it stands and about how long it waits."""
        if record.status is not Status.PENDING:
            return record
        return replace(record, message=waiting_note(self.ctx.history, record, self._limit(record)))

    def _limit(self, record: Record) -> int:
        spec = providers.spec(record.provider)
        return self.ctx.lines.learned(record.account or spec.name) or self.rules.limit(spec)

    async def stop(self, row: int) -> Status | None:
        """Stop a run: one in line is cancelled (nothing sent, nothing charged); one sent is no longer followed,
        and cancelled at the gateway where it can be. Returns where it stands, None when it had ended."""
        history = self.ctx.history
        if history.set_status_if(row, [Status.PENDING, Status.WAITING], status=Status.CANCELLED,
                                 message=Text("job.cancelled"), stop=1):
            record = history.get(row)
            if record is not None and self.ctx.on_end is not None:
                self.ctx.on_end(record)  # settled now; the workflow, when it reaches the run, only confirms it
            return Status.CANCELLED
        record = history.get(row)
        if record is None or not record.status.active:
            return None
        history.update(row, stop=1)
        loop = self.steps.loop
        if loop is not None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.steps.cancel_at_gateway(record), loop))
        return Status.STOPPED

    async def look_again(self, owner: str | None) -> int:
        """Look once more at *owner*'s runs that may still finish (their page came back); returns how many."""
        if not owner:
            return 0
        records = await asyncio.to_thread(self.ctx.history.unresolved, owner)
        if records:
            await self.engine.ready()
            from .workflow import check_workflow  # loaded with the engine

            for record in records:
                await self.engine.start(check_workflow, f"{workflow_id(self.app_id, record.id)}-check-"
                                                        f"{secrets.token_hex(6)}", self.app_id, record.id)
        return len(records)
