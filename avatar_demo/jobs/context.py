"""What jobs share in one process, and their clock: history, video folder, media host, callbacks, timing."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..store.journal import Recorder
from ..web.callbacks import CallbackHub
from .schedule import CapacityPolicy, PollSchedule

__all__ = ["JobContext", "MediaHost", "Timing", "new_external_id"]

Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class MediaHost(Protocol):
    """Somewhere files can be put, in a folder per job, so that a URL-only gateway can download them."""

    async def publish(self, folder: str, path: Path) -> str:
        """Make *path* downloadable under *folder* (a random token) and return its public URL."""
        ...

    async def withdraw(self, folder: str) -> None:
        """Remove everything published under *folder*."""
        ...


def new_external_id() -> str:
    """A fresh idempotency key for a create on a gateway that takes one."""
    return f"avatar-demo-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Timing:
    """The clock of a job: poll schedule, capacity waits, deadline (injectable for tests and benchmarks)."""

    deadline_s: float = 1200.0
    schedule: PollSchedule = field(default_factory=PollSchedule)
    capacity: CapacityPolicy = field(default_factory=CapacityPolicy)
    #: Longest pause between polls while the gateway cannot be read.
    unreachable_max_s: float = 60.0
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass
class JobContext:
    """What every job of one process shares."""

    recorder: Recorder
    videos_dir: Path
    media_host: MediaHost | None = None
    callbacks: CallbackHub | None = None
    timing: Timing = field(default_factory=Timing)
    #: Bounds the gateway reads in flight at once, across every job (None: unbounded).
    reads: asyncio.Semaphore | None = None

    def new_video(self) -> Path:
        """An unguessable path for a finished video."""
        return self.videos_dir / f"{secrets.token_urlsafe(24)}.mp4"

    async def withdraw(self, folder: str | None) -> None:
        """Remove a job's published media (a URL-only gateway has fetched them, or never will)."""
        if folder is not None and self.media_host is not None:
            await self.media_host.withdraw(folder)
