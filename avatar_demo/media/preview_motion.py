"""The preview's motion, one value per video frame: mouth openness from the voice, blinks and a slow head sway."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Sway", "blinks", "frame_rms", "meter_level", "mouth_openness", "sway"]

#: Below this many dB under the voice's loud frames the mouth is shut: pauses, breaths and room
#: noise do not move the jaw, while a syllable's quieter start and end still part the lips.
GATE_DB = 30.0
# Per-frame smoothing of the openness. A syllable is 3-8 per second, i.e. 3-8 frames at 25 fps,
# so the jaw must open within a frame and close within about two, or syllables blur together.
_ATTACK = 0.8
_RELEASE = 0.6
#: Eyelid closure over the frames of one blink (160 ms at 25 fps): quick down, slower up.
BLINK_SHAPE = (0.55, 1.0, 0.85, 0.4)
#: Seconds between blinks, drawn uniformly (people blink every 2-6 s when talking).
BLINK_GAP_S = (2.0, 6.0)


def frame_rms(samples: np.ndarray, rate: int, frames: int, fps: int) -> np.ndarray:
    """RMS of the samples shown with each frame: frame i covers [i/fps, (i+1)/fps)."""
    edges = np.minimum((np.arange(frames + 1) * rate) // fps, samples.size)
    squares = np.concatenate(([0.0], np.cumsum(samples.astype(np.float64) ** 2)))
    counts = np.maximum(np.diff(edges), 1)
    return np.sqrt(np.diff(squares[edges]) / counts).astype(np.float32)


def _reference(rms: np.ndarray) -> float:
    """The level of the voice's loud frames, against which openness is judged."""
    voiced = rms[rms > 0]
    return float(np.percentile(voiced, 95)) if voiced.size else 0.0


def mouth_openness(rms: np.ndarray) -> np.ndarray:
    """Openness in 0..1 per frame: loudness in dB under the loud frames, gated, then smoothed like a jaw."""
    ref = _reference(rms)
    if ref <= 0:
        return np.zeros_like(rms)
    with np.errstate(divide="ignore"):
        db = 20 * np.log10(rms / ref)
    # Squared, so the dips between syllables (10-20 dB down) nearly close the mouth.
    target = np.clip((db + GATE_DB) / GATE_DB, 0.0, 1.0) ** 2
    opened = np.zeros_like(target)
    level = 0.0
    for i, goal in enumerate(target):
        level += (_ATTACK if goal > level else _RELEASE) * (goal - level)
        opened[i] = level
    return opened


def meter_level(rms: np.ndarray) -> np.ndarray:
    """Loudness in 0..1 with a quick attack and slower release, like a VU meter (the no-face fallback)."""
    ref = _reference(rms) or 1.0
    level = np.clip(rms / ref, 0.0, 1.0)
    smooth = np.zeros_like(level)
    prev = 0.0
    for i, value in enumerate(level):
        prev += (0.6 if value > prev else 0.25) * (value - prev)
        smooth[i] = prev
    return smooth


def blinks(frames: int, fps: int, *, seed: int = 7) -> np.ndarray:
    """Eyelid closure in 0..1 per frame; the same seed gives the same blinks, so renders are repeatable."""
    rng = np.random.default_rng(seed)
    closure = np.zeros(frames, dtype=np.float32)
    at = rng.uniform(0.8, 2.5)  # the first blink comes soon, so even a short clip shows one
    while (start := round(at * fps)) < frames:
        shape = BLINK_SHAPE[: frames - start]
        closure[start : start + len(shape)] = shape
        at += rng.uniform(*BLINK_GAP_S)
    return closure


@dataclass(frozen=True)
class Sway:
    """Head motion per frame: shift in pixels and roll in radians."""

    dx: np.ndarray
    dy: np.ndarray
    roll: np.ndarray


def sway(frames: int, fps: int, face_size: float) -> Sway:
    """A slow idle sway: a few pixels and about a degree, from sines whose periods never line up."""
    t = np.arange(frames, dtype=np.float32) / fps

    def wave(p1: float, p2: float, phase: float) -> np.ndarray:
        return 0.65 * np.sin(2 * np.pi * t / p1 + phase) + 0.35 * np.sin(2 * np.pi * t / p2 + 2 * phase)

    return Sway(dx=0.015 * face_size * wave(7.3, 3.1, 0.4), dy=0.01 * face_size * wave(5.3, 2.7, 1.1),
                roll=math.radians(1.2) * wave(5.9, 2.3, 2.0))
