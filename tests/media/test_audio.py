"""Voice clip preparation: every format, every fix, every refusal, checked on the output file."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest

from avatar_demo.core.errors import InputError
from avatar_demo.media.audio import MAX_AUDIO_BYTES, TARGET_LUFS, prepare_audio
from avatar_demo.media.ffmpeg import run_ffmpeg
from tests.helpers import facts, make_tone
from tests.media.measure import loudness


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".m4a", ".aac", ".ogg", ".webm", ".flac", ".mp4"])
def test_every_format_becomes_a_wav_of_the_same_length(tmp_path: Path, suffix: str) -> None:
    """mp3, wav, m4a, aac, ogg/opus, webm (browser recording), flac and a video's audio track: a short clip that
    needs only a gain comes out as 16-bit WAV (no encoder to run; every gateway takes WAV)."""
    src = make_tone(tmp_path / f"in{suffix}", 4.0)
    out = prepare_audio(src, tmp_path / "out")
    got = facts(out.path)
    assert (got.audio_codec, out.path.suffix) == ("pcm_s16le", ".wav")
    assert got.video_codec is None
    assert out.duration_s == pytest.approx(4.0, abs=0.1)
    assert got.duration_s == pytest.approx(4.0, abs=0.15)
    assert out.bytes == out.path.stat().st_size


def test_long_clip_is_trimmed_to_the_window(tmp_path: Path) -> None:
    """74.2 s is cut to the 60 s default, faded out where it was cut, and the user is told both."""
    out = prepare_audio(make_tone(tmp_path / "long.wav", 74.2), tmp_path / "out")
    assert out.duration_s == pytest.approx(60.0, abs=0.05)
    assert facts(out.path).duration_s == pytest.approx(60.0, abs=0.15)
    assert out.changes[:2] == ["trimmed 74.2 s → 60.0 s", "faded out 50 ms at the cut"]


def test_start_offset_and_max_seconds_choose_the_window(tmp_path: Path) -> None:
    """[start, start + max) is taken, faded in and out at both cuts."""
    out = prepare_audio(make_tone(tmp_path / "a.mp3", 30.0), tmp_path / "out", start=10.0, max_seconds=12.0)
    assert out.duration_s == pytest.approx(12.0, abs=0.05)
    assert out.changes[:4] == ["started at 10.0 s", "trimmed 30.0 s → 12.0 s", "faded in 20 ms at the cut",
                               "faded out 50 ms at the cut"]


@pytest.mark.parametrize("seconds", [1.2, 0.3])
def test_short_clip_is_padded_to_two_seconds(tmp_path: Path, seconds: float) -> None:
    """A 1.2 s clip, or one shorter than a loudness block (0.4 s), comes out 2.0 s long at the target loudness."""
    out = prepare_audio(make_tone(tmp_path / "short.wav", seconds), tmp_path / "out")
    assert out.duration_s == pytest.approx(2.0, abs=0.01)
    assert facts(out.path).duration_s == pytest.approx(2.0, abs=0.1)
    assert f"padded {seconds:.1f} s → 2.0 s with silence" in out.changes
    assert loudness(out.path).integrated_lufs == pytest.approx(TARGET_LUFS, abs=1.0)


RATE = 48000


def _write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _lavfi(path: Path, graph: str, seconds: float) -> Path:
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", graph, "-t", f"{seconds}", "-c:a", "pcm_s16le", str(path)]
    proc = run_ffmpeg(args)
    assert proc.returncode == 0, proc.stderr.decode()
    return path


def _clicky_voice(path: Path) -> Path:
    """A quiet voice-like tone with a loud 2 ms click every half second (a desk knock, a plosive)."""
    body = "sine=frequency=220:sample_rate=48000,volume='0.2+0.8*abs(sin(3*PI*t))':eval=frame,volume=-6dB"
    clicks = "aevalsrc='if(lt(mod(t\\,0.5)\\,0.002)\\,0.95*sin(2*PI*3000*t)\\,0)':s=48000"
    return _lavfi(path, f"{body}[b];{clicks}[c];[b][c]amix=inputs=2:normalize=0", 20.0)


def _dynamic_speech(path: Path) -> Path:
    """Speech-like bursts of band-limited noise with a high crest factor, at about -20 LUFS."""
    graph = ("anoisesrc=color=pink:amplitude=0.9:sample_rate=48000:seed=7,bandpass=f=800:width_type=o:w=3,"
             "volume='pow(abs(sin(2.3*PI*t)*sin(0.7*PI*t)),3)':eval=frame,volume=9dB")
    return _lavfi(path, graph, 20.0)


def _quiet_voice_loud_claps(path: Path) -> Path:
    """A high crest factor: a speech-like tone at -30 LUFS and five hand claps (white-noise bursts decaying over
    30 ms) that peak at 0 dBFS; with the claps the clip measures about -26 LUFS."""
    t = np.arange(20 * RATE) / RATE
    samples = 0.065 * np.sin(2 * np.pi * 220 * t) * (0.2 + 0.8 * np.abs(np.sin(3 * np.pi * t)))
    rng = np.random.default_rng(17)
    for at in (1.3, 5.1, 9.7, 13.2, 17.6):
        clap = rng.standard_normal(RATE // 5) * np.exp(-np.arange(RATE // 5) / (0.03 * RATE))
        samples[round(at * RATE):round(at * RATE) + clap.size] += clap / np.abs(clap).max()
    return _write_wav(path, samples)


def _whisper_between_clipped_claps(path: Path) -> Path:
    """The extreme: a voice at about -55 LUFS and ten 100 ms bursts of clipped noise (the clip's loudness is the
    claps'). The first MP3 overshoots the ceiling, and once the limiter is lowered the loudness gate drops the
    voice's blocks: the gain has to be found again under the lower limit."""
    t = np.arange(20 * RATE) / RATE
    samples = 0.0035 * np.sin(2 * np.pi * 220 * t) * (0.2 + 0.8 * np.abs(np.sin(3 * np.pi * t)))
    rng = np.random.default_rng(2)
    for at in np.arange(0.5, 20, 2.0):
        burst = rng.uniform(-1.5, 1.5, RATE // 10) * np.exp(-np.arange(RATE // 10) / (0.02 * RATE))
        samples[round(at * RATE):round(at * RATE) + burst.size] += burst
    return _write_wav(path, np.clip(samples, -0.999, 0.999))


def _quiet_tone(path: Path) -> Path:
    return make_tone(path, 6.0, volume_db=-30)


def _loud_tone(path: Path) -> Path:
    return make_tone(path, 6.0, volume_db=12)


_GAIN = re.compile(r"^([+−]\d+\.\d) dB to (−?\d+\.\d) LUFS$")
_LIMITED = "peaks limited to −1.0 dBTP"


def _figure(text: str) -> float:
    return float(text.replace("−", "-"))


@pytest.mark.parametrize(
    ("make", "limited"),
    [(_quiet_tone, False), (_loud_tone, False), (_clicky_voice, True), (_dynamic_speech, True),
     (_quiet_voice_loud_claps, True), (_whisper_between_clipped_claps, True)],
    ids=["quiet-tone", "loud-tone", "quiet-voice-loud-clicks", "dynamic-speech", "quiet-voice-loud-claps",
         "whisper-between-clipped-claps"],
)
def test_loudness_reaches_the_target_under_a_true_peak_ceiling(tmp_path: Path, make, limited: bool) -> None:
    """-16 LUFS ±1 LU and true peak ≤ -1 dBTP, measured on the file written (WAV for a plain gain, MP3 when the
    limiter had to work); the changes give the gain and the loudness reached, and say when peaks were limited."""
    src = make(tmp_path / "voice.wav")
    before = loudness(src)
    out = prepare_audio(src, tmp_path / "out")
    after = loudness(out.path)
    assert after.integrated_lufs == pytest.approx(TARGET_LUFS, abs=1.0)
    assert after.true_peak_dbtp <= -1.0
    figures = [m for m in map(_GAIN.match, out.changes) if m]
    assert len(figures) == 1, out.changes
    said_gain, said_after = _figure(figures[0].group(1)), _figure(figures[0].group(2))
    assert said_after == pytest.approx(after.integrated_lufs, abs=0.5)
    assert out.source_loudness_lufs == pytest.approx(before.integrated_lufs, abs=0.5)
    if limited:
        # The limiter only takes loudness away: the gain applied before it is at least the loudness gained.
        assert said_gain >= after.integrated_lufs - before.integrated_lufs - 0.3
    else:
        assert said_gain == pytest.approx(after.integrated_lufs - before.integrated_lufs, abs=0.5)
    assert (_LIMITED in out.changes) == limited
    assert out.path.suffix == (".mp3" if limited else ".wav")
    assert out.loudness_lufs == pytest.approx(said_after, abs=0.05)


def test_clip_already_at_the_target_is_left_alone(tmp_path: Path) -> None:
    """Within half a LU of -16 and under the ceiling: no gain, and no change listed."""
    src = make_tone(tmp_path / "quiet.wav", 6.0, volume_db=-30)
    first = prepare_audio(src, tmp_path / "a")
    again = prepare_audio(first.path, tmp_path / "b")
    assert again.changes == []
    assert loudness(again.path).integrated_lufs == pytest.approx(TARGET_LUFS, abs=1.0)


@pytest.mark.parametrize(("seconds", "codec"), [(38.0, "pcm_s16le"), (41.0, "mp3")])
def test_wav_only_while_its_base64_text_fits_5_mb(tmp_path: Path, seconds: float, codec: str) -> None:
    """A gateway may count the base64 text rather than the file: 38 s of WAV is 4.9 MB as text, 41 s is 5.2."""
    out = prepare_audio(make_tone(tmp_path / "in.wav", seconds), tmp_path / "out")
    assert facts(out.path).audio_codec == codec
    assert (out.bytes + 2) // 3 * 4 <= MAX_AUDIO_BYTES


def test_sixty_seconds_of_48k_stereo_wav_fits_well_under_5_mb(tmp_path: Path) -> None:
    """An ~11 MB WAV becomes an MP3 far below the gateway limit."""
    src = make_tone(tmp_path / "big.wav", 60.0, rate=48000, channels=2)
    assert src.stat().st_size > 11_000_000
    out = prepare_audio(src, tmp_path / "out")
    assert out.bytes <= MAX_AUDIO_BYTES
    assert facts(out.path).audio_codec == "mp3", "60 s would not fit 5 MB as WAV"
    assert out.bytes < 1_500_000


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _written(p, b""), "The voice clip bad.mp3 is empty (0 bytes): upload or record it again."),
        (lambda p: _written(p, b"hello, not audio"), ("bad.mp3 is not a sound file this app can read: upload an "
                                                      "MP3, WAV, M4A, OGG or WebM recording (or a video with sound).")),
        (lambda p: make_tone(p.with_suffix(".wav"), 5.0, silent=True),
         "The voice clip bad.wav is silent: record or upload a clip in which someone speaks."),
    ],
    ids=["empty", "not-audio", "silent"],
)
def test_refusals_are_specific_and_write_nothing(tmp_path: Path, make, message: str) -> None:
    """Each bad clip gets its own message and leaves the output folder empty."""
    src = make(tmp_path / "bad.mp3")
    out_dir = tmp_path / "out"
    with pytest.raises(InputError) as refused:
        prepare_audio(src, out_dir)
    assert str(refused.value) == message
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_video_without_sound_is_refused(tmp_path: Path) -> None:
    """A video with no audio track says so."""
    src = tmp_path / "mute.mp4"
    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "color=s=64x64:d=1", "-c:v", "libx264", str(src)])
    with pytest.raises(InputError, match=re.escape("mute.mp4 is a video without sound: upload a recording")):
        prepare_audio(src, tmp_path / "out")


def test_start_past_the_end_is_refused(tmp_path: Path) -> None:
    """The message names the clip, its length and a start that would do."""
    with pytest.raises(InputError) as refused:
        prepare_audio(make_tone(tmp_path / "a.wav", 3.0), tmp_path / "out", start=10.0)
    assert str(refused.value) == ("The start offset 10.0 s is past the end of the 3.0 s clip a.wav: "
                                  "choose a start under 3.0 s.")


@pytest.mark.parametrize(
    ("suffix", "channels", "start", "edited"),
    [(".mp3", 2, 0.0, False), (".m4a", 1, 0.0, False), (".mp3", 2, 5.0, True), (".webm", 2, 0.0, False)],
    ids=["stereo-whole", "mono-whole", "stereo-cut-and-faded", "browser-recording"],
)
def test_the_loudness_reported_is_that_of_the_file_sent(tmp_path: Path, suffix: str, channels: int, start: float,
                                                        edited: bool) -> None:
    """Whether the decode run's meter or a run over pydub's edited samples measured it, the loudness reported is
    the file's own (within 0.1 LU) and the target is met: the meter mixes channels exactly as pydub does."""
    src = make_tone(tmp_path / f"voice{suffix}", 20.0 if edited else 8.0, rate=48000, channels=channels)
    out = prepare_audio(src, tmp_path / "out", start=start, max_seconds=10.0)
    assert out.path.suffix == ".wav"
    assert any(c.startswith("faded") for c in out.changes) == edited
    after = loudness(out.path)
    assert out.loudness_lufs == pytest.approx(after.integrated_lufs, abs=0.1)
    assert after.integrated_lufs == pytest.approx(TARGET_LUFS, abs=0.2)


def test_a_prepared_voice_prepared_again_is_the_same_file(tmp_path: Path) -> None:
    """A re-run prepares its kept voice again: nothing to change, so the bytes stay (and are kept once)."""
    first = prepare_audio(make_tone(tmp_path / "voice.mp3", 3.0), tmp_path / "a")
    again = prepare_audio(first.path, tmp_path / "b")
    assert again.changes == [] and again.path.read_bytes() == first.path.read_bytes()
    assert again.bytes == first.bytes


@pytest.mark.parametrize(("chunk", "payload"), [(b"data", "47 s of sound"), (b"pad ", "40 MB of padding"),
                                                (b"LIST", "a trailing tag")],
                         ids=["second-data-chunk", "padding-chunk", "trailing-list"])
def test_a_voice_is_sent_as_it_came_only_when_it_is_exactly_what_was_measured(tmp_path: Path, chunk: bytes,
                                                                              payload: str) -> None:
    """Attack: a prepared-looking WAV (48 kHz mono 16-bit, at the target loudness) with a second `data` chunk of
    47 s, or 40 MB of padding, was kept and sent byte for byte: Python's wave read 2.5 s and the run was charged
    so, while ffmpeg (and a gateway) played 47 s, or received 41 MB. Now the app sends the file it wrote."""
    from tests.helpers import decoded_seconds, smuggled_wav, tone_pcm

    clean = prepare_audio(make_tone(tmp_path / "voice.mp3", 2.5), tmp_path / "a")
    extra = {"47 s of sound": tone_pcm(47.0), "40 MB of padding": bytes(40_000_000),
             "a trailing tag": b"INFOISFT\x06\x00\x00\x00forge\x00"}[payload]
    crafted = smuggled_wav(tmp_path / "crafted.wav", clean.path, chunk=chunk, payload=extra)
    out = prepare_audio(crafted, tmp_path / "b")
    assert out.changes == []  # nothing to change, as far as the samples wave reads go
    assert out.bytes == out.path.stat().st_size <= MAX_AUDIO_BYTES
    assert decoded_seconds(out.path) == pytest.approx(out.duration_s, abs=0.01)
    assert out.duration_s == clean.duration_s and out.bytes == clean.bytes
