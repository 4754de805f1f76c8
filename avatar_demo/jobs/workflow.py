"""A run as one DBOS workflow: inputs ready → create → follow → fetch the video → record the end.

The same steps run the first time and after any restart: a recovered workflow replays the steps it
checkpointed and carries on at the first one it had not finished. Each step reads the run's state
from the shared store and is safe to run twice. Loaded with the engine (it imports DBOS).
"""

from __future__ import annotations

import logging
from typing import Any

from dbos import DBOS
from sqlalchemy.exc import SQLAlchemyError

from .create import ENDED, WAIT
from .engine import Engine
from .queues import CHECK, RUN, workflow_id

__all__ = ["CAPACITY", "RUN", "check_workflow", "run_workflow"]

log = logging.getLogger(__name__)
#: The topic on which a run waiting for capacity hears that its account has room.
CAPACITY = "capacity"


def _store_failed(exc: BaseException) -> bool:
    # A write the store refused (a full disk, a lost server) is tried again; anything else is a bug, said once.
    return isinstance(exc, SQLAlchemyError)


def _step() -> Any:
    return DBOS.step(retries_allowed=True, should_retry=_store_failed, interval_seconds=1.0, backoff_rate=2.0,
                     max_attempts=8)


@_step()
async def inputs_step(app: str, row: int) -> dict[str, str | None] | None:
    """The kept inputs are there (and published for URL-only gateways); None: the run ended (recorded)."""
    return await Engine.shared().app(app).steps.inputs(row)


@_step()
async def create_step(app: str, row: int, urls: dict[str, str | None]) -> str:
    """The task id, WAIT, or ENDED."""
    return await Engine.shared().app(app).steps.create(row, urls)


@_step()
async def follow_step(app: str, row: int, task_id: str) -> dict[str, Any] | None:
    """The finished task's facts to fetch, or None (the run's ending is recorded)."""
    return await Engine.shared().app(app).steps.follow(row, task_id)


@_step()
async def fetch_step(app: str, row: int, task_id: str, found: dict[str, Any]) -> None:
    await Engine.shared().app(app).steps.fetch(row, task_id, found)


@_step()
async def check_step(app: str, row: int) -> dict[str, Any] | None:
    """One more look at an unresolved run: the facts to fetch if it has finished, else None."""
    return await Engine.shared().app(app).steps.check(row)


@_step()
async def broken_step(app: str, row: int) -> None:
    """A step failed unexpectedly: the run ends saying what may still happen (and be billed)."""
    await Engine.shared().app(app).steps.broken(row)


@_step()
async def close_step(app: str, row: int) -> int | None:
    """Settle the run's books and release its gateway place; returns the waiting run that now has room."""
    return await Engine.shared().app(app).steps.close(row)


async def _room_for(app: str, row: int | None) -> None:
    if row is not None:
        await DBOS.send_async(workflow_id(app, row), "room", topic=CAPACITY)


@DBOS.workflow(name=RUN)
async def run_workflow(app: str, row: int) -> None:
    """One run, start to end."""
    try:
        urls = await inputs_step(app, row)
        if urls is not None:
            created = await create_step(app, row, urls)
            while created == WAIT:
                # Woken when a task of the account ends; the timeout only makes it look at its account again.
                await DBOS.recv_async(CAPACITY, timeout_seconds=Engine.shared().app(app).ctx.timing.capacity_check_s)
                created = await create_step(app, row, urls)
            if created != ENDED:
                found = await follow_step(app, row, created)
                if found is not None:
                    await fetch_step(app, row, created, found)
    except Exception:  # noqa: BLE001 - a bug must not lose the run: it ends saying it may still bill
        log.exception("run %s of app %s: a step failed", row, app)
        await broken_step(app, row)
    await _room_for(app, await close_step(app, row))


@DBOS.workflow(name=CHECK)
async def check_workflow(app: str, row: int) -> None:
    """An unresolved run looked at once more (its owner came back): fetched and recorded if it has finished."""
    try:
        found = await check_step(app, row)
        if found is not None:
            await fetch_step(app, row, found["task_id"], found)
    except Exception:  # noqa: BLE001 - the run stays as it was recorded
        log.exception("run %s of app %s: the check failed", row, app)
    await _room_for(app, await close_step(app, row))
