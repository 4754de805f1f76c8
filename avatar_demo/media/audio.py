"""Turn any voice clip ffmpeg can decode into a loudness-normalized WAV or MP3 window the gateways accept."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ffmpeg import (
    MediaHeader,
    output_channels,
    parse_header,
    read_header,
    read_wav_header,
    run_ffmpeg,
)
from .loudness import (
    LIMITER_CEILING_DBFS,
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    Leveling,
    Loudness,
    choose_leveling,
    level_filter,
    measure_pcm,
    parse_ebur128,
    window_meter,
)
from .voice_edit import (
    DIRECT_WIDTHS,
    HEADROOM_DB,
    LOOKAHEAD_S,
    MIN_S,
    PCM_FORMAT,
    RATE,
    Voice,
    decoded,
    describe_gain,
    describe_limit,
    edit_window,
    from_wav_frames,
    into_working_filter,
    peak_dbfs,
)
from .voice_output import MAX_AUDIO_BYTES, Written, write_voice
from .voice_refusals import refusal

__all__ = [
    "MAX_AUDIO_BYTES",
    "MIN_AUDIO_S",
    "TARGET_LUFS",
    "PreparedAudio",
    "prepare_audio",
]

MIN_AUDIO_S = MIN_S
MAX_WINDOW_S = 300.0
#: A clip whose loudest sample stays below this is treated as silence.
SILENCE_PEAK_DBFS = -50.0
#: wave's sample widths, as ffmpeg's raw PCM formats (8-bit WAV samples are unsigned).
_PCM_FORMATS = {1: "u8", 2: "s16le", 3: "s24le", 4: "s32le"}
#: Larger windows are left to ffmpeg, which reads the file in small pieces.
_MAX_PIPED_BYTES = 16 * 1024 * 1024
#: Below this gain (and with no limiter needed) the clip is left at its level.
_LEAVE_ALONE_DB = 0.5
#: Writes at most: when MP3 pushed the peaks over the promised ceiling, the voice is leveled again under a limit
#: lowered by the excess (plus 0.3 dB), and written again.
_MAX_WRITES = 3
_RETRY_MARGIN_DB = 0.3
#: The 44-byte head of the WAV written here: RIFF, a 16-byte PCM `fmt ` chunk, and the `data` chunk's head.
_PLAIN_WAV = struct.Struct("<4sI4s4sIHHIIHH4sI")


@dataclass(frozen=True)
class PreparedAudio:
    """A prepared voice clip and what was done to it."""

    path: Path
    duration_s: float
    bytes: int
    changes: list[str] = field(default_factory=list)
    source_duration_s: float | None = None
    loudness_lufs: float | None = None
    #: The edited window's loudness before the gain (mono, as sent).
    source_loudness_lufs: float | None = None


def _same_plain_wav(src: Path, size: int) -> bool:
    """Whether *src* is laid out exactly as the WAV just written (*size* bytes): one PCM `fmt ` chunk (48 kHz,
    mono, 16-bit) and one `data` chunk, the RIFF size, the data size and the file's size agreeing, nothing else.

    Python's wave module reads only the first `data` chunk, while ffmpeg (and a gateway) may play another one:
    a file that is anything more than these two chunks is never sent as it came, whatever wave made of it.
    """
    try:
        if src.stat().st_size != size or size < _PLAIN_WAV.size:
            return False
        with open(src, "rb") as fh:
            head = _PLAIN_WAV.unpack(fh.read(_PLAIN_WAV.size))
    except (OSError, struct.error):
        return False
    riff, riff_size, form, fmt, fmt_size, tag, channels, rate, byte_rate, align, bits, data, data_size = head
    return ((riff, form, fmt, data) == (b"RIFF", b"WAVE", b"fmt ", b"data") and fmt_size == 16 and tag == 1
            and (channels, rate, bits, align, byte_rate) == (1, RATE, 16, 2, 2 * RATE)
            and riff_size == size - 8 and data_size == size - _PLAIN_WAV.size)


def _check_window(src: Path, header: MediaHeader, start: float) -> None:
    """Refuse from the header alone, before any sample is decoded."""
    if not header.readable:
        raise refusal("unreadable", name=src.name)
    if header.audio_streams == 0:
        raise refusal("no_sound_track", name=src.name)
    if header.duration_s is not None and start > 0 and start >= header.duration_s:
        raise refusal("start_past_end", start=start, total=header.duration_s, name=src.name)


def _wav_frames(src: Path, header: MediaHeader, start: float, seconds: float) -> bytes | None:
    """A PCM WAV window's raw frames, read here; None when ffmpeg should read the file itself (not a PCM WAV,
    or a window too large to hold in memory)."""
    if header.pcm_wav is None:
        return None
    rate, channels, width = header.pcm_wav
    frames = math.ceil(seconds * rate)
    if width not in _PCM_FORMATS or frames * channels * width > _MAX_PIPED_BYTES:
        return None
    try:
        with wave.open(str(src), "rb") as wav:
            wav.setpos(min(round(start * rate), wav.getnframes()))
            return wav.readframes(frames)
    except (OSError, EOFError, wave.Error):
        return None  # ffmpeg reads it, and says so if it cannot


def _decode_window(src: Path, header: MediaHeader | None, start: float,
                   seconds: float) -> tuple[Any, MediaHeader, Loudness | None]:
    """Decode [start, start+seconds) of *src* into a pydub segment in the working format (voice_edit), with the
    header (*header* when it was read before, else the one the decode run reported) and the decode run's meter of
    the window as pydub will mix it (None when pydub reads the samples itself)."""
    samples = _wav_frames(src, header, start, seconds) if header is not None else None
    if samples is not None and header is not None and header.pcm_wav is not None:
        rate, channels, width = header.pcm_wav
        if rate == RATE and width in DIRECT_WIDTHS and channels <= 2:
            return from_wav_frames(samples, width=width, channels=channels), header, None
        if not samples:
            return decoded(b"", channels=1), header, None
        # ffmpeg opening the WAV itself costs about 18 ms more CPU than being handed its samples (measured).
        source = ["-f", _PCM_FORMATS[width], "-ar", str(rate), "-ac", str(channels), "-i", "pipe:0"]
    else:
        # -ss before -i seeks in the file instead of decoding everything up to the start.
        source = [*(["-ss", f"{start:.3f}"] if start > 0 else []), "-t", f"{seconds:.3f}", "-i", str(src)]
    # Mono stays mono; anything wider reaches pydub as stereo (ffmpeg's downmix), which pydub mixes to mono. The
    # meter, measuring beside the decoding, costs ~60 ms less than a run of its own over the same samples.
    window = round((seconds - LOOKAHEAD_S) * 1000) * RATE // 1000
    graph = (f"[0:a:0]aformat=channel_layouts=mono|stereo,aresample={RATE},asplit[pcm][meter];"
             f"[pcm]{into_working_filter()}[out];[meter]{window_meter(window)}")
    proc = run_ffmpeg([*source, "-filter_complex", graph, "-map", "[out]", "-f", PCM_FORMAT, "pipe:1"],
                      input_bytes=samples, large_output=True)
    report = proc.stderr.decode("utf-8", "replace")
    if header is None:
        header = parse_header(report)
        _check_window(src, header, start)
    channels = output_channels(report)
    if proc.returncode != 0 or channels not in (1, 2):
        raise refusal("unreadable", name=src.name)
    return decoded(proc.stdout, channels=channels), header, parse_ebur128(report)


def _loudness_sent(voice: Voice, meter: Loudness | None, name: str) -> Loudness:
    """The loudness and true peak of what will be sent, before the gain.

    The decode run metered the window as pydub mixes it: when pydub changed no sample beyond that, the meter
    measured exactly what is sent. When it removed silence, faded or padded, the edited samples' loudness is
    measured in a run of its own, and the window's true peak stands for theirs (none of those edits adds a
    peak: they remove samples, scale them down or add silence). Without a decode run, both are measured.
    """
    stage = level_filter(HEADROOM_DB, limited=False, rate=RATE)
    if meter is None:
        return measure_pcm(voice.pcm, RATE, stage, peak="true", sample_format=PCM_FORMAT, name=name)
    if not voice.edited:
        return meter
    edited = measure_pcm(voice.pcm, RATE, stage, peak="none", sample_format=PCM_FORMAT, name=name)
    return Loudness(edited.integrated_lufs, None, meter.true_peak_dbtp)


def _limited_loudness(voice: Voice, gain_db: float, *, ceiling_dbfs: float, name: str) -> float | None:
    """*voice* at *gain_db* through the limiter at *ceiling_dbfs*, as it would be written: its loudness."""
    stage = level_filter(HEADROOM_DB, limited=True, rate=RATE, ceiling_dbfs=ceiling_dbfs)
    return measure_pcm(voice.gained(gain_db), RATE, stage, peak="none", sample_format=PCM_FORMAT,
                       name=name).integrated_lufs


def _level_and_write(voice: Voice, before: Loudness, source_peak_dbtp: float, out_dir: Path, stem: str,
                     name: str) -> tuple[Leveling, Written]:
    """Choose the gain, write the file, and do both again under a lower limit while MP3 pushed the peaks over."""
    ceiling, first_gain = LIMITER_CEILING_DBFS, None
    for _ in range(_MAX_WRITES):
        leveling = choose_leveling(
            before, lambda gain, at=ceiling: _limited_loudness(voice, gain, ceiling_dbfs=at, name=name),
            name=name, ceiling_dbfs=ceiling, first_gain=first_gain)
        if not leveling.limited and abs(leveling.gain_db) < _LEAVE_ALONE_DB:
            leveling = Leveling(0.0, leveling.result_lufs - leveling.gain_db, limited=False)
        peak = source_peak_dbtp + leveling.gain_db
        written = write_voice(voice, leveling, out_dir, stem, peak_dbtp=peak, ceiling_dbfs=ceiling, name=name)
        if written.true_peak_dbtp is None or written.true_peak_dbtp <= TRUE_PEAK_CEILING_DBTP:
            break
        ceiling = min(ceiling, peak) - (written.true_peak_dbtp - TRUE_PEAK_CEILING_DBTP) - _RETRY_MARGIN_DB
        first_gain = leveling.gain_db
    return leveling, written


def prepare_audio(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    start: float = 0.0,
    max_seconds: float = 60.0,
    name: str = "voice",
) -> PreparedAudio:
    """Take the window [start, start+max_seconds) of *src*, edit, level and write it (WAV or MP3) into *out_dir*.

    In order: the header is checked (a WAV's own; ffmpeg's reading when a start inside the clip needs the
    length; else what the decode run reports); ffmpeg decodes the window into the working format
    (voice_edit; a 48 kHz PCM WAV's frames go to pydub directly), metering it on the way; pydub cuts,
    mixes, trims silence, fades and pads it; what will be sent is measured (_loudness_sent); loudness
    picks the gain and whether the limiter must act; pydub applies the gain, and the file is written, WAV
    by pydub or MP3 by ffmpeg through the limiter, measured again once written when its peaks came near
    the ceiling (voice_output).

    Raises InputError for a missing, empty, undecodable or silent clip, or a start past its end, and DiskFull
    when the file cannot be written for want of space; writes nothing in either case.
    """
    src = Path(src)
    if not src.is_file():
        raise refusal("missing", name=src.name)
    if src.stat().st_size == 0:
        raise refusal("empty", name=src.name)
    if start < 0 or not math.isfinite(start):
        raise refusal("bad_start", start=f"{start:g}", name=src.name)
    if not MIN_AUDIO_S <= max_seconds <= MAX_WINDOW_S:
        raise refusal("bad_length", length=f"{max_seconds:g}", name=src.name)

    # A start inside the clip needs its length first: a start past the end is refused before anything is
    # decoded. From the start, the decode run's own report gives the header (one ffmpeg run fewer).
    header = read_wav_header(src) or (read_header(src) if start > 0 else None)
    if header is not None:
        _check_window(src, header, start)
    segment, header, meter = _decode_window(src, header, start, max_seconds + LOOKAHEAD_S)
    if not segment.frame_count():
        if start > 0:  # a header that states no length, or a wrong one (VBR MP3 without its Xing frame)
            raise refusal("start_past_sound", start=start, name=src.name)
        raise refusal("no_sound", name=src.name)
    if peak_dbfs(segment) < SILENCE_PEAK_DBFS:
        if start > 0 or (header.duration_s or 0) > max_seconds:
            end = start + min(max_seconds, segment.frame_count() / RATE)
            raise refusal("silent_part", start=start, end=end, name=src.name)
        raise refusal("silent", name=src.name)

    voice = edit_window(segment, seconds=max_seconds, start=start, source_s=header.duration_s,
                        source_channels=header.channels)
    before = _loudness_sent(voice, meter, src.name)
    if before.integrated_lufs is None or before.true_peak_dbtp is None:
        raise refusal("too_quiet", name=src.name)
    leveling, written = _level_and_write(voice, before, before.true_peak_dbtp, Path(out_dir), name, src.name)
    changes = list(voice.changes)
    if leveling.gain_db or leveling.limited:
        changes.append(describe_gain(leveling.gain_db, written.lufs))
    if leveling.limited:
        changes.append(describe_limit(TRUE_PEAK_CEILING_DBTP))
    if not changes and written.path.suffix == ".wav" and _same_plain_wav(src, written.bytes):
        # A voice already prepared (a re-run's kept input) is sent as it came: writing it again would only round
        # its samples differently, and a re-run would keep a second copy of the same voice.
        shutil.copyfile(src, written.path)
        written = dataclasses.replace(written, bytes=written.path.stat().st_size)
    return PreparedAudio(
        path=written.path,
        duration_s=round(voice.seconds, 3),
        bytes=written.bytes,
        changes=changes,
        source_duration_s=header.duration_s,
        loudness_lufs=round(written.lufs, 1),
        source_loudness_lufs=round(before.integrated_lufs, 1),
    )
