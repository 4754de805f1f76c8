"""Write a prepared voice: 16-bit WAV by pydub, or MP3 by ffmpeg through the limiter; a full disk is DiskFull."""

from __future__ import annotations

import errno
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import DiskFull
from .ffmpeg import run_ffmpeg
from .loudness import TRUE_PEAK_CEILING_DBTP, Leveling, level_filter, measure_file
from .voice_edit import HEADROOM_DB, PCM_FORMAT, RATE, Voice, wav_bytes
from .voice_refusals import refusal

__all__ = ["MAX_AUDIO_BYTES", "Written", "write_voice"]

#: The Kling family's limit is "max 5MB"; read as the smaller decimal megabyte.
MAX_AUDIO_BYTES = 5_000_000
_WAV_HEADER_BYTES = 44
#: LAME's VBR keeps the level exactly (its CBR mode comes out ~0.5 dB quieter, measured) and
#: spends bits only where the voice needs them.
_VBR_QUALITY = "2"
#: When VBR lands over the limit (only possible for long clips), the fallback is a constant rate
#: that fits by arithmetic (32 kbit/s fits 20 minutes; a window is at most 5).
_CBR_KBPS = (96, 64, 48, 32)
#: MP3 raised true peaks by up to 2 dB over its input on the noisiest transients tried (white-noise claps):
#: an MP3 whose peaks were headed within 3 dB of the promised ceiling is measured once written.
_CODEC_OVERSHOOT_DB = 3.0
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Written:
    """The file written, its size, its loudness, and its true peak when it was measured as written."""

    path: Path
    bytes: int
    lufs: float
    true_peak_dbtp: float | None


def _fits_as_wav(voice: Voice) -> bool:
    """WAV only while even its base64 text fits 5 MB (~39 s), since the gateways do not say whether they count
    the file or the text."""
    size = _WAV_HEADER_BYTES + round(voice.seconds * RATE) * 2
    return math.ceil(size / 3) * 4 <= MAX_AUDIO_BYTES


def _disk_full(text: str) -> bool:
    return any(os.strerror(code) in text for code in _DISK_FULL)


def _encode(pcm: bytes, seconds: float, filters: str, dest: Path, final_name: str, name: str) -> int:
    """Encode *pcm* (working format) through *filters* at the best quality that fits the gateway limit."""
    # 95 % leaves room for frame padding and the Xing header.
    rates = [kbps for kbps in _CBR_KBPS if kbps * 1000 / 8 * seconds <= MAX_AUDIO_BYTES * 0.95] or [_CBR_KBPS[-1]]
    for quality in (["-q:a", _VBR_QUALITY], *(["-b:a", f"{kbps}k"] for kbps in rates)):
        proc = run_ffmpeg(
            ["-y", "-v", "error", "-f", PCM_FORMAT, "-ar", str(RATE), "-ac", "1", "-i", "pipe:0",
             "-af", filters, "-c:a", "libmp3lame", *quality, "-f", "mp3", str(dest)],
            input_bytes=pcm,
        )
        if proc.returncode != 0:
            if _disk_full(proc.stderr.decode("utf-8", "replace")):
                raise DiskFull(f"no room for {final_name}")
            raise refusal("unwritable", name=name)
        size = dest.stat().st_size
        if size <= MAX_AUDIO_BYTES:
            return size
    raise refusal("unwritable", name=name)


def write_voice(voice: Voice, leveling: Leveling, out_dir: Path, stem: str, *, peak_dbtp: float,
                ceiling_dbfs: float, name: str) -> Written:
    """Write *voice* at the leveling's gain as *stem*.wav or .mp3 in *out_dir*, whole or not at all.

    A plain gain needs no encoder: its true peak (*peak_dbtp*, measured before the gain and moved by it)
    stays under the ceiling, so pydub writes 16-bit WAV directly while it fits. A limiter (at
    *ceiling_dbfs*), or a longer clip, is MP3's job; an MP3 whose peaks were headed near the promised
    ceiling is measured as written. A write that fails for want of space raises DiskFull, and leaves no
    file behind.
    """
    as_wav = not leveling.limited and _fits_as_wav(voice)
    dest = (out_dir / stem).with_suffix(".wav" if as_wav else ".mp3")
    tmp: Path | None = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".voice-", suffix=dest.suffix, dir=out_dir)
        tmp = Path(tmp_name)
        if as_wav:
            with os.fdopen(fd, "wb") as fh:
                fh.write(wav_bytes(voice, leveling.gain_db))
        else:
            os.close(fd)
            filters = level_filter(HEADROOM_DB, limited=leveling.limited, rate=RATE, ceiling_dbfs=ceiling_dbfs)
            _encode(voice.gained(leveling.gain_db), voice.seconds, filters, tmp, dest.name, name)
        measured = None
        if not as_wav and (leveling.limited or peak_dbtp > TRUE_PEAK_CEILING_DBTP - _CODEC_OVERSHOOT_DB):
            measured = measure_file(tmp, name=name)
        size = tmp.stat().st_size
        tmp.replace(dest)
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise DiskFull(f"no room for {dest.name}") from exc
        raise
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    if measured is None or measured.integrated_lufs is None:
        return Written(dest, size, leveling.result_lufs, None)
    return Written(dest, size, measured.integrated_lufs, measured.true_peak_dbtp)
