"""The simulated gateways' media desk: fetching inputs, Kling's checks on them, and the placeholder videos."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import itertools
import shutil
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError

from ..media.ffmpeg import probe_duration, run_ffmpeg

__all__ = ["MediaDesk", "MediaProblem"]


class MediaProblem(ValueError):
    """Input media a real gateway would refuse."""


def _b64(value: str, what: str) -> bytes:
    if value.startswith("data:"):
        raise MediaProblem(f"{what} must be raw base64 without a data: prefix")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MediaProblem(f"{what} is neither a URL nor valid base64") from None


class MediaDesk:
    """Received media and rendered placeholders, in a folder of their own; identical inputs are measured and
    rendered once, so concurrency runs reuse one clip."""

    def __init__(self, client: Callable[[], httpx.AsyncClient]) -> None:
        self._client = client
        self._work = Path(tempfile.mkdtemp(prefix="avatar-sim-"))
        self._names = itertools.count(1)
        self._audio_seconds: dict[str, float] = {}
        self._renders: dict[float, Path] = {}
        self._render_lock = asyncio.Lock()

    async def fetch(self, value: str, what: str) -> bytes:
        """The bytes of a URL or raw base64 field, as a gateway would obtain them."""
        if value.startswith(("http://", "https://")):
            try:
                response = await self._client().get(value)
            except httpx.HTTPError:
                raise MediaProblem(f"{what} URL could not be fetched") from None
            if response.status_code != 200:
                raise MediaProblem(f"{what} URL answered HTTP {response.status_code}")
            return response.content
        return _b64(value, what)

    @staticmethod
    def check_image(data: bytes) -> None:
        """Kling's image rules: JPG/PNG, ≤10 MB, sides ≥300 px, aspect 1:2.5–2.5:1."""
        if len(data) > 10 * 1024 * 1024:
            raise MediaProblem("image exceeds 10MB")
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt, (w, h) = img.format, img.size
        except (UnidentifiedImageError, OSError):
            raise MediaProblem("image format is not supported") from None
        if fmt not in ("JPEG", "PNG"):
            raise MediaProblem(f"image format {fmt} is not supported (jpg/jpeg/png)")
        if min(w, h) < 300:
            raise MediaProblem(f"image dimensions {w}x{h} are below 300px")
        if not 0.4 <= w / h <= 2.5:
            raise MediaProblem(f"image aspect ratio {w}:{h} is outside 1:2.5~2.5:1")

    async def check_audio(self, data: bytes, limit_s: float) -> float:
        """Kling's audio rules: mp3/wav/m4a/aac, ≤5 MB, 2 s to *limit_s*; returns the duration."""
        if len(data) > 5 * 1024 * 1024:
            raise MediaProblem("sound_file exceeds 5MB")
        digest = hashlib.sha256(data).hexdigest()
        duration = self._audio_seconds.get(digest)
        if duration is None:
            duration = self._audio_seconds[digest] = await self._measure_audio(data)
        if not 2.0 <= duration <= limit_s + 0.05:
            raise MediaProblem(f"sound_file duration {duration:.1f}s is outside 2-{limit_s:.0f}s")
        return duration

    async def _measure_audio(self, data: bytes) -> float:
        # The container's header is enough to learn the length and the codec, as a gateway's check would; a WAV
        # that is more than its `fmt ` and one `data` chunk is read by ffmpeg, as a gateway would play it.
        try:
            with wave.open(io.BytesIO(data), "rb") as wav:
                if 44 + wav.getnframes() * wav.getsampwidth() * wav.getnchannels() == len(data):
                    return wav.getnframes() / wav.getframerate()
        except (wave.Error, EOFError, ZeroDivisionError):
            pass  # not a PCM WAV: ffmpeg reads the header
        path = self._work / f"in-{next(self._names)}"
        path.write_bytes(data)
        proc = await asyncio.to_thread(run_ffmpeg, ["-i", str(path)])
        path.unlink(missing_ok=True)
        text = proc.stderr.decode("utf-8", "replace")
        duration = probe_duration(text)
        if duration is None or not any(f"Audio: {codec}" in text for codec in ("mp3", "pcm_", "aac")):
            raise MediaProblem("sound_file format is not supported (mp3/wav/m4a/aac)")
        return duration

    async def video(self, audio_s: float) -> Path:
        """A real MP4 *audio_s* long: a placeholder picture and tone, rendered once per length.

        What the video shows does not matter to the app; rendering one per task would make the
        simulator, not the app, the busiest process in a benchmark.
        """
        length = round(audio_s, 1)
        # Tasks that end together ask at once: one render per length, written aside and moved in, so no
        # request streams a file another render is rewriting (the app then stored a broken video).
        async with self._render_lock:
            rendered = self._renders.get(length)
            if rendered is None or not rendered.exists():
                rendered = self._work / f"placeholder-{length:.1f}s.mp4"
                partial = rendered.with_suffix(".partial.mp4")
                proc = await asyncio.to_thread(run_ffmpeg, [
                    "-y", "-v", "error", "-f", "lavfi", "-i", "color=c=0x335577:s=320x320:r=10",
                    "-f", "lavfi", "-i", "sine=frequency=220", "-map", "0:v", "-map", "1:a", "-c:a", "aac",
                    "-t", f"{audio_s:.3f}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(partial)])
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr.decode("utf-8", "replace"))
                partial.replace(rendered)
                self._renders[length] = rendered
        return rendered

    async def aclose(self) -> None:
        """Remove the received media and placeholder renders."""
        await asyncio.to_thread(shutil.rmtree, self._work, True)
