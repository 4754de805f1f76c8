"""The durable engine (DBOS Transact): one per process, launched off the request path, shared by the apps in it.

DBOS keeps each run's workflow, its queue place and its step checkpoints in its system database
(SQLite in the data dir, or Postgres), recovers this replica's unfinished workflows when it starts,
and runs queued work at each account's pace. Workflows run on DBOS's own event loop thread; the app
talks to DBOS only from worker threads, so no request loop is ever handed to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa

from ..core.errors import ConfigError
from ..core.text import Text
from .queues import APP_VERSION, RUN, QueueSpec, workflow_id

__all__ = ["App", "Engine"]

log = logging.getLogger(__name__)
#: How often each queue looks for work to start (DBOS polls; a lower figure starts queued runs sooner).
POLL_S = 0.25


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the moment it writes, never to a stream closed since (DBOS keeps the
    handler it finds for the life of the process, across launches)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _subsecond_clock(dbapi_conn: Any, _record: Any) -> None:
    """SQLite learnt unixepoch('subsec') in 3.42; DBOS writes its timestamps with it on Python 3.12+, and Pythons
    built against an older SQLite (Debian 12's is 3.40) get NULL and a failed launch. Same answer, from Python."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.create_function("unixepoch", 1, _unixepoch, deterministic=False)


def _unixepoch(value: Any) -> float | int | None:
    if value in ("subsec", "subsecond"):
        return time.time()
    # This stands in for SQLite's own one-argument unixepoch in every connection of the process, so any other
    # time value gets SQLite's own answer (whole seconds, NULL when it is not a time), from a connection of its own.
    with contextlib.closing(sqlite3.connect(":memory:")) as own:
        return own.execute("SELECT CAST(strftime('%s', ?) AS INTEGER)", (value,)).fetchone()[0]


def _sqlite_clock() -> None:
    """Give every SQLite connection of the process the clock DBOS expects, where the library lacks it."""
    if sqlite3.sqlite_version_info < (3, 42, 0) and not sa.event.contains(sa.engine.Engine, "connect", _subsecond_clock):
        sa.event.listen(sa.engine.Engine, "connect", _subsecond_clock)


def _quiet_dbos() -> None:
    dbos = logging.getLogger("dbos")
    if not dbos.handlers:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(levelname)s dbos: %(message)s"))
        dbos.addHandler(handler)
        dbos.propagate = False


class App(Protocol):
    """An app attached to the engine: its id names its workflows' app, and it registers its workflows."""

    app_id: str

    def load_workflows(self) -> None:
        """Import the workflows' module (DBOS registers them as they are defined), before the engine launches."""
        ...


class Engine:
    """DBOS for this process. Apps attach and detach; the last to leave shuts it down."""

    _shared: Engine | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self._started = threading.Event()
        self._failed: BaseException | None = None
        self._launching = False
        self._queues: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> Engine:
        """The process's engine."""
        with cls._guard:
            if cls._shared is None:
                cls._shared = Engine()
            return cls._shared

    def app(self, app: str) -> Any:
        """The runs of app *app* (a workflow names its app; an app not attached here cannot run it)."""
        found = self.apps.get(app)
        if found is None:
            raise RuntimeError(f"no app {app} in this process")
        return found

    def attach(self, app: App, *, system_url: str, executor_id: str) -> None:
        """Register *app* and launch DBOS in the background if it is not running yet."""
        with self._lock:
            self.apps[app.app_id] = app
            if self._launching:
                return
            self._launching = True
            self._started.clear()
            self._failed = None
        threading.Thread(target=self._launch, args=(app, system_url, executor_id), name="avatar-engine-launch",
                         daemon=True).start()

    def _launch(self, app: App, system_url: str, executor_id: str) -> None:
        try:
            # DBOS (and the workflows it runs) load here, off the start-up path: the first page does not wait.
            from dbos import DBOS

            app.load_workflows()

            _quiet_dbos()
            _sqlite_clock()
            DBOS(config={"name": "avatar-demo", "system_database_url": system_url, "executor_id": executor_id,
                         "application_version": APP_VERSION, "log_level": "WARNING",
                         "notification_listener_polling_interval_sec": POLL_S})
            DBOS.launch()
        except BaseException as exc:  # noqa: BLE001 - reported to every run that waits for the engine
            log.error("the durable engine could not start: %s", exc)
            self._failed = exc
        finally:
            self._started.set()

    async def ready(self) -> None:
        """Wait until DBOS runs; a ConfigError (nothing sent) when it could not start."""
        if not self._started.is_set():
            await asyncio.to_thread(self._started.wait)
        if self._failed is not None:
            raise ConfigError(Text("engine.failed", error=type(self._failed).__name__))

    async def enqueue(self, queue: QueueSpec, app: str, row: int, partition: str | None) -> None:
        """Put run *row* in *queue* (idempotent: its workflow id is the run's)."""
        await self.ready()
        await asyncio.to_thread(self._enqueue, queue, app, row, partition)

    def _enqueue(self, queue: QueueSpec, app: str, row: int, partition: str | None) -> None:
        from dbos import DBOS

        if queue.name not in self._queues:
            DBOS.register_queue(queue.name, global_concurrency=queue.limit, worker_concurrency=queue.per_process,
                                partition_concurrency=queue.per_partition, polling_interval_sec=POLL_S,
                                on_conflict="always_update")
            self._queues.add(queue.name)
        options: dict[str, Any] = {"workflow_name": RUN, "queue_name": queue.name, "workflow_id": workflow_id(app, row),
                                   "app_version": APP_VERSION}
        if queue.per_partition is not None:
            options["queue_partition_key"] = partition or "-"
        DBOS.enqueue_workflow_with_options(options, app, row)  # type: ignore[arg-type]

    async def closed(self, app: str, row: int, *, timeout_s: float = 10.0) -> bool:
        """Wait (up to *timeout_s*) until run *row*'s workflow has finished: its books settled, its place released."""
        if not self._started.is_set() or self._failed is not None:
            return False
        return await asyncio.to_thread(self._closed, workflow_id(app, row), timeout_s)

    def _closed(self, workflow: str, timeout_s: float) -> bool:
        import time

        from dbos import DBOS

        deadline = time.monotonic() + timeout_s
        while True:
            status = DBOS.get_workflow_status(workflow)
            if status is None or status.status not in ("ENQUEUED", "PENDING", "DELAYED"):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    async def recover(self, executors: list[str]) -> int:
        """Take over the unfinished runs of other replicas (they stopped beating): each is put back in line, and
        exactly one replica runs it. Returns how many."""
        await self.ready()

        def recover() -> int:
            from dbos import DBOS

            # The Python call behind DBOS's workflow-recovery admin endpoint.
            return len(DBOS._recover_pending_workflows(executors))

        return await asyncio.to_thread(recover)

    async def start(self, workflow: Callable[..., Any], workflow_id: str, *args: Any) -> None:
        """Start *workflow* now, outside any line, under *workflow_id* (starting it twice starts it once)."""
        await self.ready()
        await asyncio.to_thread(self._start, workflow, workflow_id, args)

    @staticmethod
    def _start(workflow: Callable[..., Any], workflow_id: str, args: tuple[Any, ...]) -> None:
        from dbos import DBOS, SetWorkflowID

        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(workflow, *args)

    def detach(self, app: str) -> None:
        """Forget *app*; shut DBOS down once no app is left (tests; a process serving one app never detaches)."""
        with self._lock:
            self.apps.pop(app, None)
            if self.apps or not self._launching:
                return
            self._launching = False
            self._queues.clear()
        self._started.wait()
        if self._failed is None:
            from dbos import DBOS

            DBOS.destroy(destroy_registry=False)
