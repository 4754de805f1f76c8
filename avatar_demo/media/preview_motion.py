"""The preview's motion, one value per video frame: mouth openness from the voice, blinks, the head and the camera."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Motion", "blinks", "frame_rms", "head_motion", "meter_level", "mouth_openness"]

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
class Motion:
    """Head and camera per frame: shift in pixels, roll in radians, zoom (1 = none) and smile in 0..1."""

    dx: np.ndarray
    dy: np.ndarray
    roll: np.ndarray
    zoom: np.ndarray
    smile: np.ndarray


def _ease(t: np.ndarray, start: float, rise: float) -> np.ndarray:
    """0 before *start*, easing to 1 over *rise* seconds."""
    v = np.clip((t - start) / rise, 0.0, 1.0)
    return v * v * (3 - 2 * v)


def head_motion(words: tuple[str, ...], frames: int, fps: int, face_size: float, *, seed: int = 0) -> Motion:
    """The head's motion for the prompt's *words* (see preview_words), on top of a slow idle sway.

    The sway is a few pixels and about a degree, from sines whose periods never line up; *seed*
    (from the prompt) sets their phases, so the same prompt moves the same way and another prompt
    differently. "still" keeps the head still; the camera moves only for "zoom in"/"zoom out".
    """
    t = np.arange(frames, dtype=np.float32) / fps
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 3)

    def wave(p1: float, p2: float, at: float) -> np.ndarray:
        return 0.65 * np.sin(2 * np.pi * t / p1 + at) + 0.35 * np.sin(2 * np.pi * t / p2 + 2 * at)

    idle = 0.0 if "still" in words else 1.0
    dx = idle * 0.015 * face_size * wave(7.3, 3.1, phase[0])
    dy = idle * 0.01 * face_size * wave(5.3, 2.7, phase[1])
    roll = idle * np.radians(1.2) * wave(5.9, 2.3, phase[2])
    begin = _ease(t, 0.2, 0.6)
    if "nod" in words:  # two nods, a pause, again: about 1.4 nods a second
        dy = dy + 0.05 * face_size * begin * np.sin(2 * np.pi * 1.4 * t) ** 2 * (np.sin(2 * np.pi * t / 3.0) > -0.3)
    if "shake" in words:
        dx = dx + 0.045 * face_size * begin * np.sin(2 * np.pi * 1.6 * t) * (np.sin(2 * np.pi * t / 3.2) > -0.3)
    if "tilt" in words:
        roll = roll + np.radians(7.0) * _ease(t, 0.3, 0.8)
    for name, side in (("look_left", -1.0), ("look_right", 1.0)):
        if name in words:
            dx = dx + side * 0.06 * face_size * _ease(t, 0.3, 0.7)
            roll = roll + side * np.radians(1.5) * _ease(t, 0.3, 0.7)
    smile = _ease(t, 0.3, 0.6) if "smile" in words else np.zeros_like(t)
    zoom = np.ones_like(t)
    span = max(float(t[-1]) if frames else 0.0, 1e-3)
    if "zoom_in" in words:
        zoom = 1.0 + 0.25 * _ease(t, 0.0, span)
    elif "zoom_out" in words:
        zoom = 1.25 - 0.25 * _ease(t, 0.0, span)
    return Motion(dx=dx.astype(np.float32), dy=dy.astype(np.float32), roll=roll.astype(np.float32),
                  zoom=zoom.astype(np.float32), smile=smile.astype(np.float32))
