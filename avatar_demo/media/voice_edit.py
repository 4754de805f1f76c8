"""The voice edits, done by pydub on decoded samples: the cut, mono, silence at the ends, fades, padding and gain."""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..core.text import Text
from .ffmpeg import ffmpeg_exe

__all__ = [
    "HEADROOM_DB",
    "LOOKAHEAD_S",
    "PCM_FORMAT",
    "RATE",
    "Voice",
    "decoded",
    "describe_gain",
    "describe_limit",
    "edit_window",
    "from_wav_frames",
    "into_working_filter",
    "peak_dbfs",
    "wav_bytes",
]

# The working format, one for every edit and measurement: 32-bit integer samples at 48 kHz, carried HEADROOM_DB
# below their true level. pydub edits integers and saturates at full scale, so a gain applied at full level
# would clip a loud clap before the limiter could catch it. 48 dB down, a 0 dBFS clap raised by the largest
# gain (loudness.MAX_GAIN_DB, 40 dB) still stays 8 dB under full scale, and 24 bits of resolution remain (the
# file sent has 16). The level stage (loudness.level_filter) restores the 48 dB in floating point just before
# the limiter; a plain gain written as WAV, whose peaks were measured to stay under the ceiling, is restored in
# integers (wav_bytes).
#
# ffmpeg, not pydub, resamples to 48 kHz while decoding: audioop.ratecv interpolates linearly, which measured
# 43 dB signal-to-noise at 3 kHz, 31 dB at 6 kHz and 20 dB at 10 kHz going from 44.1 to 48 kHz (ffmpeg's
# resampler: over 100 dB), and costs ~27 ms per minute of mono besides.
RATE = 48000
_WIDTH = 4
PCM_FORMAT = "s32le"
HEADROOM_DB = 48.0
#: pydub takes these WAV sample widths as they are (8-bit WAV is unsigned and 24-bit is unpacked in a Python
#: loop: ffmpeg converts those).
DIRECT_WIDTHS = (2, 4)

FADE_IN_MS = 20
FADE_OUT_MS = 50
#: The decoder reads this far past the window, to see whether the clip goes on after it.
LOOKAHEAD_S = 0.1
#: A leftover shorter than this after the window is encoder padding, dropped without a word.
_CUT_SLACK_S = 0.05
#: Silence is 10 ms blocks quieter than both the clip's own level minus 35 dB and -50 dBFS: room noise goes,
#: soft consonants stay.
_SILENCE_UNDER_LEVEL_DB = 35.0
_SILENCE_CEILING_DBFS = -50.0
_SILENCE_BLOCK_MS = 10
#: Sound kept on each side of the speech when silence is removed, so onsets and decays survive.
_KEEP_BEFORE_MS = 200
_KEEP_AFTER_MS = 300
#: Less silence than this is left in place.
_MIN_REMOVED_MS = 100
MIN_S = 2.0


class _Pydub(NamedTuple):
    AudioSegment: Any
    detect_leading_silence: Any


_loading = threading.Lock()
_loaded: _Pydub | None = None


def _pydub() -> _Pydub:
    """pydub's AudioSegment and detect_leading_silence, imported on first use (the command line's refusals and
    the package's import stay free of it), with our ffmpeg as its converter before any export."""
    global _loaded
    with _loading:  # catch_warnings swaps process-wide state: one thread at a time
        if _loaded is None:
            with warnings.catch_warnings():
                # pydub looks for ffmpeg on PATH and warns when there is none (ours comes from the wheel), and
                # Python 3.11-3.12 warn that audioop, which it uses, leaves the standard library in 3.13.
                warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
                warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
                from pydub import AudioSegment
                from pydub.silence import detect_leading_silence
            AudioSegment.converter = ffmpeg_exe()
            _loaded = _Pydub(AudioSegment, detect_leading_silence)
    return _loaded


def _figure(value: float, sign: str = "") -> str:
    """A figure as the page prints it, one decimal and a true minus sign (*sign* "+" shows a plus too)."""
    return f"{value:{sign}.1f}".replace("-", "\u2212")


def into_working_filter() -> str:
    """The ffmpeg filter that brings decoded audio down into the working format's headroom."""
    return f"volume=-{HEADROOM_DB:g}dB:precision=float"


def decoded(pcm: bytes, *, channels: int) -> Any:
    """A segment of ffmpeg's output, already in the working format (see into_working_filter)."""
    return _pydub().AudioSegment(data=pcm, sample_width=_WIDTH, frame_rate=RATE, channels=channels)


def from_wav_frames(frames: bytes, *, width: int, channels: int) -> Any:
    """A segment of a 48 kHz PCM WAV's frames (a width in DIRECT_WIDTHS), brought into the working format."""
    segment = _pydub().AudioSegment(data=frames, sample_width=width, frame_rate=RATE, channels=channels)
    return segment.set_sample_width(_WIDTH).apply_gain(-HEADROOM_DB)


def peak_dbfs(segment: Any) -> float:
    """The loudest sample of *segment*, in dB of full scale at its true level."""
    return float(segment.max_dBFS) + HEADROOM_DB


@dataclass(frozen=True)
class Voice:
    """An edited window, mono at 48 kHz in the working format, and what was done to it."""

    segment: Any
    changes: list[str] = field(default_factory=list)
    #: Whether pydub changed samples beyond mixing the channels and cutting the window: silence removed, a fade, or
    #: padding.
    edited: bool = False

    @property
    def seconds(self) -> float:
        """Its length."""
        return self.segment.frame_count() / RATE

    @property
    def pcm(self) -> bytes:
        """Its samples in the working format."""
        return self.segment.raw_data

    def gained(self, gain_db: float) -> bytes:
        """The samples with *gain_db* applied (the headroom keeps any gain up to 40 dB from clipping)."""
        return self.segment.apply_gain(gain_db).raw_data if gain_db else self.segment.raw_data


def _frames(ms: int) -> int:
    return ms * RATE // 1000


def _silence_at_ends(segment: Any) -> tuple[int, int]:
    """Milliseconds of silence to remove at the start and at the end, margins kept, never below MIN_S."""
    detect_leading_silence = _pydub().detect_leading_silence
    level = float(segment.dBFS) + HEADROOM_DB
    threshold = min(level - _SILENCE_UNDER_LEVEL_DB, _SILENCE_CEILING_DBFS) - HEADROOM_DB
    lead = detect_leading_silence(segment, silence_threshold=threshold, chunk_size=_SILENCE_BLOCK_MS)
    trail = 0
    if segment[-_SILENCE_BLOCK_MS:].dBFS < threshold:  # reversing a minute of audio costs ~6 ms: only when needed
        trail = detect_leading_silence(segment.reverse(), silence_threshold=threshold, chunk_size=_SILENCE_BLOCK_MS)
    spare = max(0, int(segment.frame_count()) * 1000 // RATE - int(MIN_S * 1000))
    start = min(max(0, lead - _KEEP_BEFORE_MS), spare)
    start = start if start >= _MIN_REMOVED_MS else 0
    end = min(max(0, trail - _KEEP_AFTER_MS), spare - start)
    return start, end if end >= _MIN_REMOVED_MS else 0


def edit_window(segment: Any, *, seconds: float, start: float, source_s: float | None,
                source_channels: int | None) -> Voice:
    """Cut *segment* (decoded from *start*, LOOKAHEAD_S longer than asked) to *seconds*, mix it to mono, remove
    silence at its ends, fade where it was cut inside sound, and pad it to MIN_S; each step is listed."""
    changes: list[Text] = [Text("voice.started_at", start=start)] if start > 0 else []
    # Whole milliseconds, so pydub's fades (placed in milliseconds) end on the last sample.
    window = _frames(round(seconds * 1000))
    cut = segment.frame_count() >= window + _CUT_SLACK_S * RATE
    if segment.frame_count() > window:
        segment = segment.get_sample_slice(0, window)
    if cut:
        kept = segment.frame_count() / RATE
        changes.append(Text("voice.trimmed", source=source_s, kept=kept) if source_s
                       else Text("voice.trimmed_to", kept=kept))
    if segment.channels > 1:
        segment = segment.set_channels(1)
        changes.append(Text("voice.mixed_stereo") if (source_channels or 2) <= 2
                       else Text("voice.mixed_channels", channels=source_channels))

    lead_ms, trail_ms = _silence_at_ends(segment)
    if lead_ms or trail_ms:
        segment = segment.get_sample_slice(_frames(lead_ms), int(segment.frame_count()) - _frames(trail_ms))
    if lead_ms:
        changes.append(Text("voice.silence_start", seconds=lead_ms / 1000))
    if trail_ms:
        changes.append(Text("voice.silence_end", seconds=trail_ms / 1000))
    # A cut inside sound starts or stops it on a non-zero sample, which clicks; where silence was removed, the
    # edge is already quiet.
    fade_in, fade_out = start > 0 and not lead_ms and segment.frame_count() > 0, cut and not trail_ms
    if fade_in:
        segment = segment.fade_in(FADE_IN_MS)
        changes.append(Text("voice.fade_in", ms=FADE_IN_MS))
    if fade_out:
        segment = segment.fade_out(FADE_OUT_MS)
        changes.append(Text("voice.fade_out", ms=FADE_OUT_MS))

    short = int(segment.frame_count())
    padded = short < MIN_S * RATE
    if padded:
        silence = _pydub().AudioSegment(data=bytes((round(MIN_S * RATE) - short) * _WIDTH), sample_width=_WIDTH,
                                        frame_rate=RATE, channels=1)
        segment = segment + silence
        changes.append(Text("voice.padded", short=short / RATE, least=MIN_S))
    return Voice(segment, changes, edited=bool(lead_ms or trail_ms or fade_in or fade_out or padded))


def describe_gain(gain_db: float, result_lufs: float) -> Text:
    """The gain applied and the loudness it led to, e.g. "+6.2 dB to −16.0 LUFS"."""
    return Text("voice.gain", gain=_figure(gain_db, "+"), lufs=_figure(result_lufs))


def describe_limit(ceiling_dbtp: float) -> Text:
    """The true-peak ceiling the limiter held, e.g. "peaks limited to −1.0 dBTP"."""
    return Text("voice.limited", ceiling=_figure(ceiling_dbtp))


def wav_bytes(voice: Voice, gain_db: float) -> bytes:
    """16-bit WAV of *voice* at *gain_db*, made by pydub in memory (the caller writes it, and owns a full disk);
    only for a gain whose peaks stay under full scale."""
    restored = voice.segment.apply_gain(gain_db + HEADROOM_DB).set_sample_width(2)
    return restored.export(io.BytesIO(), format="wav").getvalue()
