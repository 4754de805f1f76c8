"""The offline preview provider: renders in-process with ffmpeg, no key and no network."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from ..errors import AvatarDemoError, ConfigError, NotFound
from ..media.preview import render_preview
from ..media.ffmpeg import media_duration
from .base import AvatarRequest, Status, TaskState, TtsRequest, TtsResult

__all__ = ["LocalProvider"]


class LocalProvider:
    """Renders an offline preview video as a background task, polled like a gateway."""

    name = "local"
    label = "Offline preview"
    max_audio_s = 300.0
    supports_external_id = False
    supports_callback = False
    supports_tts = False

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self._tasks: dict[str, asyncio.Task[Path]] = {}
        self._durations: dict[str, float] = {}

    async def create(self, request: AvatarRequest) -> TaskState:
        """Start rendering in a worker thread and return at once."""
        if request.audio is None:
            raise ConfigError("The offline preview needs an audio file, not a text-to-speech audio id")
        task_id = f"local-{secrets.token_hex(8)}"
        duration = request.audio_duration_s or await asyncio.to_thread(media_duration, request.audio) or 0.0
        out = self.work_dir / f"{task_id}.mp4"
        self._durations[task_id] = duration
        self._tasks[task_id] = asyncio.create_task(
            asyncio.to_thread(render_preview, request.image, request.audio, out, duration_s=duration)
        )
        return TaskState(task_id=task_id, status=Status.RUNNING, raw_status="rendering")

    async def get(self, task_id: str) -> TaskState:
        """The render's state; the video "URL" is a file:// path on this machine."""
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFound(self.label, f"no preview task {task_id} in this process",
                           hint="offline previews do not survive a restart; generate again")
        if not task.done():
            return TaskState(task_id=task_id, status=Status.RUNNING, raw_status="rendering")
        exc = task.exception()
        if exc is not None:
            reason = str(exc) if isinstance(exc, AvatarDemoError) else "rendering failed"
            return TaskState(task_id=task_id, status=Status.FAILED, raw_status="failed", message=reason)
        return TaskState(
            task_id=task_id,
            status=Status.SUCCEEDED,
            raw_status="done",
            video_url=task.result().as_uri(),
            duration_s=self._durations.get(task_id),
            units=0.0,
        )

    async def find_external(self, external_task_id: str) -> TaskState | None:
        """Local tasks have no external ids."""
        return None

    async def list_tasks(self, page: int = 1, size: int = 30) -> list[TaskState]:
        """The renders of this process, newest first."""
        ids = list(self._tasks)[::-1][(page - 1) * size : page * size]
        return [await self.get(task_id) for task_id in ids]

    async def tts(self, request: TtsRequest) -> TtsResult:
        """No speech synthesis offline."""
        raise ConfigError("Text to speech needs a Kling-family provider (Kling, CometAPI or KKIAI)")

    async def aclose(self) -> None:
        """Nothing to close; renders in flight finish on their own."""
