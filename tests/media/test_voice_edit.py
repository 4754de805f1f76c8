"""pydub's edits of a decoded window: the cut and its fades, mono, silence at the ends, padding; and that a real
preparation goes through pydub without ever needing ffprobe."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from avatar_demo.media.audio import prepare_audio
from avatar_demo.media.voice_edit import HEADROOM_DB, RATE, edit_window, from_wav_frames
from tests.helpers import make_tone


def _segment(*parts: tuple[float, float], channels: int = 1):  # type: ignore[no-untyped-def]
    """A 48 kHz 16-bit segment of (seconds, dBFS) parts: a 220 Hz tone at that peak level, or silence for None."""
    pieces = []
    for seconds, level in parts:
        t = np.arange(round(seconds * RATE)) / RATE
        pieces.append(np.zeros_like(t) if level is None else 10 ** (level / 20) * np.sin(2 * np.pi * 220 * t))
    mono = np.concatenate(pieces)
    samples = np.repeat(mono[:, None], channels, axis=1).ravel()
    return from_wav_frames(np.round(samples * 32767).astype("<i2").tobytes(), width=2, channels=channels)


def _samples(segment) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A working-format segment's samples at their true level (1.0 is full scale)."""
    return np.frombuffer(segment.raw_data, "<i4") / 2**31 * 10 ** (HEADROOM_DB / 20)


_SILENCE = None
_CASES = [
    ("silence-at-both-ends", [(1.5, _SILENCE), (3.0, -12), (1.0, _SILENCE)], {},
     ["removed 1.3 s of silence at the start", "removed 0.7 s of silence at the end"], 3.5),
    ("room-noise-is-silence", [(1.0, -62), (3.0, -12), (1.0, -62)], {},
     ["removed 0.8 s of silence at the start", "removed 0.7 s of silence at the end"], 3.5),
    ("soft-onset-survives", [(1.0, -44), (3.0, -12)], {}, [], 4.0),
    ("never-trimmed-below-two-seconds", [(1.0, _SILENCE), (1.5, -12)], {},
     ["removed 0.5 s of silence at the start"], 2.0),
    ("short-silence-is-kept", [(0.25, _SILENCE), (3.0, -12), (0.35, _SILENCE)], {}, [], 3.6),
    ("short-clip-padded", [(1.2, -12)], {}, ["padded 1.2 s → 2.0 s with silence"], 2.0),
    ("stereo-mixed", [(3.0, -12)], {"channels": 2}, ["mixed stereo to mono"], 3.0),
    ("cut-at-both-ends", [(4.0, -6)], {"start": 1.0, "seconds": 3.0, "source_s": 10.0},
     ["started at 1.0 s", "trimmed 10.0 s → 3.0 s", "faded in 20 ms at the cut", "faded out 50 ms at the cut"],
     3.0),
    ("cut-inside-silence-needs-no-fade", [(3.0, -6), (1.0, _SILENCE)], {"start": 1.0, "seconds": 3.9,
                                                                        "source_s": 10.0},
     ["started at 1.0 s", "trimmed 10.0 s → 3.9 s", "removed 0.6 s of silence at the end",
      "faded in 20 ms at the cut"], 3.3),
    ("end-of-clip-is-not-a-cut", [(3.02, -6)], {"seconds": 3.0, "source_s": 3.02}, [], 3.0),
]


@pytest.mark.parametrize(("parts", "options", "changes", "seconds"), [case[1:] for case in _CASES],
                         ids=[case[0] for case in _CASES])
def test_each_edit_is_made_and_said(parts, options: dict, changes: list[str], seconds: float) -> None:
    """The window comes out mono, as long as the edits make it, and the changes say exactly what was done."""
    options = dict(options)
    channels = options.pop("channels", 1)
    settings = {"seconds": 60.0, "start": 0.0, "source_s": None, "source_channels": channels, **options}
    voice = edit_window(_segment(*parts, channels=channels), **settings)
    assert voice.changes == changes
    # Only samples pydub changed (beyond the mix and the cut) need measuring again after the decode run's meter.
    assert voice.edited == any(c.startswith(("removed", "faded", "padded")) for c in changes)
    assert voice.segment.channels == 1 and voice.segment.frame_rate == RATE
    assert voice.seconds == pytest.approx(seconds, abs=0.011)


def test_fades_start_and_end_a_cut_window_at_zero() -> None:
    """A window cut inside a -6 dBFS tone starts and ends at silence (no click) and is untouched in between."""
    voice = edit_window(_segment((4.0, -6)), seconds=3.0, start=1.0, source_s=10.0, source_channels=1)
    samples = np.abs(_samples(voice.segment))
    peak = 10 ** (-6 / 20)
    assert samples[:5].max() < 0.01 * peak
    assert samples[-5:].max() < 0.01 * peak
    # Halfway through each fade the level is about half; past the fades it is the tone's own.
    assert samples[int(0.008 * RATE):int(0.012 * RATE)].max() == pytest.approx(peak / 2, rel=0.25)
    assert samples[int(0.05 * RATE):-int(0.06 * RATE)].max() == pytest.approx(peak, rel=0.01)


def test_a_gain_far_above_full_scale_does_not_clip_in_the_working_format() -> None:
    """A 0 dBFS clap raised by 40 dB (the largest gain) stays an exact 100× copy in the 32-bit working samples:
    nothing saturates before the limiter."""
    voice = edit_window(_segment((3.0, 0.0)), seconds=60.0, start=0.0, source_s=None, source_channels=1)
    raised = np.frombuffer(voice.gained(40.0), "<i4") / 2**31 * 10 ** (HEADROOM_DB / 20)
    assert np.abs(raised).max() == pytest.approx(100.0, rel=0.001)
    assert np.allclose(raised, 100 * _samples(voice.segment), atol=1e-3)


def test_a_preparation_is_edited_by_pydub_and_never_needs_ffprobe(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With no ffmpeg or ffprobe on PATH, a stereo MP3 window is cut, faded, mixed and written through pydub's
    AudioSegment; nothing asks pydub to decode a file, and no program but the wheel's ffmpeg is started."""
    with warnings.catch_warnings():  # the same warning the app filters: no ffmpeg on PATH, ours is the wheel's
        warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
        import pydub

    src = make_tone(tmp_path / "talk.mp3", 30.0, rate=48000, channels=2)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    called: list[str] = []
    for method in ("get_sample_slice", "set_channels", "fade_in", "fade_out", "apply_gain", "set_sample_width",
                   "export"):
        real = getattr(pydub.AudioSegment, method)
        monkeypatch.setattr(pydub.AudioSegment, method,
                            lambda self, *a, _real=real, _name=method, **kw: called.append(_name) or _real(self, *a, **kw))

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pydub was asked to decode or probe a file")

    monkeypatch.setattr(pydub.AudioSegment, "from_file", refuse)
    monkeypatch.setattr(pydub.utils, "mediainfo_json", refuse)
    started: list[str] = []
    real_popen = subprocess.Popen.__init__

    def popen(self, args, *rest, **kw):  # type: ignore[no-untyped-def]
        started.append(Path(args[0]).name)
        real_popen(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", popen)

    out = prepare_audio(src, tmp_path / "out", start=5.0, max_seconds=10.0)
    assert out.path.suffix == ".wav" and out.duration_s == pytest.approx(10.0, abs=0.01)
    assert out.changes[:5] == ["started at 5.0 s", "trimmed 30.0 s → 10.0 s", "mixed stereo to mono",
                               "faded in 20 ms at the cut", "faded out 50 ms at the cut"]
    assert {"get_sample_slice", "set_channels", "fade_in", "fade_out", "apply_gain", "set_sample_width",
            "export"} <= set(called)
    assert started and all("ffmpeg" in name and "ffprobe" not in name for name in started), started
