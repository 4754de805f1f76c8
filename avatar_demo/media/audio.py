"""Turn any voice clip ffmpeg can decode into a normalized MP3 window the gateways accept."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyloudnorm
from pydub import AudioSegment

from ..errors import InputError
from .ffmpeg import configure_pydub, probe_duration, run_ffmpeg

__all__ = [
    "MAX_AUDIO_BYTES",
    "MIN_AUDIO_S",
    "TARGET_LUFS",
    "PreparedAudio",
    "prepare_audio",
]

#: The Kling family's limit is "max 5MB"; read as the smaller decimal megabyte.
MAX_AUDIO_BYTES = 5_000_000
MIN_AUDIO_S = 2.0
#: -16 LUFS integrated is the common loudness for spoken word online (podcast and
#: streaming speech guidance), loud enough for lip-sync without clipping.
TARGET_LUFS = -16.0
PEAK_CEILING_DBFS = -1.0
#: A clip whose loudest sample stays below this is treated as silence.
SILENCE_PEAK_DBFS = -50.0
SAMPLE_RATE = 44100
_BITRATES_KBPS = (128, 96, 64, 48, 32)


@dataclass(frozen=True)
class PreparedAudio:
    """A prepared voice clip and what was done to it."""

    path: Path
    duration_s: float
    bytes: int
    changes: list[str] = field(default_factory=list)
    source_duration_s: float | None = None
    loudness_lufs: float | None = None


def _decode_window(src: Path, start: float, length: float) -> tuple[bytes, float | None]:
    """Decode [start, start+length) of *src* to mono 16-bit PCM without ffprobe."""
    proc = run_ffmpeg(
        [
            "-i", str(src),
            "-ss", f"{start:.3f}", "-t", f"{length:.3f}",
            "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
            "-f", "s16le", "pipe:1",
        ]
    )
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if "matches no streams" in stderr:
            raise InputError(f"{src.name} has no audio track")
        raise InputError(
            f"Could not read {src.name} as audio: it is not a sound or video file ffmpeg can decode"
        )
    return proc.stdout, probe_duration(stderr)


def _loudness(samples: np.ndarray) -> float:
    meter = pyloudnorm.Meter(SAMPLE_RATE)
    return float(meter.integrated_loudness(samples))


def _encode_mp3(segment: AudioSegment, dest: Path) -> int:
    """Encode at the highest bitrate that keeps the file under the gateway limit."""
    configure_pydub()
    seconds = len(segment) / 1000
    for kbps in _BITRATES_KBPS:
        # Leave 5 % for frame padding and the ID3 header.
        if kbps * 1000 / 8 * seconds > MAX_AUDIO_BYTES * 0.95 and kbps != _BITRATES_KBPS[-1]:
            continue
        segment.export(dest, format="mp3", bitrate=f"{kbps}k", tags=None)
        size = dest.stat().st_size
        if size <= MAX_AUDIO_BYTES:
            return size
    raise InputError(
        f"The voice clip is too long to fit the gateways' 5 MB limit ({seconds:.1f} s); "
        "choose a shorter window"
    )


def prepare_audio(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    start: float = 0.0,
    max_seconds: float = 60.0,
    name: str = "voice.mp3",
) -> PreparedAudio:
    """Take the window [start, start+max_seconds) of *src*, pad, normalize and encode it.

    Raises InputError for empty, undecodable or silent input; writes nothing in that case.
    """
    src = Path(src)
    if not src.is_file():
        raise InputError(f"Voice clip {src.name!r} does not exist")
    if src.stat().st_size == 0:
        raise InputError(f"The voice clip {src.name} is empty (0 bytes)")
    if start < 0 or not math.isfinite(start):
        raise InputError(f"The start offset must be 0 s or more, got {start:g} s")
    if not MIN_AUDIO_S <= max_seconds <= 300:
        raise InputError(f"The clip length must be between 2 and 300 s, got {max_seconds:g} s")

    pcm, source_s = _decode_window(src, start, max_seconds)
    samples = np.frombuffer(pcm, dtype="<i2")
    changes: list[str] = []
    if samples.size == 0:
        if source_s and start > 0 and start >= source_s:
            raise InputError(
                f"The start offset {start:.1f} s is past the end of the {source_s:.1f} s clip"
            )
        raise InputError(f"The voice clip {src.name} contains no audio")

    window_s = samples.size / SAMPLE_RATE
    if start > 0:
        changes.append(f"started at {start:.1f} s")
    if source_s is not None and source_s - start > window_s + 0.05:
        changes.append(f"trimmed {source_s:.1f} s to {window_s:.1f} s")
    elif source_s is None and window_s >= max_seconds - 0.01:
        changes.append(f"trimmed to the first {window_s:.1f} s")

    segment = AudioSegment(data=samples.tobytes(), sample_width=2, frame_rate=SAMPLE_RATE, channels=1)
    if segment.max_dBFS < SILENCE_PEAK_DBFS:
        where = "The selected part of the voice clip" if start > 0 else "The voice clip"
        raise InputError(f"{where} is silent: record or upload a clip with speech in it")

    if window_s < MIN_AUDIO_S:
        segment += AudioSegment.silent(duration=round((MIN_AUDIO_S - window_s) * 1000), frame_rate=SAMPLE_RATE)
        changes.append(f"padded {window_s:.1f} s to {MIN_AUDIO_S:.1f} s with silence")

    floats = np.frombuffer(segment.raw_data, dtype="<i2").astype(np.float64) / 32768.0
    measured = _loudness(floats)
    loudness = measured
    if math.isfinite(measured):
        # Never push peaks past the ceiling: a clipped voice is worse than a quieter one.
        gain = min(TARGET_LUFS - measured, PEAK_CEILING_DBFS - segment.max_dBFS)
        if abs(gain) >= 0.5:
            segment = segment.apply_gain(gain)
            loudness = measured + gain
            limited = " (limited by peaks)" if gain < TARGET_LUFS - measured - 0.05 else ""
            changes.append(f"normalized loudness from {measured:.1f} to {loudness:.1f} LUFS{limited}")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / name
    fd, tmp_name = tempfile.mkstemp(prefix=".voice-", suffix=".mp3", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        size = _encode_mp3(segment, tmp)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return PreparedAudio(
        path=dest,
        duration_s=round(len(segment) / 1000, 3),
        bytes=size,
        changes=changes,
        source_duration_s=source_s,
        loudness_lufs=round(loudness, 1) if math.isfinite(loudness) else None,
    )
