"""Media preparation: pure functions that make a photo and a voice clip acceptable to the gateways.

It owns reading and fixing photos (image and its decoders), preparing voices (audio: pydub's edits in
voice_edit, measuring and limiting in loudness, writing in voice_output, refusals in voice_refusals),
running ffmpeg (ffmpeg), finding a face offline (face, with OpenCV loaded on first use by opencv) and
rendering the offline preview (preview, its motion in preview_motion and its face warp in preview_warp).
It may import only `core`: no Gradio, no HTTP, no storage, so every function here runs the same in the
app, the command line and a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError
from ..core.text import Text
from .audio import PreparedAudio, prepare_audio
from .ffmpeg import ffmpeg_exe
from .image import PreparedImage, prepare_image
from .opencv import cv2
from .vips_decode import load_vips

__all__ = ["PreparedAudio", "PreparedImage", "PreparedMedia", "prepare_audio", "prepare_image", "prepare_media",
           "settle_environment"]


@dataclass(frozen=True)
class PreparedMedia:
    """Both prepared inputs of one generation."""

    image: PreparedImage
    audio: PreparedAudio

    @property
    def changes(self) -> list[str]:
        """Every change made, labelled by input."""
        return ([Text("change.photo", change=c) for c in self.image.changes]
                + [Text("change.voice", change=c) for c in self.audio.changes])

    @property
    def warnings(self) -> list[str]:
        """Doubts worth showing before a paid submit (the inputs are still usable)."""
        return [Text("change.photo", change=w) for w in self.image.warnings]


async def prepare_media(
    image: str | os.PathLike[str],
    audio: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    start: float = 0.0,
    max_seconds: float = 60.0,
) -> PreparedMedia:
    """Prepare photo and voice side by side; on any refusal nothing is left in *out_dir*.

    The two run in threads at once: ffmpeg and Pillow's decoders both release the GIL.
    """
    out = Path(out_dir)
    created = not out.exists()
    image_task = asyncio.to_thread(prepare_image, image, out)
    audio_task = asyncio.to_thread(prepare_audio, audio, out, start=start, max_seconds=max_seconds)
    results = await asyncio.gather(image_task, audio_task, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for result in results:
            if not isinstance(result, BaseException):
                result.path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise failures[0]
    image_result, audio_result = results
    return PreparedMedia(image=image_result, audio=audio_result)  # type: ignore[arg-type]


def settle_environment() -> None:
    """Load now the libraries that edit the process environment as they load (libvips, OpenCV, the ffmpeg check).

    For when code that is not ours is about to start a child with the inherited environment while our threads may
    be preparing media (Gradio's share tunnel): see children.py. Everything else loads them on first use.
    """
    for load in (load_vips, cv2, ffmpeg_exe):
        # A library that cannot load says so where it is used, in words the page shows.
        with contextlib.suppress(ImportError, OSError, ConfigError):
            load()
