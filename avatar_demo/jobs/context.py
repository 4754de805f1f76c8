"""What the runs of one app share, and their clock: history, account lines, files, media host, callbacks, timing."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .schedule import PollSchedule

if TYPE_CHECKING:
    from ..store.accounts import AccountLines
    from ..store.history import History
    from ..store.inputs import InputStore
    from ..store.records import Record
    from ..web.callbacks import CallbackHub

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
    """The clock of a run: poll schedule, deadline, the waits (injectable for tests and benchmarks).

    *now* is the one clock of the job code: wall-clock seconds, so a run's age and deadline carry over
    a restart or another replica taking it over.
    """

    deadline_s: float = 1200.0
    schedule: PollSchedule = field(default_factory=PollSchedule)
    #: Longest pause between polls while the gateway cannot be read.
    unreachable_max_s: float = 60.0
    #: How long a run waiting for capacity waits for word before it looks at its account again itself.
    capacity_check_s: float = 60.0
    #: How often a run's stop flag (settable from any replica) is read while it waits.
    stop_check_s: float = 2.0
    sleep: Sleep = asyncio.sleep
    now: Callable[[], float] = time.time


@dataclass
class JobContext:
    """What every run of one app shares."""

    history: History
    lines: AccountLines
    videos_dir: Path
    kept: InputStore
    media_host: MediaHost | None = None
    callbacks: CallbackHub | None = None
    timing: Timing = field(default_factory=Timing)
    #: Gateway reads in flight at once across every run of the app (a restart may resume many together).
    reads_at_once: int = 16
    #: Settles a run's allowance once it has ended (the house policy's, set by the app).
    on_end: Callable[[Record], None] | None = None

    def new_video(self) -> Path:
        """An unguessable path for a finished video."""
        return self.videos_dir / f"{secrets.token_urlsafe(24)}.mp4"

    async def withdraw(self, folder: str | None) -> None:
        """Remove a run's published media (a URL-only gateway has fetched them, or never will)."""
        if folder is not None and self.media_host is not None:
            await self.media_host.withdraw(folder)
