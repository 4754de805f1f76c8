"""Render the offline preview: the portrait moving with the voice's loudness, as an H.264/AAC MP4."""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core.errors import InputError
from .ffmpeg import ffmpeg_exe, run_ffmpeg

__all__ = ["FPS", "PREVIEW_LABEL", "render_preview"]

FPS = 25
#: Long side of the preview video; small enough to render 60 s in well under real time.
PREVIEW_SIDE = 640
#: Loudness is quantized to this many poses; each pose is drawn once and reused.
LEVELS = 16
PREVIEW_LABEL = "OFFLINE PREVIEW - not a Kling render"
_ENVELOPE_RATE = 8000


def _envelope(audio: Path, frames: int) -> np.ndarray:
    """Per-frame loudness in 0..1, with a quick attack and slower release like a VU meter."""
    proc = run_ffmpeg(["-i", str(audio), "-ac", "1", "-ar", str(_ENVELOPE_RATE), "-f", "s16le", "pipe:1"])
    if proc.returncode != 0:
        raise InputError(f"Could not read the prepared voice clip {audio.name}")
    samples = np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0
    hop = _ENVELOPE_RATE / FPS
    rms = np.zeros(frames, dtype=np.float32)
    for i in range(frames):
        chunk = samples[int(i * hop) : int((i + 1) * hop)]
        if chunk.size:
            rms[i] = float(np.sqrt(np.mean(chunk * chunk)))
    ref = float(np.percentile(rms, 95)) or 1.0
    level = np.clip(rms / ref, 0.0, 1.0)
    smooth = np.zeros_like(level)
    for i in range(frames):
        prev = smooth[i - 1] if i else 0.0
        coeff = 0.6 if level[i] > prev else 0.25
        smooth[i] = prev + coeff * (level[i] - prev)
    return smooth


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


def _canvas_size(width: int, height: int) -> tuple[int, int]:
    scale = PREVIEW_SIDE / max(width, height)
    # H.264 in yuv420p needs even sides.
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _poses(portrait: Image.Image, size: tuple[int, int]) -> list[bytes]:
    """One frame per loudness level: a zoom toward the lower face, a nod and a level meter."""
    w, h = size
    base = portrait.resize(size, Image.Resampling.BILINEAR)
    font = _font(max(12, h // 24))
    frames = []
    for level in range(LEVELS):
        amount = level / (LEVELS - 1)
        zoom = 1.0 + 0.08 * amount
        zw, zh = w / zoom, h / zoom
        # Anchor the zoom at 60 % height, roughly the mouth of a head-and-shoulders portrait,
        # and lift it a little with the voice so the head appears to nod.
        cx, cy = w / 2, h * 0.6 - h * 0.02 * amount
        box = (cx - zw / 2, cy - zh * 0.6, cx + zw / 2, cy + zh * 0.4)
        frame = base.transform(size, Image.Transform.EXTENT, box, Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(frame, "RGBA")
        band = max(16, h // 14)
        draw.rectangle((0, 0, w, band), fill=(0, 0, 0, 170))
        draw.text((w / 2, band / 2), PREVIEW_LABEL, fill=(255, 255, 255, 255), font=font, anchor="mm")
        meter = round((w - 2 * band) * amount)
        draw.rectangle((band, h - band, w - band, h - band // 2), fill=(0, 0, 0, 140))
        if meter:
            draw.rectangle((band, h - band, band + meter, h - band // 2), fill=(80, 200, 120, 230))
        frames.append(frame.tobytes())
    return frames


def render_preview(image: str | os.PathLike[str], audio: str | os.PathLike[str], out: str | os.PathLike[str], *, duration_s: float) -> Path:
    """Render *out* (MP4, H.264 + AAC) as long as the voice clip, moving with its loudness."""
    image, audio, out = Path(image), Path(audio), Path(out)
    frames = max(1, math.ceil(duration_s * FPS))
    envelope = _envelope(audio, frames)
    with Image.open(image) as src:
        portrait = src.convert("RGB")
    size = _canvas_size(*portrait.size)
    poses = _poses(portrait, size)
    indices = np.rint(envelope * (LEVELS - 1)).astype(int)

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".preview-", suffix=".mp4", dir=out.parent)
    os.close(fd)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "pipe:0",
        "-i", str(audio),
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k",
        "-t", f"{duration_s:.3f}", "-movflags", "+faststart",
        "-metadata", f"title={PREVIEW_LABEL}", "-metadata", "comment=Offline preview rendered by Avatar Demo",
        "-f", "mp4", tmp_name,
    ]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors)  # noqa: S603
        assert proc.stdin is not None
        try:
            for index in indices:
                proc.stdin.write(poses[index])
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
        code = proc.wait()
        errors.seek(0)
        detail = errors.read().decode("utf-8", "replace").strip().splitlines()
    if code != 0:
        Path(tmp_name).unlink(missing_ok=True)
        raise InputError(f"The offline preview could not be rendered: {detail[-1] if detail else code}")
    os.replace(tmp_name, out)
    return out
