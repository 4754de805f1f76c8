"""Measure loudness with ffmpeg's ebur128 filter and find the gain that reaches a target behind a peak limiter."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from .ffmpeg import run_ffmpeg
from .voice_refusals import refusal

__all__ = [
    "Leveling",
    "Loudness",
    "choose_leveling",
    "level_filter",
    "measure_file",
    "measure_filter",
    "measure_pcm",
    "parse_ebur128",
    "window_meter",
]

#: -16 LUFS integrated is the common loudness for spoken word online (podcast and
#: streaming speech guidance), loud enough for lip-sync without clipping.
TARGET_LUFS = -16.0
#: The true-peak ceiling promised to the gateway (EBU R 128 / streaming practice).
TRUE_PEAK_CEILING_DBTP = -1.0
#: alimiter sees samples, not the waveform between them. Run at twice the rate it catches most
#: inter-sample peaks; the MP3 encoder's ringing adds up to ~1 dB more on sharp clicks (measured
#: on 9 kHz square-wave clicks), so the limiter aims 1.5 dB under the promised ceiling. Noise-like
#: claps can add 2 dB: an MP3 whose peaks may come that close is measured once written
#: (voice_output), and leveled and encoded again under a lower limit when it went over (audio).
LIMITER_CEILING_DBFS = -2.5
_OVERSAMPLED_RATE = 96000
_LOWPASS_HZ = 18000
#: Never raise a clip by more than this: beyond it the result is mostly amplified hiss.
MAX_GAIN_DB = 40.0
#: The search stops once the limited result is this close to the target (the promise is ±1 LU).
_TOLERANCE_LU = 0.35
_MAX_MEASURES = 5
#: Before two points are known, assume each dB of gain adds about 0.6 LU once limited; measured
#: on speech-like noise bursts (0.5) and a quiet voice with clicks (0.8), it saves a pass.
_FIRST_SLOPE = 0.6
_NUMBER = r"(-?(?:\d+(?:\.\d+)?|inf)|nan)"
_INTEGRATED = re.compile(r"I:\s+" + _NUMBER + r" LUFS")
_SAMPLE_PEAK = re.compile(r"Sample peak:\s+Peak:\s+" + _NUMBER)
_TRUE_PEAK = re.compile(r"True peak:\s+Peak:\s+" + _NUMBER)


@dataclass(frozen=True)
class Loudness:
    """One ebur128 summary; a value is None when ebur128 did not measure it (or found nothing)."""

    integrated_lufs: float | None
    sample_peak_dbfs: float | None = None
    true_peak_dbtp: float | None = None


@dataclass(frozen=True)
class Leveling:
    """The gain to apply before the limiter, and the loudness that results."""

    gain_db: float
    result_lufs: float
    limited: bool


def measure_filter(peak: str = "sample") -> str:
    """The ebur128 filter that prints a summary with integrated loudness and *peak* (sample, true)."""
    return f"ebur128=peak={peak}:framelog=quiet"


def _number(pattern: re.Pattern[str], text: str) -> float | None:
    match = pattern.search(text)
    if not match:
        return None
    value = float(match.group(1))
    return value if math.isfinite(value) else None


def parse_ebur128(stderr: str) -> Loudness:
    """The figures of the last ebur128 summary in ffmpeg's *stderr*."""
    _, found, summary = stderr.rpartition("Summary:")
    if not found:
        return Loudness(None)
    integrated = _number(_INTEGRATED, summary)
    # ebur128 reports -70 LUFS, its absolute gate, when no block was loud enough to count.
    if integrated is not None and integrated <= -70.0:
        integrated = None
    return Loudness(integrated, _number(_SAMPLE_PEAK, summary), _number(_TRUE_PEAK, summary))


def level_filter(gain_db: float, *, limited: bool, rate: int, ceiling_dbfs: float = LIMITER_CEILING_DBFS) -> str:
    """A gain in floating point, then (when *limited*) two look-ahead limiters, oversampled, that only touch
    peaks above *ceiling_dbfs*.

    The first (5 ms look-ahead, 50 ms release: back to full level between syllables) takes the bulk, up
    to tens of dB on a clap, with gain changes smooth enough to leave little between samples; its return
    to *rate* also cuts above 18 kHz, what the MP3 encoder would cut (its own filter would otherwise
    raise new peaks), with the resampler's linear-phase filter, which moves no peak between samples. The
    second (1 ms) catches what the first left. One limiter at 1 ms overshot its ceiling by 2 dB on a
    40 dB clap, and MP3 then added 1.1 dB more (measured).
    `level=false` keeps alimiter from re-normalizing its output; `latency=true` removes its
    look-ahead delay so the voice stays in sync with the clip's timing.
    """
    gain = f"volume={gain_db:.2f}dB:precision=float"
    if not limited:
        return gain
    limit = 10 ** (ceiling_dbfs / 20)

    def limiter(attack_ms: int, back: str) -> str:
        return (f"aresample={_OVERSAMPLED_RATE},alimiter=limit={limit:.6f}:attack={attack_ms}:release=50:"
                f"level=false:latency=true,{back}")

    cutoff = min(1.0, _LOWPASS_HZ / (rate / 2))
    return f"{gain},{limiter(5, f'aresample={rate}:cutoff={cutoff:.3f}')},{limiter(1, f'aresample={rate}')}"


def window_meter(frames: int) -> str:
    """A filter branch that measures the first *frames* of a decoded window as pydub will send them: mixed to mono
    the way pydub mixes (half of each channel; a mono window as it is), with ebur128's loudness and true peak."""
    return f"pan=mono|c0<c0+c1,atrim=end_sample={frames},{measure_filter('true')},anullsink"


def measure_pcm(pcm: bytes, rate: int, filters: str = "anull", peak: str = "sample+true", *,
                sample_format: str = "f32le", name: str = "the voice clip") -> Loudness:
    """Run *filters* over *pcm* (mono *sample_format* at *rate*) and measure the result with ebur128."""
    proc = run_ffmpeg(
        ["-f", sample_format, "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
         "-af", f"{filters},{measure_filter(peak)}", "-f", "null", "-"],
        input_bytes=pcm,
    )
    measured = parse_ebur128(proc.stderr.decode("utf-8", "replace"))
    if proc.returncode != 0:
        raise refusal("unmeasurable", name=name)
    return measured


def measure_file(path: str | os.PathLike[str], *, name: str) -> Loudness:
    """Loudness and true peak of a written file, decoded the way a listener's player would."""
    proc = run_ffmpeg(["-i", str(path), "-af", measure_filter("true"), "-f", "null", "-"])
    measured = parse_ebur128(proc.stderr.decode("utf-8", "replace"))
    if proc.returncode != 0 or measured.integrated_lufs is None:
        raise refusal("unmeasurable", name=name)
    return measured


def choose_leveling(before: Loudness, limited_loudness: Callable[[float], float | None], *, name: str,
                    ceiling_dbfs: float = LIMITER_CEILING_DBFS, first_gain: float | None = None,
                    target: float = TARGET_LUFS) -> Leveling:
    """The gain that brings a voice measured as *before* to *target* once the limiter has tamed its peaks.

    Gain alone moves integrated loudness by exactly the gain, so when the true peak stays under
    *ceiling_dbfs* no measuring is needed. When the limiter has to act it also removes some loudness
    (on a quiet voice with loud claps, most of it, and not smoothly: the loudness gate counts the voice's
    quieter blocks or not depending on how loud the claps stay), so the limited result is measured,
    *limited_loudness* (gain) running the voice at that gain through level_filter at that ceiling, and
    the gain corrected by the secant method, from *first_gain* if given, until it lands within 0.35 LU.
    """
    if before.integrated_lufs is None or before.true_peak_dbtp is None:
        raise refusal("unmeasurable", name=name)
    gain = min(target - before.integrated_lufs, MAX_GAIN_DB)
    if before.true_peak_dbtp + gain <= ceiling_dbfs:
        return Leveling(gain, before.integrated_lufs + gain, limited=False)
    gain = gain if first_gain is None else min(first_gain, MAX_GAIN_DB)
    tried: list[tuple[float, float]] = []
    for _ in range(_MAX_MEASURES):
        result = limited_loudness(gain)
        if result is None:
            raise refusal("unmeasurable", name=name)
        tried.append((gain, result))
        if abs(target - result) <= _TOLERANCE_LU or (gain >= MAX_GAIN_DB and result < target):
            break
        if len(tried) >= 2 and tried[-1][0] != tried[-2][0]:
            (g0, r0), (g1, r1) = tried[-2], tried[-1]
            # The limiter makes loudness grow more slowly than gain (slope between 0 and 1).
            slope = min(1.0, max(0.05, (r1 - r0) / (g1 - g0)))
        else:
            slope = _FIRST_SLOPE
        gain = min(gain + (target - result) / slope, MAX_GAIN_DB)
    best_gain, best_result = min(tried, key=lambda t: abs(target - t[1]))
    return Leveling(best_gain, best_result, limited=True)
