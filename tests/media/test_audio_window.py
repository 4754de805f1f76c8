"""The voice window: checked against the file's header before decoding, reached by seeking, not from zero."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_demo.core.errors import InputError
from avatar_demo.media.audio import prepare_audio
from avatar_demo.media.ffmpeg import ffmpeg_exe, read_header, run_ffmpeg
from avatar_demo.media.voice_edit import LOOKAHEAD_S
from tests.helpers import make_tone

ROOT = Path(__file__).resolve().parents[2]
_REMOVED_AT_START = re.compile(r"removed (\d+\.\d) s of silence at the start")
HOUR_S = 3600.0
#: Only the last ten seconds of the hour-long file make a sound.
TONE_FROM_S = 3590.0


@pytest.fixture(scope="module")
def hour_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hour of 8 kbit/s MP3 (3.6 MB, ~2 s to make) that is silent until 3590 s."""
    path = tmp_path_factory.mktemp("long") / "hour.mp3"
    tone = f"sine=frequency=440:sample_rate=8000,volume='if(gte(t,{TONE_FROM_S:g}),1,0)':eval=frame"
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", tone, "-t", f"{HOUR_S:g}",
                       "-c:a", "libmp3lame", "-b:a", "8k", "-ar", "8000", str(path)])
    assert proc.returncode == 0, proc.stderr.decode()
    return path


def _prepare_logging_ffmpeg(tmp_path: Path, src: Path, start: float, max_seconds: float) -> tuple[str, list[list[str]]]:
    """Run prepare_audio in a fresh process whose ffmpeg (AVATAR_FFMPEG) logs every command line.

    Returns the outcome (the InputError message, or "ok") and the ffmpeg calls in order.
    """
    log = tmp_path / "ffmpeg-calls.jsonl"
    wrapper = tmp_path / "ffmpeg-logging"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as fh:\n"
        "    fh.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"os.execv({ffmpeg_exe()!r}, [{ffmpeg_exe()!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    code = (
        "import sys\n"
        "from avatar_demo.core.errors import InputError\n"
        "from avatar_demo.media.audio import prepare_audio\n"
        "try:\n"
        f"    prepare_audio({str(src)!r}, {str(tmp_path / 'out')!r}, start={start!r}, max_seconds={max_seconds!r})\n"
        "    print('ok')\n"
        "except InputError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "AVATAR_FFMPEG": str(wrapper), "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 0, proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc.stdout.strip(), calls


def _decodes(call: list[str]) -> bool:
    """Whether an ffmpeg call writes output (decodes), rather than only opening the file's header."""
    return any(arg.startswith("pipe:") or arg in ("-f", "-c:a", "-af", "-filter_complex") for arg in call)


def test_start_past_the_end_of_an_hour_is_refused_before_decoding(tmp_path: Path, hour_mp3: Path) -> None:
    """Only the header is read: one ffmpeg call, with no output, and the message names the length."""
    outcome, calls = _prepare_logging_ffmpeg(tmp_path, hour_mp3, start=HOUR_S + 100, max_seconds=60)
    assert outcome == ("The start offset 3700.0 s is past the end of the 3600.0 s clip hour.mp3: "
                       "choose a start under 3600.0 s.")
    assert len(calls) == 1
    assert not _decodes(calls[0])
    assert not (tmp_path / "out").exists()


def test_window_near_the_end_is_reached_by_seeking(tmp_path: Path, hour_mp3: Path) -> None:
    """The decode seeks (-ss before -i) and reads only the window (and a look-ahead that shows whether the clip
    goes on after it), which holds the tone."""
    outcome, calls = _prepare_logging_ffmpeg(tmp_path, hour_mp3, start=TONE_FROM_S, max_seconds=10)
    assert outcome == "ok"
    decoding = [call for call in calls if _decodes(call)]
    first = decoding[0]
    assert "-ss" in first and first.index("-ss") < first.index("-i")
    assert float(first[first.index("-ss") + 1]) == pytest.approx(TONE_FROM_S)
    assert float(first[first.index("-t") + 1]) == pytest.approx(10.0 + LOOKAHEAD_S)
    assert str(hour_mp3) in first
    # Every later call works on the decoded window, never on the hour-long file again.
    assert all(str(hour_mp3) not in call for call in decoding[1:])


def test_window_takes_the_right_part_of_a_long_file(tmp_path: Path, hour_mp3: Path) -> None:
    """[3590, 3600) holds the tone; [3000, 3060) is silence and refused as such."""
    out = prepare_audio(hour_mp3, tmp_path / "out", start=TONE_FROM_S, max_seconds=10)
    # Just after a seek, a low-rate MP3 decodes to a few silent frames (~0.3 s here): removed, and said so.
    removed = [float(m.group(1)) for m in map(_REMOVED_AT_START.fullmatch, out.changes) if m]
    assert removed and removed[0] <= 0.3
    assert out.duration_s == pytest.approx(10.0 - removed[0], abs=0.05)
    assert out.source_duration_s == pytest.approx(HOUR_S, abs=0.5)
    assert "started at 3590.0 s" in out.changes
    with pytest.raises(InputError) as refused:
        prepare_audio(hour_mp3, tmp_path / "other", start=3000, max_seconds=60)
    assert str(refused.value) == ("The part of hour.mp3 from 3000.0 s to 3060.0 s is silent: "
                                  "choose a start where someone speaks.")


@pytest.mark.parametrize(
    ("start", "message"),
    [(3.0, "past the end of the 3.0 s clip"), (7.5, "past the end of the 3.0 s clip")],
)
def test_start_past_the_end_of_a_short_clip(tmp_path: Path, start: float, message: str) -> None:
    """The refusal comes from the header for any format that states its duration."""
    src = tmp_path / "a.wav"
    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300", "-t", "3", str(src)])
    with pytest.raises(InputError, match=message):
        prepare_audio(src, tmp_path / "out", start=start)


def test_header_lists_streams_and_duration_without_decoding(tmp_path: Path) -> None:
    """An MP3 with cover art is one audio stream (the picture is not a video); a text file is unreadable."""
    cover = tmp_path / "cover.png"
    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "color=s=32x32:d=1", "-frames:v", "1", str(cover)])
    song = tmp_path / "song.mp3"
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300", "-i", str(cover), "-t", "2.5",
                       "-map", "0:a", "-map", "1:v", "-c:v", "png", "-disposition:v", "attached_pic", str(song)])
    assert proc.returncode == 0, proc.stderr.decode()
    header = read_header(song)
    assert header.readable and header.audio_streams == 1 and header.video_streams == 0
    assert header.duration_s == pytest.approx(2.5, abs=0.1)
    text = tmp_path / "notes.mp3"
    text.write_text("not audio")
    assert not read_header(text).readable


@pytest.mark.parametrize("rate", [48000, 44100])
def test_a_wav_voice_costs_one_ffmpeg_run(tmp_path: Path, rate: int) -> None:
    """A browser's recording (PCM WAV): its header is read directly and pydub writes a plain gain directly, so one
    ffmpeg run does all the rest: at 48 kHz it measures pydub's samples, at another rate it resamples them and
    measures the window on the way. A start past its end needs no run at all."""
    voice = make_tone(tmp_path / "recording.wav", 3.0, rate=rate)
    (tmp_path / "whole").mkdir()
    (tmp_path / "late").mkdir()
    outcome, calls = _prepare_logging_ffmpeg(tmp_path / "whole", voice, start=0, max_seconds=60)
    assert outcome == "ok" and len(calls) == 1 and _decodes(calls[0])
    assert "pipe:0" in calls[0] and "ebur128" in " ".join(calls[0])
    outcome, calls = _prepare_logging_ffmpeg(tmp_path / "late", voice, start=10, max_seconds=60)
    assert "past the end of the 3.0 s clip" in outcome and calls == []


@pytest.mark.parametrize("codec", ["pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le"])
@pytest.mark.parametrize("channels", [1, 2])
def test_a_pcm_wav_is_handed_to_ffmpeg_as_samples_with_the_same_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str, channels: int) -> None:
    """Python reads a plain WAV's window itself; the result matches ffmpeg reading the file."""
    import avatar_demo.media.audio as audio

    src = tmp_path / "voice.wav"
    tone = "sine=frequency=220:sample_rate=22050,volume='if(lt(t,1.5),1,0.1)':eval=frame"
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", tone, "-t", "6", "-ac", str(channels),
                       "-c:a", codec, str(src)])
    assert proc.returncode == 0, proc.stderr.decode()
    calls: list[list[str]] = []
    real = audio.run_ffmpeg
    monkeypatch.setattr(audio, "run_ffmpeg", lambda args, **kw: calls.append(args) or real(args, **kw))

    piped = prepare_audio(src, tmp_path / "piped", start=2.0, max_seconds=3.0)
    # Python 3.10 and 3.11's wave cannot read the extensible header ffmpeg writes above 16 bits: ffmpeg reads those.
    readable_by_python = codec in ("pcm_u8", "pcm_s16le") or read_header(src).pcm_wav is not None
    assert ("pipe:0" in calls[0] and str(src) not in calls[0]) is readable_by_python
    monkeypatch.setattr(audio, "_MAX_PIPED_BYTES", 0)
    read = prepare_audio(src, tmp_path / "read", start=2.0, max_seconds=3.0)
    assert str(src) in calls[-1]

    assert piped.duration_s == read.duration_s == 3.0
    assert piped.source_loudness_lufs == pytest.approx(read.source_loudness_lufs, abs=0.05)
    # Only the first 1.5 s are loud (about -24 LUFS): the window from 2 s measures the quiet rest.
    assert piped.source_loudness_lufs < -38


def test_from_the_start_the_decode_run_reports_the_header(tmp_path: Path) -> None:
    """A start at 0 has nothing to refuse before decoding: no run only reads the header, and the decode run's own
    report still gives the facts (its length, that it is stereo) and the refusals (no sound track)."""
    voice = make_tone(tmp_path / "talk.m4a", 3.0, channels=2)
    outcome, calls = _prepare_logging_ffmpeg(tmp_path, voice, start=0, max_seconds=60)
    assert outcome == "ok" and calls and all(_decodes(call) for call in calls)
    out = prepare_audio(voice, tmp_path / "out")
    assert out.source_duration_s == pytest.approx(3.0, abs=0.1) and "mixed stereo to mono" in out.changes
    mute = tmp_path / "mute.mp4"
    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "color=s=64x64:d=1", "-c:v", "libx264", str(mute)])
    with pytest.raises(InputError, match="mute.mp4 is a video without sound"):
        prepare_audio(mute, tmp_path / "mute-out")
