"""The offline preview provider: renders in-process with ffmpeg, no key and no network."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import AvatarDemoError, InputError, NotFound
from ..core.status import Status
from ..core.text import Text
from ..media.ffmpeg import media_duration
from .base import AvatarRequest, TaskState
from .spec import ProviderConfig, ProviderOptions, ProviderSpec

if TYPE_CHECKING:
    from ..media.preview import Preview

__all__ = ["SPEC", "LocalProvider"]

SPEC = ProviderSpec(name="local", label=Text("provider.local"), implementation="local:LocalProvider",
                    in_process=True, typical_s=10.0)


#: Said with a finished preview whose photo had no face the preview could animate.
NO_FACE_NOTE = Text("preview.no_face")


def _render(image: Path, audio: Path, out: Path, duration: float, request: AvatarRequest) -> Preview:
    # The renderer and its face warp load with the first preview, not with the app (start-up budget).
    from ..media.preview import render_preview

    try:
        return render_preview(image, audio, out, duration_s=duration, prompt=request.prompt, mode=request.mode,
                              language=request.language)
    finally:
        shutil.rmtree(image.parent, ignore_errors=True)


class LocalProvider:
    """Renders an offline preview video as a background task, polled like a gateway."""

    spec = SPEC

    def __init__(self, config: ProviderConfig, options: ProviderOptions) -> None:
        self.work_dir = Path(options.work_dir or tempfile.mkdtemp(prefix="avatar-preview-"))
        self._tasks: dict[str, asyncio.Task[Preview]] = {}
        self._durations: dict[str, float] = {}

    async def create(self, request: AvatarRequest) -> TaskState:
        """Start rendering in a worker thread and return at once."""
        if request.audio is None:
            raise InputError(Text("preview.needs_audio"))
        task_id = f"local-{secrets.token_hex(8)}"
        duration = request.audio_duration_s or await asyncio.to_thread(media_duration, request.audio) or 0.0
        # Like a gateway, the renderer takes its own copy of the media when it accepts the job.
        inputs = self.work_dir / task_id
        inputs.mkdir(parents=True)
        image, audio = inputs / request.image.name, inputs / request.audio.name
        await asyncio.to_thread(shutil.copyfile, request.image, image)
        await asyncio.to_thread(shutil.copyfile, request.audio, audio)
        self._durations[task_id] = duration
        self._tasks[task_id] = asyncio.create_task(
            asyncio.to_thread(_render, image, audio, self.work_dir / f"{task_id}.mp4", duration, request))
        return TaskState(task_id=task_id, status=Status.RUNNING, raw_status="rendering")

    async def get(self, task_id: str) -> TaskState:
        """The render's state; the video "URL" is a file:// path on this machine.

        A finished render says which of the prompt's words it followed ("preview: nod, zoom in") and
        anything else worth knowing (no face found, upscaled, no blinks).
        """
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFound(SPEC.label, Text("preview.no_task", task=task_id), hint=Text("hint.preview_restart"))
        if not task.done():
            return TaskState(task_id=task_id, status=Status.RUNNING, raw_status="rendering")
        self._tasks.pop(task_id)
        duration = self._durations.pop(task_id, None)
        exc = task.exception()
        if exc is not None:
            reason = str(exc) if isinstance(exc, AvatarDemoError) else "rendering failed"
            return TaskState(task_id=task_id, status=Status.FAILED, raw_status="failed", message=reason)
        preview = task.result()
        return TaskState(task_id=task_id, status=Status.DONE, raw_status="rendered",
                         video_url=preview.path.as_uri(), duration_s=duration, charged=0.0,
                         message=preview.message)

    async def aclose(self) -> None:
        """Nothing to close; renders in flight finish on their own."""
