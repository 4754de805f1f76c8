"""Turn any voice clip ffmpeg can decode into a loudness-normalized WAV or MP3 window the gateways accept."""

from __future__ import annotations

import math
import os
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import InputError
from .ffmpeg import MediaHeader, read_header, run_ffmpeg
from .loudness import (
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    Leveling,
    Loudness,
    choose_leveling,
    level_filter,
    measure_filter,
    measure_pcm,
    parse_ebur128,
)

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
MAX_WINDOW_S = 300.0
#: A clip whose loudest sample stays below this is treated as silence.
SILENCE_PEAK_DBFS = -50.0
#: ebur128 measures at 48 kHz; decoding straight to it means nothing is resampled twice.
SAMPLE_RATE = 48000
_BYTES_PER_SAMPLE = 4  # float32 mono
WAV_HEADER_BYTES = 44
#: LAME's VBR keeps the level exactly (its CBR mode comes out ~0.5 dB quieter, measured) and
#: spends bits only where the voice needs them.
_VBR_QUALITY = "2"
#: wave's sample widths, as ffmpeg's raw PCM formats (8-bit WAV samples are unsigned).
_PCM_FORMATS = {1: "u8", 2: "s16le", 3: "s24le", 4: "s32le"}
#: Larger windows are left to ffmpeg, which reads the file in small pieces.
_MAX_PIPED_BYTES = 16 * 1024 * 1024
#: When VBR lands over the limit (only possible for long clips), the fallback is a constant rate
#: that fits by arithmetic.
_CBR_KBPS = (96, 64, 48, 32)


@dataclass(frozen=True)
class PreparedAudio:
    """A prepared voice clip and what was done to it."""

    path: Path
    duration_s: float
    bytes: int
    changes: list[str] = field(default_factory=list)
    source_duration_s: float | None = None
    loudness_lufs: float | None = None
    source_loudness_lufs: float | None = None


def _check_window(src: Path, header: MediaHeader, start: float) -> None:
    """Refuse from the header alone, before any sample is decoded."""
    if not header.readable:
        raise InputError(f"Could not read {src.name} as audio: it is not a sound or video file ffmpeg can decode")
    if header.audio_streams == 0:
        raise InputError(f"{src.name} has no audio track")
    if header.duration_s is not None and start > 0 and start >= header.duration_s:
        raise InputError(f"The start offset {start:.1f} s is past the end of the {header.duration_s:.1f} s clip")


def _wav_window(src: Path, header: MediaHeader, start: float, length: float) -> tuple[list[str], bytes] | None:
    """A PCM WAV window's raw samples and the ffmpeg input options that describe them; None when ffmpeg should read
    the file itself (not a PCM WAV, or a window too large to hold in memory)."""
    if header.pcm_wav is None:
        return None
    rate, channels, width = header.pcm_wav
    frames = math.ceil(length * rate)
    if width not in _PCM_FORMATS or frames * channels * width > _MAX_PIPED_BYTES:
        return None
    try:
        with wave.open(str(src), "rb") as wav:
            wav.setpos(min(round(start * rate), wav.getnframes()))
            samples = wav.readframes(frames)
    except (OSError, EOFError, wave.Error):
        return None  # ffmpeg reads it, and says so if it cannot
    return ["-f", _PCM_FORMATS[width], "-ar", str(rate), "-ac", str(channels), "-i", "pipe:0"], samples


def _decode_window(src: Path, header: MediaHeader, start: float, length: float) -> tuple[bytes, Loudness]:
    """Decode [start, start+length) of *src* to mono float32 PCM and measure it in the same pass."""
    piped = _wav_window(src, header, start, length)
    if piped is not None:
        # ffmpeg opening the WAV itself costs about 18 ms more CPU than being handed its samples (measured).
        source, samples = piped
        if not samples:
            return b"", Loudness(None)
    else:
        # -ss before -i seeks in the file instead of decoding everything up to the start.
        source = [*(["-ss", f"{start:.3f}"] if start > 0 else []), "-i", str(src), "-t", f"{length:.3f}"]
        samples = None
    proc = run_ffmpeg(
        [
            *source,
            "-map", "0:a:0", "-vn", "-af", f"aformat=channel_layouts=mono,{measure_filter('sample+true')}",
            "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1",
        ],
        input_bytes=samples,
    )
    if proc.returncode != 0:
        raise InputError(f"Could not read {src.name} as audio: it is not a sound or video file ffmpeg can decode")
    return proc.stdout, parse_ebur128(proc.stderr.decode("utf-8", "replace"))


def _write_wav(pcm: bytes, gain_db: float, dest: Path) -> int:
    """16-bit WAV with a plain gain, written here: no encoder to start, and the level is exact."""
    import numpy as np  # here, not at import: the CLI's refusals stay fast

    samples = np.frombuffer(pcm, dtype="<f4") * (10 ** (gain_db / 20))
    pcm16 = np.clip(np.rint(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(dest), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm16.tobytes())
    return dest.stat().st_size


def _encode_mp3(pcm: bytes, leveling: Leveling | None, dest: Path) -> int:
    """Encode *pcm* with the gain and limiter, at the best quality that fits the gateway limit."""
    seconds = len(pcm) / _BYTES_PER_SAMPLE / SAMPLE_RATE
    filters = (
        ["-af", level_filter(leveling.gain_db, limited=leveling.limited, rate=SAMPLE_RATE)] if leveling else []
    )
    # 95 % leaves room for frame padding and the Xing header.
    rates = [kbps for kbps in _CBR_KBPS if kbps * 1000 / 8 * seconds <= MAX_AUDIO_BYTES * 0.95] or [_CBR_KBPS[-1]]
    for quality in (["-q:a", _VBR_QUALITY], *(["-b:a", f"{kbps}k"] for kbps in rates)):
        proc = run_ffmpeg(
            ["-y", "-v", "error", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
             *filters, "-c:a", "libmp3lame", *quality, "-f", "mp3", str(dest)],
            input_bytes=pcm,
        )
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["ffmpeg failed"]
            raise InputError(f"The voice clip could not be encoded: {lines[-1][:200]}")
        size = dest.stat().st_size
        if size <= MAX_AUDIO_BYTES:
            return size
    raise InputError(
        f"The voice clip is too long to fit the gateways' 5 MB limit ({seconds:.1f} s); choose a shorter window"
    )


def _describe_window(start: float, source_s: float | None, window_s: float, max_seconds: float) -> list[str]:
    changes = [f"started at {start:.1f} s"] if start > 0 else []
    if source_s is not None and source_s - start > window_s + 0.05:
        changes.append(f"trimmed {source_s:.1f} s to {window_s:.1f} s")
    elif source_s is None and window_s >= max_seconds - 0.01:
        changes.append(f"trimmed to the first {window_s:.1f} s")
    return changes


def _describe_leveling(before: float, leveling: Leveling) -> list[str]:
    if not leveling.limited and abs(leveling.gain_db) < 0.5:
        return []
    limited = f" (peaks limited to {TRUE_PEAK_CEILING_DBTP:.1f} dBTP)" if leveling.limited else ""
    return [f"normalized loudness from {before:.1f} to {leveling.result_lufs:.1f} LUFS{limited}"]


def prepare_audio(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    start: float = 0.0,
    max_seconds: float = 60.0,
    name: str = "voice",
) -> PreparedAudio:
    """Take the window [start, start+max_seconds) of *src*, pad, normalize and encode it (WAV or MP3: see below).

    Raises InputError for empty, undecodable or silent input, or a start past the end; writes
    nothing in that case.
    """
    src = Path(src)
    if not src.is_file():
        raise InputError(f"Voice clip {src.name!r} does not exist")
    if src.stat().st_size == 0:
        raise InputError(f"The voice clip {src.name} is empty (0 bytes)")
    if start < 0 or not math.isfinite(start):
        raise InputError(f"The start offset must be 0 s or more, got {start:g} s")
    if not MIN_AUDIO_S <= max_seconds <= MAX_WINDOW_S:
        raise InputError(f"The clip length must be between 2 and 300 s, got {max_seconds:g} s")

    header = read_header(src)
    _check_window(src, header, start)
    pcm, before = _decode_window(src, header, start, max_seconds)
    if not pcm:
        if start > 0:
            raise InputError(f"The start offset {start:.1f} s is past the end of the clip")
        raise InputError(f"The voice clip {src.name} contains no audio")
    if before.sample_peak_dbfs is None or before.sample_peak_dbfs < SILENCE_PEAK_DBFS:
        where = "The selected part of the voice clip" if start > 0 else "The voice clip"
        raise InputError(f"{where} is silent: record or upload a clip with speech in it")

    window_s = len(pcm) / _BYTES_PER_SAMPLE / SAMPLE_RATE
    changes = _describe_window(start, header.duration_s, window_s, max_seconds)
    if window_s < MIN_AUDIO_S:
        pcm += bytes(round((MIN_AUDIO_S - window_s) * SAMPLE_RATE) * _BYTES_PER_SAMPLE)
        changes.append(f"padded {window_s:.1f} s to {MIN_AUDIO_S:.1f} s with silence")
        if before.integrated_lufs is None:
            # Under 0.4 s there is no whole ebur128 block to measure; padded, there is.
            before = measure_pcm(pcm, SAMPLE_RATE)
    if before.integrated_lufs is None:
        raise InputError("The voice clip is too quiet to measure: record or upload a clip with speech in it")

    leveling = choose_leveling(pcm, SAMPLE_RATE, before)
    changes += _describe_leveling(before.integrated_lufs, leveling)
    needs_leveling = leveling.limited or abs(leveling.gain_db) >= 0.5
    result_lufs = leveling.result_lufs if needs_leveling else before.integrated_lufs

    # A plain gain needs no encoder: the true peak was measured on the source, so the gain alone keeps it under
    # the ceiling. WAV only while even its base64 text fits 5 MB (~39 s), since the gateways do not say whether
    # they count the file or the text; a limiter, or a longer clip, is MP3's job.
    wav_bytes = WAV_HEADER_BYTES + len(pcm) // _BYTES_PER_SAMPLE * 2
    as_wav = not leveling.limited and math.ceil(wav_bytes / 3) * 4 <= MAX_AUDIO_BYTES
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = (out_dir / name).with_suffix(".wav" if as_wav else ".mp3")
    fd, tmp_name = tempfile.mkstemp(prefix=".voice-", suffix=dest.suffix, dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if as_wav:
            size = _write_wav(pcm, leveling.gain_db if needs_leveling else 0.0, tmp)
        else:
            size = _encode_mp3(pcm, leveling if needs_leveling else None, tmp)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return PreparedAudio(
        path=dest,
        duration_s=round(len(pcm) / _BYTES_PER_SAMPLE / SAMPLE_RATE, 3),
        bytes=size,
        changes=changes,
        source_duration_s=header.duration_s,
        loudness_lufs=round(result_lufs, 1),
        source_loudness_lufs=round(before.integrated_lufs, 1),
    )
