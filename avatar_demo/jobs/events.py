"""The typed events of one job, in our own status words; the last one a job yields is an Ending."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import AvatarDemoError
from ..core.status import Status
from ..providers.spec import Cost

__all__ = ["Ending", "Event", "Failed", "Progress", "Submitted", "Succeeded", "Unresolved"]


@dataclass(frozen=True)
class Submitted:
    """The gateway accepted the task; its id is recorded."""

    row: int
    provider: str
    task_id: str
    external_task_id: str | None
    status: Status = Status.QUEUED


@dataclass(frozen=True)
class Progress:
    """Where the job stands now: after every poll, and while waiting or unable to reach the gateway."""

    status: Status
    #: The gateway's own word for it, if it said one.
    detail: str
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
    charged: Cost | None
    elapsed_s: float
    polls: int
    status: Status = Status.DONE
    #: What the gateway said along with the video, if anything (the offline preview: no face was found).
    note: str | None = None


@dataclass(frozen=True)
class Failed:
    """The job ended without a video and nothing more will happen: refused before a task existed, or the
    gateway says the task failed. *reason* is safe to show a user."""

    reason: str
    task_id: str | None
    error: AvatarDemoError | None = None
    status: Status = Status.FAILED


@dataclass(frozen=True)
class Unresolved:
    """The job stopped being followed, but the gateway may still finish and bill it (or may have created it).

    *reason* says so plainly, names the task id when there is one, and where it will show up.
    """

    reason: str
    task_id: str | None
    status: Status


Ending = Succeeded | Failed | Unresolved
Event = Submitted | Progress | Succeeded | Failed | Unresolved
