"""The one interface every gateway implements, and the data that crosses it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from ..errors import InputError, UnexpectedReply

__all__ = [
    "AvatarRequest",
    "Provider",
    "Status",
    "TaskState",
    "TtsRequest",
    "TtsResult",
    "parse_status",
]

Mode = Literal["std", "pro"]


class Status(enum.Enum):
    """The internal task status every gateway's words map onto."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """Whether the task has finished, one way or the other."""
        return self in (Status.SUCCEEDED, Status.FAILED)


def parse_status(provider: str, word: object, table: Mapping[str, Status]) -> Status:
    """Map a gateway's status word through *table*; an unknown word is an error, never "running"."""
    if isinstance(word, str) and word in table:
        return table[word]
    raise UnexpectedReply(provider, f"unknown task status {word!r}", hint="the gateway's contract may have changed")


@dataclass(frozen=True)
class AvatarRequest:
    """One generation: a prepared photo and exactly one voice source."""

    image: Path
    audio: Path | None = None
    audio_id: str | None = None
    prompt: str = ""
    mode: Mode = "std"
    audio_duration_s: float | None = None
    watermark: bool | None = None
    callback_url: str | None = None
    external_task_id: str | None = None

    def __post_init__(self) -> None:
        if (self.audio is None) == (self.audio_id is None):
            raise InputError("Give exactly one voice source: an audio file or a text-to-speech audio id")
        if self.mode not in ("std", "pro"):
            raise InputError(f"Mode must be 'std' or 'pro', got {self.mode!r}")
        if len(self.prompt) > 2500:
            raise InputError(f"The prompt is {len(self.prompt)} characters; the limit is 2500")


@dataclass(frozen=True)
class TaskState:
    """What a gateway says about one task at one moment."""

    task_id: str
    status: Status
    raw_status: str
    video_url: str | None = None
    duration_s: float | None = None
    units: float | None = None
    message: str | None = None
    external_task_id: str | None = None


@dataclass(frozen=True)
class TtsRequest:
    """Text-to-speech input for the Kling family."""

    text: str
    voice_id: str
    voice_language: Literal["zh", "en"] = "en"
    voice_speed: float = 1.0

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise InputError("Type the text to speak")
        if len(self.text) > 1000:
            raise InputError(f"The text is {len(self.text)} characters; text-to-speech takes at most 1000")
        if not 0.8 <= self.voice_speed <= 2.0:
            raise InputError(f"Voice speed must be between 0.8 and 2.0, got {self.voice_speed:g}")


@dataclass(frozen=True)
class TtsResult:
    """A synthesized voice: the id to pass as audio_id, and where to hear it."""

    audio_id: str
    url: str | None
    duration_s: float | None


@runtime_checkable
class Provider(Protocol):
    """A gateway that runs Kling Avatar tasks."""

    name: str
    label: str
    #: Whether creates carry an external_task_id that can be looked up after an ambiguous create.
    supports_external_id: bool
    #: Whether creates take a callback_url that the gateway calls on status changes.
    supports_callback: bool
    supports_tts: bool
    max_audio_s: float

    async def create(self, request: AvatarRequest) -> TaskState:
        """Send one create; never retried here."""
        ...

    async def get(self, task_id: str) -> TaskState:
        """Read one task (retrying transient failures)."""
        ...

    async def find_external(self, external_task_id: str) -> TaskState | None:
        """Look a task up by its external id; None when the gateway has no such task."""
        ...

    async def list_tasks(self, page: int = 1, size: int = 30) -> list[TaskState]:
        """Recent tasks, newest first, where the gateway offers a list."""
        ...

    async def tts(self, request: TtsRequest) -> TtsResult:
        """Synthesize speech and return an audio_id (Kling family only)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
