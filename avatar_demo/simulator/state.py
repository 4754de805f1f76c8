"""The simulator's shared state: tasks with timed status progression, fault knobs, counters and callbacks."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from dataclasses import dataclass

import httpx

from .config import SimulatorConfig
from .media import MediaDesk

__all__ = ["SimTask", "SimulatorState"]

#: The first part of a task's time it spends queued, then running.
QUEUED_PART = 0.2
#: Pauses before each delivery attempt of a callback (the first is immediate).
CALLBACK_RETRIES_S = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


@dataclass
class SimTask:
    """One simulated task."""

    gateway: str
    task_id: str
    created: float
    created_ms: int
    duration_s: float
    will_fail: bool
    audio: bytes | None
    audio_s: float
    mode: str
    prompt: str
    external_task_id: str | None = None
    callback_url: str | None = None

    def phase(self, now: float) -> str:
        """'queued', 'running', 'succeeded' or 'failed' at time *now*."""
        age = now - self.created
        if age >= self.duration_s:
            return "failed" if self.will_fail else "succeeded"
        return "queued" if age < self.duration_s * QUEUED_PART else "running"

    def next_change(self) -> float:
        """When (monotonic) the phase changes next."""
        queued_until = self.created + self.duration_s * QUEUED_PART
        return queued_until if time.monotonic() < queued_until else self.created + self.duration_s


class SimulatorState:
    """Tasks, counters and fault knobs shared by every simulated gateway."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.faults = config.faults
        self.tasks: dict[str, SimTask] = {}
        self.by_external: dict[tuple[str, str], SimTask] = {}
        self.creates: dict[str, int] = {}
        #: Creates refused for capacity, per gateway (the account was full).
        self.refused: dict[str, int] = {}
        self.polls: dict[str, int] = {}
        self.callbacks_sent: list[tuple[str, dict]] = []
        #: Tasks a client asked to cancel.
        self.cancelled: set[str] = set()
        self.tts_audio: dict[str, float] = {}
        self._ids = itertools.count(880_000_000_000_000_001)
        self._random = random.Random(self.faults.seed)
        self._poll_counter = 0
        self._outage_until = 0.0
        self._client: httpx.AsyncClient | None = None
        self._background: set[asyncio.Task[None]] = set()
        #: Fetching and checking what the creates send, and the videos they end with.
        self.media = MediaDesk(self.client)

    # -- ids, faults -------------------------------------------------------------------------
    def new_id(self, style: str = "numeric") -> str:
        """A task id in a gateway's own style: numeric (Kling), task-hex (Modellix), task_n (crun), uuid (fal)."""
        n = next(self._ids)
        if style == "uuid":
            return str(uuid.UUID(int=n))
        return {"task-hex": f"task-{n:x}", "task_n": f"task_{n}"}.get(style, str(n))

    def key_ok(self, gateway: str, key: str | None) -> bool:
        """Whether a plain key is accepted by *gateway*."""
        if not key:
            return False
        keys = self.config.keys
        return keys is None or key in keys.get(gateway, set())

    def poll_fault(self) -> str | None:
        """'429', '5xx' or None for this poll."""
        if time.monotonic() < self._outage_until:
            return "5xx"
        self._poll_counter += 1
        every = self.faults.poll_429_every
        if every and self._poll_counter % every == 0:
            return "429"
        if self.faults.poll_error_rate and self._random.random() < self.faults.poll_error_rate:
            return "5xx"
        return None

    def start_outage(self, seconds: float) -> None:
        """From now on, every poll of every gateway answers 5xx for *seconds*."""
        self._outage_until = time.monotonic() + seconds

    def take(self, knob: str) -> bool:
        """Consume one unit of a counting fault knob."""
        left = getattr(self.faults, knob)
        if left > 0:
            setattr(self.faults, knob, left - 1)
            return True
        return False

    def over_capacity(self, gateway: str) -> bool:
        """Whether a new task would exceed the account's parallel limit (or a capacity fault fires); counted."""
        refused = self.take("capacity_refusals")
        limit = self.config.max_in_flight
        if not refused and limit:
            now = time.monotonic()
            running = sum(1 for t in self.tasks.values()
                          if t.gateway == gateway and t.phase(now) in ("queued", "running"))
            refused = running >= limit
        if refused:
            self.refused[gateway] = self.refused.get(gateway, 0) + 1
        return refused

    # -- tasks -----------------------------------------------------------------------------------
    def add_task(self, gateway: str, *, audio: bytes | None, audio_s: float, mode: str, prompt: str,
                 external_task_id: str | None = None, callback_url: str | None = None,
                 id_style: str = "numeric") -> SimTask:
        """Store a new task that starts its clock now."""
        task = SimTask(
            gateway=gateway, task_id=self.new_id(id_style), created=time.monotonic(),
            created_ms=int(time.time() * 1000), duration_s=self.config.job_seconds,
            will_fail=self.take("failing_tasks"), audio=audio, audio_s=audio_s, mode=mode, prompt=prompt,
            external_task_id=external_task_id, callback_url=callback_url,
        )
        self.tasks[task.task_id] = task
        self.creates[gateway] = self.creates.get(gateway, 0) + 1
        if external_task_id:
            self.by_external[(gateway, external_task_id)] = task
        return task

    def find(self, gateway: str, task_id: str) -> SimTask | None:
        """A task of *gateway* by task id or (Kling family) external id."""
        task = self.tasks.get(task_id)
        if task is None:
            task = self.by_external.get((gateway, task_id))
        return task if task is not None and task.gateway == gateway else None

    def count_poll(self, task: SimTask) -> None:
        """Count a poll for the benchmarks and tests."""
        self.polls[task.task_id] = self.polls.get(task.task_id, 0) + 1

    def spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        """Run a background coroutine (callbacks), keeping a reference until it ends."""
        job = asyncio.get_running_loop().create_task(coro)
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    def client(self) -> httpx.AsyncClient:
        """The one client for the simulator's own requests (media fetches, callbacks): building one per request
        loads the CA bundle each time, which made the simulator the busiest process in a benchmark."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        return self._client

    async def aclose(self) -> None:
        """Close the shared client and remove the received media and placeholder renders."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self.media.aclose()

    async def _deliver(self, url: str, body: dict) -> None:
        # Like fal's webhooks, a delivery that fails is tried again with growing pauses.
        for pause in CALLBACK_RETRIES_S:
            await asyncio.sleep(pause)
            try:
                if (await self.client().post(url, json=body)).status_code == 200:
                    return
            except httpx.HTTPError:
                continue

    async def send_callbacks(self, task: SimTask, payload_for) -> None:  # type: ignore[no-untyped-def]
        """POST the gateway's payload to the task's callback URL on every status change."""
        assert task.callback_url
        seen = None
        while True:
            phase = task.phase(time.monotonic())
            if phase != seen:
                seen = phase
                body = payload_for(task)
                if body is not None:
                    self.callbacks_sent.append((task.task_id, body))
                    self.spawn(self._deliver(task.callback_url, body))
            if phase in ("succeeded", "failed"):
                return
            # Sleep until the next change of status rather than checking all the time.
            await asyncio.sleep(max(0.005, task.next_change() - time.monotonic()))
