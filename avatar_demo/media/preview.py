"""Render the offline preview: the portrait's face talking with the voice (else the whole photo moving), as an MP4."""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core.errors import InputError
from ..core.text import Text
from .face import Face, find_face
from .ffmpeg import ffmpeg_exe, run_ffmpeg
from .preview_motion import blinks, frame_rms, meter_level, mouth_openness, sway
from .preview_warp import FaceRig

__all__ = ["FPS", "PREVIEW_LABEL", "Preview", "render_preview"]

FPS = 25
#: Long side of the preview video; small enough to render 60 s in well under real time.
PREVIEW_SIDE = 640
#: Without a face, loudness is quantized to this many poses; each is drawn once and reused.
LEVELS = 16
PREVIEW_LABEL = "OFFLINE PREVIEW - not a Kling render"
_ENVELOPE_RATE = 8000
# Two encoder threads: the renderer itself keeps a core busy drawing frames, and several
# previews may render at once, so more threads would only contend.
_ENCODER_THREADS = "2"


@dataclass(frozen=True)
class Preview:
    """A rendered preview, and the face it animated (in the photo's pixels); None: no face, the whole photo moved."""

    path: Path
    face: Face | None


def _voice_rms(audio: Path, frames: int) -> np.ndarray:
    """The voice's RMS loudness shown with each frame."""
    proc = run_ffmpeg(["-i", str(audio), "-ac", "1", "-ar", str(_ENVELOPE_RATE), "-f", "s16le", "pipe:1"])
    if proc.returncode != 0:
        raise InputError(Text("preview.voice_unreadable", name=audio.name))
    samples = np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0
    return frame_rms(samples, _ENVELOPE_RATE, frames, FPS)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


def _canvas_size(width: int, height: int) -> tuple[int, int]:
    scale = PREVIEW_SIDE / max(width, height)
    # H.264 in yuv420p needs even sides.
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _band_height(height: int) -> int:
    return max(16, height // 14)


def _label(frame: Image.Image) -> None:
    """The band across the top that says what this video is."""
    w, h = frame.size
    band = _band_height(h)
    draw = ImageDraw.Draw(frame, "RGBA")
    draw.rectangle((0, 0, w, band), fill=(0, 0, 0, 170))
    draw.text((w / 2, band / 2), PREVIEW_LABEL, fill=(255, 255, 255, 255), font=_font(max(12, h // 24)), anchor="mm")


def _face_frames(base: Image.Image, face: Face, rms: np.ndarray) -> Iterator[np.ndarray]:
    """Frames in which only the face moves: jaw with the voice, blinks, a slow sway."""
    _label(base)
    canvas = np.array(base)
    rig = FaceRig(canvas, face, top=_band_height(base.height))
    frames = rms.size
    openness, closure = mouth_openness(rms), blinks(frames, FPS)
    motion = sway(frames, FPS, face.box.h)
    for i in range(frames):
        rig.draw(canvas, float(openness[i]), float(closure[i]), float(motion.dx[i]), float(motion.dy[i]),
                 float(motion.roll[i]))
        yield canvas


def _whole_photo_frames(base: Image.Image, rms: np.ndarray) -> Iterator[bytes]:
    """Frames for a photo without a face: a zoom toward the lower middle, a nod and a level meter."""
    w, h = base.size
    poses = []
    for level in range(LEVELS):
        amount = level / (LEVELS - 1)
        zoom = 1.0 + 0.08 * amount
        zw, zh = w / zoom, h / zoom
        # Anchor the zoom at 60 % height, roughly the mouth of a head-and-shoulders portrait,
        # and lift it a little with the voice so the head appears to nod.
        cx, cy = w / 2, h * 0.6 - h * 0.02 * amount
        box = (cx - zw / 2, cy - zh * 0.6, cx + zw / 2, cy + zh * 0.4)
        frame = base.transform(base.size, Image.Transform.EXTENT, box, Image.Resampling.BILINEAR)
        _label(frame)
        draw = ImageDraw.Draw(frame, "RGBA")
        band = _band_height(h)
        meter = round((w - 2 * band) * amount)
        draw.rectangle((band, h - band, w - band, h - band // 2), fill=(0, 0, 0, 140))
        if meter:
            draw.rectangle((band, h - band, band + meter, h - band // 2), fill=(80, 200, 120, 230))
        poses.append(frame.tobytes())
    for index in np.rint(meter_level(rms) * (LEVELS - 1)).astype(int):
        yield poses[index]


def _encode(frames: Iterable[bytes | np.ndarray], size: tuple[int, int], audio: Path, duration_s: float,
            out: Path) -> None:
    """Stream *frames* (RGB24) into ffmpeg with the voice; *out* appears only when the whole MP4 is written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".preview-", suffix=".mp4", dir=out.parent)
    os.close(fd)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "pipe:0",
        "-i", str(audio),
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-threads", _ENCODER_THREADS,
        "-c:a", "aac", "-b:a", "128k",
        "-t", f"{duration_s:.3f}", "-movflags", "+faststart",
        "-metadata", f"title={PREVIEW_LABEL}", "-metadata", "comment=Offline preview rendered by Avatar Demo",
        "-f", "mp4", tmp_name,
    ]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors)  # noqa: S603
        assert proc.stdin is not None
        try:
            for frame in frames:
                proc.stdin.write(frame)  # one frame at a time: memory stays bounded whatever the length
        except BrokenPipeError:
            pass  # ffmpeg stopped early; its exit code and message say why
        except BaseException:
            proc.kill()
            proc.wait()
            Path(tmp_name).unlink(missing_ok=True)
            raise
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        code = proc.wait()
        errors.seek(0)
        detail = errors.read().decode("utf-8", "replace").strip().splitlines()
    if code != 0:
        Path(tmp_name).unlink(missing_ok=True)
        raise InputError(Text("preview.failed", detail=detail[-1] if detail else f"ffmpeg exit {code}"))
    os.replace(tmp_name, out)


def render_preview(image: str | os.PathLike[str], audio: str | os.PathLike[str], out: str | os.PathLike[str], *,
                   duration_s: float) -> Preview:
    """Render *out* (MP4, H.264 + AAC) as long as the voice clip.

    With a face in the photo, only the face moves: the jaw with the voice's loudness, the eyelids
    in blinks and the head in a slow sway. Without one, the whole photo zooms and nods with the
    voice, and the returned Preview's face is None.
    """
    image, audio, out = Path(image), Path(audio), Path(out)
    frames = max(1, math.ceil(duration_s * FPS))
    rms = _voice_rms(audio, frames)
    try:
        with Image.open(image) as src:
            portrait = src.convert("RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise InputError(Text("preview.photo_unreadable", name=image.name)) from exc
    face = find_face(portrait)
    size = _canvas_size(*portrait.size)
    base = portrait.resize(size, Image.Resampling.BILINEAR)
    del portrait
    if face is None:
        stream: Iterable[bytes | np.ndarray] = _whole_photo_frames(base, rms)
    else:
        stream = _face_frames(base, face.scaled(size), rms)
    _encode(stream, size, audio, duration_s, out)
    return Preview(path=out, face=face)
