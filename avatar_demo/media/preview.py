"""Render the offline preview: the portrait's face talking with the voice (else the whole photo moving), as an MP4."""

from __future__ import annotations

import math
import os
import queue
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageDraw

from ..core.errors import InputError
from ..core.text import Text
from .banner import PREVIEW_LABEL, band_height, draw_banner
from .children import child_env
from .face import Face, find_face
from .face_parts import find_eyes, find_lips
from .ffmpeg import ffmpeg_exe, run_ffmpeg
from .opencv import cv2
from .preview_motion import blinks, frame_rms, head_motion, meter_level, mouth_openness
from .preview_warp import FaceRig
from .preview_words import understood, understood_text

__all__ = ["FPS", "PREVIEW_LABEL", "SHORT_SIDE", "Preview", "render_preview"]

FPS = 25
#: The video's short side per mode, as the model renders it: 720p for std, 1080p for pro.
SHORT_SIDE = {"std": 720, "pro": 1080}
#: x264's preset per mode: 1080p has 2.25 times the pixels of 720p in twice the time budget, so it
#: takes the faster preset (a touch larger file; it also requantises a still background by a grey level
#: now and then, which veryfast does not).
_PRESET = {"std": "veryfast", "pro": "superfast"}
#: Without a face, loudness is quantized to this many poses; each is drawn once and reused.
LEVELS = 16
_ENVELOPE_RATE = 8000
# Two encoder threads: the renderer itself keeps a core busy drawing frames, and several
# previews may render at once, so more threads would only contend.
_ENCODER_THREADS = "2"
#: Frames converted and waiting for the pipe: enough to keep it busy, few enough to keep memory flat.
_FRAMES_AHEAD = 2


@dataclass(frozen=True)
class Preview:
    """A rendered preview, and the face it animated (in the photo's pixels); None: no face, the whole photo moved."""

    path: Path
    face: Face | None
    #: The prompt's motion words the preview followed (preview_words), in order.
    words: tuple[str, ...] = ()
    #: Anything else a person should know about this render (upscaled, no face, no blinks).
    notes: tuple[Text, ...] = ()

    @property
    def message(self) -> Text:
        """What the run says with its video: the words it followed (a face only), then the notes."""
        parts = [understood_text(self.words)] if self.face is not None else []
        parts += self.notes
        said = parts[0]
        for note in parts[1:]:
            said = Text("preview.and", first=said, then=note)
        return said


def _voice_rms(audio: Path, frames: int) -> np.ndarray:
    """The voice's RMS loudness shown with each frame."""
    proc = run_ffmpeg(["-i", str(audio), "-ac", "1", "-ar", str(_ENVELOPE_RATE), "-f", "s16le", "pipe:1"])
    if proc.returncode != 0:
        raise InputError(Text("preview.voice_unreadable", name=audio.name))
    samples = np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0
    return frame_rms(samples, _ENVELOPE_RATE, frames, FPS)


def _canvas_size(width: int, height: int, mode: str) -> tuple[int, int]:
    scale = SHORT_SIDE.get(mode, SHORT_SIDE["std"]) / min(width, height)
    # H.264 in yuv420p needs even sides.
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _zoomed(frame: np.ndarray, zoom: float, centre: tuple[float, float], band: np.ndarray,
            out: np.ndarray) -> np.ndarray:
    """*frame* as the camera sees it zoomed by *zoom* towards *centre*; the banner stays as it was."""
    cx, cy = centre
    matrix = np.array([[zoom, 0, cx * (1 - zoom)], [0, zoom, cy * (1 - zoom)]], dtype=np.float32)
    cv2().warpAffine(frame, matrix, (frame.shape[1], frame.shape[0]), dst=out, flags=cv2().INTER_LINEAR,
                     borderMode=cv2().BORDER_REPLICATE)
    out[: band.shape[0]] = band
    return out


def _face_frames(canvas: np.ndarray, rig: FaceRig, rms: np.ndarray, words: tuple[str, ...], seed: int,
                 face: Face) -> Iterator[np.ndarray]:
    """Frames in which only the face moves (and the camera, when the prompt asks it to zoom)."""
    frames = rms.size
    openness, closure = mouth_openness(rms), blinks(frames, FPS)
    if not rig.blinks:
        closure = np.zeros_like(closure)
    motion = head_motion(words, frames, FPS, face.box.h, seed=seed)
    band = canvas[: band_height(canvas.shape[0])].copy()
    zoomed = np.empty_like(canvas)
    # The camera zooms towards the face, a little above its centre, so the eyes and mouth stay in frame.
    centre = (face.box.centre[0], face.box.centre[1] + 0.1 * face.box.h)
    for i in range(frames):
        rig.draw(canvas, float(openness[i]), float(closure[i]), float(motion.dx[i]), float(motion.dy[i]),
                 float(motion.roll[i]), float(motion.smile[i]))
        zoom = float(motion.zoom[i])
        yield canvas if abs(zoom - 1) < 1e-4 else _zoomed(canvas, zoom, centre, band, zoomed)


def _whole_photo_frames(base: Image.Image, rms: np.ndarray, language: str) -> Iterator[bytes]:
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
        draw_banner(frame, language)
        draw = ImageDraw.Draw(frame, "RGBA")
        band = band_height(h)
        meter = round((w - 2 * band) * amount)
        draw.rectangle((band, h - band, w - band, h - band // 2), fill=(0, 0, 0, 140))
        if meter:
            draw.rectangle((band, h - band, band + meter, h - band // 2), fill=(80, 200, 120, 230))
        poses.append(frame.tobytes())
    for index in np.rint(meter_level(rms) * (LEVELS - 1)).astype(int):
        yield poses[index]


def _pipe(frames: Iterable[bytes | np.ndarray], size: tuple[int, int], stdin: IO[bytes]) -> None:
    """Write *frames* to ffmpeg's *stdin* as YUV 4:2:0, then close it.

    A frame is written by a thread of its own while the next one is drawn: a write waits for the encoder
    to take a whole frame, and both the write and OpenCV let go of the GIL, so the two overlap on two cores.
    """
    ready: queue.Queue[memoryview | None] = queue.Queue(maxsize=_FRAMES_AHEAD)
    failed: list[BaseException] = []

    def write() -> None:
        while (chunk := ready.get()) is not None:
            if failed:
                continue  # ffmpeg stopped: drain, so the drawing side never blocks
            try:
                stdin.write(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the drawing side
                failed.append(exc)

    writer = threading.Thread(target=write, name="preview-pipe", daemon=True)
    writer.start()
    try:
        for frame in frames:
            if failed:
                break
            # Converted here, as ffmpeg's own conversion would (BT.601, TV range): half the bytes
            # through the pipe, and one pass fewer in the encoder's process. A new buffer each time,
            # since the frame itself is drawn over for the next one.
            rgb = frame if isinstance(frame, np.ndarray) else np.frombuffer(frame, np.uint8).reshape(
                size[1], size[0], 3)
            ready.put(cv2().cvtColor(rgb, cv2().COLOR_RGB2YUV_I420).data)
    finally:
        ready.put(None)
        writer.join()
        try:
            stdin.close()
        except BrokenPipeError:
            pass
    if failed and not isinstance(failed[0], BrokenPipeError):
        raise failed[0]  # a broken pipe means ffmpeg stopped early: its exit code and message say why


def _encode(frames: Iterable[bytes | np.ndarray], size: tuple[int, int], audio: Path, duration_s: float,
            out: Path, preset: str = "veryfast") -> None:
    """Stream *frames* (RGB24) into ffmpeg as YUV 4:2:0 with the voice; *out* appears only when the whole MP4 is written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".preview-", suffix=".mp4", dir=out.parent)
    os.close(fd)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "pipe:0",
        "-i", str(audio),
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", preset, "-crf", "23", "-pix_fmt", "yuv420p", "-threads", _ENCODER_THREADS,
        "-c:a", "aac", "-b:a", "128k",
        "-t", f"{duration_s:.3f}", "-movflags", "+faststart",
        "-metadata", f"title={PREVIEW_LABEL}", "-metadata", "comment=Offline preview rendered by Avatar Demo",
        "-f", "mp4", tmp_name,
    ]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors,  # noqa: S603
                                env=child_env())
        assert proc.stdin is not None
        try:
            _pipe(frames, size, proc.stdin)
        except BaseException:
            proc.kill()
            proc.wait()
            Path(tmp_name).unlink(missing_ok=True)
            raise
        code = proc.wait()
        errors.seek(0)
        detail = errors.read().decode("utf-8", "replace").strip().splitlines()
    if code != 0:
        Path(tmp_name).unlink(missing_ok=True)
        raise InputError(Text("preview.failed", detail=detail[-1] if detail else f"ffmpeg exit {code}"))
    os.replace(tmp_name, out)


def _seed(prompt: str) -> int:
    """A number from the prompt's words alone: the same prompt gives the same video, another prompt another."""
    return zlib.crc32(" ".join((prompt or "").lower().split()).encode("utf-8"))


def render_preview(image: str | os.PathLike[str], audio: str | os.PathLike[str], out: str | os.PathLike[str], *,
                   duration_s: float, prompt: str = "", mode: str = "std", language: str = "en") -> Preview:
    """Render *out* (MP4, H.264 + AAC) as long as the voice clip, 720p for std and 1080p for pro (short side).

    With a face in the photo, only the face moves: its own lips part with the voice's loudness, its
    upper lids close in blinks (when both eyes are found clearly) and the head follows the prompt's
    motion words (preview_words) or a slow sway. Without one, the whole photo zooms and nods with the
    voice, and the returned Preview's face is None. The banner is in *language*.
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
    size = _canvas_size(*portrait.size, mode)
    notes: list[Text] = []
    if size[0] > portrait.size[0]:
        # More pixels than the photo has: said, so nobody takes the softness for the model's.
        notes.append(Text("preview.upscaled", w=portrait.size[0], h=portrait.size[1], new_w=size[0], new_h=size[1]))
    resample = Image.Resampling.LANCZOS if size[0] > portrait.size[0] else Image.Resampling.BILINEAR
    base = portrait.resize(size, resample, reducing_gap=None if size[0] > portrait.size[0] else 2.0)
    del portrait
    words = understood(prompt)
    if face is None:
        notes.insert(0, Text("preview.no_face"))
        _encode(_whole_photo_frames(base, rms, language), size, audio, duration_s, out, _PRESET.get(mode, "veryfast"))
        return Preview(path=out, face=None, words=(), notes=tuple(notes))
    scaled = face.scaled(size)
    canvas = np.array(base)
    del base
    lips = find_lips(canvas, scaled)
    eyes = find_eyes(canvas, scaled, lips)
    if eyes is None:
        notes.append(Text("preview.no_blink"))
    labelled = Image.fromarray(canvas)
    draw_banner(labelled, language)
    canvas = np.array(labelled)
    rig = FaceRig(canvas, scaled, lips, eyes, top=band_height(size[1]))
    _encode(_face_frames(canvas, rig, rms, words, _seed(prompt), scaled), size, audio, duration_s, out,
            _PRESET.get(mode, "veryfast"))
    return Preview(path=out, face=face, words=words, notes=tuple(notes))
