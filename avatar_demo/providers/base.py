"""The interface every gateway implements, the optional capabilities some add, and the data that crosses them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from ..core.errors import InputError
from ..core.status import Status
from ..core.text import Text
from .spec import ProviderSpec

__all__ = [
    "AvatarRequest",
    "Cancellable",
    "HasCallbacks",
    "Lookup",
    "MODES",
    "Provider",
    "Status",
    "TaskState",
    "TextToSpeech",
    "TtsRequest",
    "TtsResult",
    "check_prompt",
    "parse_status",
    "raw_word",
]

Mode = Literal["std", "pro"]
#: The modes every gateway offers: std (720p) and pro (1080p).
MODES: tuple[Mode, ...] = get_args(Mode)
MAX_PROMPT = 2500


def check_prompt(prompt: str) -> str:
    """*prompt* when it fits every gateway (MAX_PROMPT characters), else InputError saying by how much it is over."""
    if len(prompt) > MAX_PROMPT:
        raise InputError(Text("input.prompt_too_long", length=len(prompt), limit=MAX_PROMPT,
                              over=len(prompt) - MAX_PROMPT))
    return prompt


def parse_status(word: object, table: Mapping[str, Status]) -> Status:
    """Map a gateway's status word through *table*.

    A reply that names a task proves the task exists, so a word the table does not know (or none) reads as
    "still running" and the task is followed to its end: never "failed", never refunded. The word itself is
    kept by the caller as the TaskState's raw_status, so the page says what the gateway said.
    """
    if isinstance(word, str) and word in table:
        return table[word]
    return Status.RUNNING


def raw_word(word: object) -> str:
    """A gateway's status word as detail ("" when it sent none)."""
    return word if isinstance(word, str) else ""


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
    #: Public URLs of the prepared media, for gateways that fetch them (spec.public_media).
    image_url: str | None = None
    audio_url: str | None = None
    #: The language of the page that asked (the offline preview writes its banner in it).
    language: str = "en"

    def __post_init__(self) -> None:
        if (self.audio is None) == (self.audio_id is None):
            raise InputError(Text("input.one_voice"))
        if self.mode not in MODES:
            raise InputError(Text("input.mode", mode=repr(self.mode)))
        check_prompt(self.prompt)


@dataclass(frozen=True)
class TaskState:
    """What a gateway says about one task at one moment; *raw_status* is its own word, kept as detail."""

    task_id: str
    status: Status
    raw_status: str
    video_url: str | None = None
    duration_s: float | None = None
    #: What the gateway charged, in its own currency, when it says.
    charged: float | None = None
    message: str | None = None
    external_task_id: str | None = None
    #: When the gateway created the task (Unix seconds), when it says.
    created_at: float | None = None


@dataclass(frozen=True)
class TtsRequest:
    """Text-to-speech input."""

    text: str
    voice_id: str
    voice_language: Literal["zh", "en"] = "en"
    voice_speed: float = 1.0

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise InputError(Text("tts.no_text"))
        if len(self.text) > 1000:
            raise InputError(Text("tts.too_long", length=len(self.text), over=len(self.text) - 1000))
        if not 0.8 <= self.voice_speed <= 2.0:
            raise InputError(Text("tts.speed", speed=self.voice_speed))


@dataclass(frozen=True)
class TtsResult:
    """A synthesized voice: the id to pass as audio_id, and where to hear it."""

    audio_id: str
    url: str | None
    duration_s: float | None


@runtime_checkable
class Provider(Protocol):
    """A gateway that runs Kling Avatar tasks: what every provider does.

    Every implementation is built the same way, `Class(config: ProviderConfig, options: ProviderOptions)`.
    """

    spec: ProviderSpec

    async def create(self, request: AvatarRequest) -> TaskState:
        """Send one create; never retried here. Raises GatewayUnreachable(sent=False) only when nothing left."""
        ...

    async def get(self, task_id: str) -> TaskState:
        """Read one task (transient failures are retried by the HTTP layer)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class Lookup(Protocol):
    """Tasks can be found by the external id sent with the create (spec.external_ids)."""

    async def find_external(self, external_task_id: str) -> TaskState | None:
        """The task created with *external_task_id*, or None when the gateway has none."""
        ...

    async def list_tasks(self, page: int = 1, size: int = 30) -> list[TaskState]:
        """Recent tasks, newest first."""
        ...


@runtime_checkable
class TextToSpeech(Protocol):
    """Speech synthesis whose audio id can replace a clip (spec.tts)."""

    async def tts(self, request: TtsRequest) -> TtsResult:
        """Synthesize speech and return an audio id."""
        ...


@runtime_checkable
class HasCallbacks(Protocol):
    """The gateway calls the create's callback URL when the task changes (spec.callbacks)."""

    def callback_status(self, payload: Any) -> Status | None:
        """What a callback body says about the task, in our words; None when it says nothing usable."""
        ...

    def callback_task_id(self, payload: Any) -> str | None:
        """The task a callback body names (it only ever arrives at one task's own URL)."""
        ...


@runtime_checkable
class Cancellable(Protocol):
    """A task can be cancelled on the gateway (spec.cancel)."""

    async def cancel(self, task_id: str) -> bool:
        """Ask the gateway to cancel; True when it accepted (a finished task cannot be cancelled)."""
        ...
