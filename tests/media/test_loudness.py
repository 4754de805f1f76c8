"""The true-peak limiter: peaks between samples are caught, which only oversampling before limiting can do."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from avatar_demo.media.audio import prepare_audio
from avatar_demo.media.loudness import level_filter, measure_pcm
from tests.media.measure import loudness

RATE = 48000


def _between_samples(seconds: float, *, amplitude: float = 1.0) -> np.ndarray:
    """A 12 kHz tone (a quarter of the rate) at 45°: every sample sits at 0.707 of a peak that falls between them,
    so the sample peak reads 3 dB below the true peak."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 12000 * t + np.pi / 4)).astype(np.float32)


def test_the_limiter_catches_peaks_between_samples() -> None:
    """Samples at -3 dBFS, true peak 0 dBTP: limited, the true peak ends under the -1 dBTP ceiling."""
    pcm = _between_samples(2.0).tobytes()
    before = measure_pcm(pcm, RATE)
    assert before.sample_peak_dbfs is not None and before.sample_peak_dbfs < -2.8
    assert before.true_peak_dbtp is not None and before.true_peak_dbtp > -0.5
    after = measure_pcm(pcm, RATE, level_filter(0.0, limited=True, rate=RATE))
    assert after.true_peak_dbtp is not None and after.true_peak_dbtp <= -1.0


def test_a_prepared_voice_with_peaks_between_samples_stays_under_the_ceiling(tmp_path: Path) -> None:
    """A quiet voice with bursts whose peaks fall between samples: the file written peaks at or under -1 dBTP."""
    t = np.arange(6 * RATE) / RATE
    voice = 0.03 * np.sin(2 * np.pi * 220 * t) * (0.2 + 0.8 * np.abs(np.sin(3 * np.pi * t)))
    bursts = _between_samples(6.0) * ((t % 1.0) < 0.05)
    samples = np.clip(voice + bursts, -1, 1)
    src = tmp_path / "voice.wav"
    with wave.open(str(src), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes((samples * 32767).astype("<i2").tobytes())
    out = prepare_audio(src, tmp_path / "out")
    assert loudness(out.path).true_peak_dbtp <= -1.0
