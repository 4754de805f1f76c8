"""Voice clip preparation: every format, every fix, every refusal, checked on the output file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from avatar_demo.errors import InputError
from avatar_demo.media.audio import MAX_AUDIO_BYTES, TARGET_LUFS, prepare_audio
from avatar_demo.media.ffmpeg import run_ffmpeg
from tests.helpers import facts, make_tone


def _loudness(path: Path) -> float:
    pcm = run_ffmpeg(["-i", str(path), "-ac", "1", "-ar", "44100", "-f", "s16le", "pipe:1"]).stdout
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    return pyloudnorm.Meter(44100).integrated_loudness(samples)


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".m4a", ".aac", ".ogg", ".webm", ".flac", ".mp4"])
def test_every_format_becomes_an_mp3_of_the_same_length(tmp_path: Path, suffix: str) -> None:
    """mp3, wav, m4a, aac, ogg/opus, webm (browser recording), flac and a video's audio track."""
    src = make_tone(tmp_path / f"in{suffix}", 4.0)
    out = prepare_audio(src, tmp_path / "out")
    got = facts(out.path)
    assert got.audio_codec == "mp3"
    assert got.video_codec is None
    assert out.duration_s == pytest.approx(4.0, abs=0.1)
    assert got.duration_s == pytest.approx(4.0, abs=0.15)
    assert out.bytes == out.path.stat().st_size


def test_long_clip_is_trimmed_to_the_window(tmp_path: Path) -> None:
    """74.2 s is cut to the 60 s default, and the user is told."""
    out = prepare_audio(make_tone(tmp_path / "long.wav", 74.2), tmp_path / "out")
    assert out.duration_s == pytest.approx(60.0, abs=0.05)
    assert facts(out.path).duration_s == pytest.approx(60.0, abs=0.15)
    assert "trimmed 74.2 s to 60.0 s" in out.changes


def test_start_offset_and_max_seconds_choose_the_window(tmp_path: Path) -> None:
    """[start, start + max) is taken."""
    out = prepare_audio(make_tone(tmp_path / "a.mp3", 30.0), tmp_path / "out", start=10.0, max_seconds=12.0)
    assert out.duration_s == pytest.approx(12.0, abs=0.05)
    assert "started at 10.0 s" in out.changes


def test_short_clip_is_padded_to_two_seconds(tmp_path: Path) -> None:
    """A 1.2 s clip comes out 2.0 s long."""
    out = prepare_audio(make_tone(tmp_path / "short.wav", 1.2), tmp_path / "out")
    assert out.duration_s == pytest.approx(2.0, abs=0.01)
    assert facts(out.path).duration_s == pytest.approx(2.0, abs=0.1)
    assert "padded 1.2 s to 2.0 s with silence" in out.changes


def test_loudness_is_normalized_to_the_target(tmp_path: Path) -> None:
    """A quiet clip is brought to -16 LUFS."""
    out = prepare_audio(make_tone(tmp_path / "quiet.wav", 6.0, volume_db=-30), tmp_path / "out")
    assert _loudness(out.path) == pytest.approx(TARGET_LUFS, abs=1.0)
    assert any(c.startswith("normalized loudness from") for c in out.changes)


def test_sixty_seconds_of_48k_stereo_wav_fits_well_under_5_mb(tmp_path: Path) -> None:
    """An ~11 MB WAV becomes an MP3 far below the gateway limit."""
    src = make_tone(tmp_path / "big.wav", 60.0, rate=48000, channels=2)
    assert src.stat().st_size > 11_000_000
    out = prepare_audio(src, tmp_path / "out")
    assert out.bytes <= MAX_AUDIO_BYTES
    assert out.bytes < 1_500_000


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _written(p, b""), "is empty (0 bytes)"),
        (lambda p: _written(p, b"hello, not audio"), "not a sound or video file"),
        (lambda p: make_tone(p.with_suffix(".wav"), 5.0, silent=True), "is silent"),
    ],
    ids=["empty", "not-audio", "silent"],
)
def test_refusals_are_specific_and_write_nothing(tmp_path: Path, make, message: str) -> None:
    """Each bad clip gets its own message and leaves the output folder empty."""
    src = make(tmp_path / "bad.mp3")
    out_dir = tmp_path / "out"
    with pytest.raises(InputError, match=re.escape(message)):
        prepare_audio(src, out_dir)
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_video_without_sound_is_refused(tmp_path: Path) -> None:
    """A video with no audio track says so."""
    src = tmp_path / "mute.mp4"
    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "color=s=64x64:d=1", "-c:v", "libx264", str(src)])
    with pytest.raises(InputError, match="has no audio track"):
        prepare_audio(src, tmp_path / "out")


def test_start_past_the_end_is_refused(tmp_path: Path) -> None:
    """The message names the clip's length."""
    with pytest.raises(InputError, match="past the end of the 3.0 s clip"):
        prepare_audio(make_tone(tmp_path / "a.wav", 3.0), tmp_path / "out", start=10.0)
