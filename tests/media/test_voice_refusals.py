"""Every voice refusal, reached the way a user would reach it: it names the file, says what is wrong and what to do."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from avatar_demo.core.errors import InputError
from avatar_demo.media.audio import prepare_audio
from avatar_demo.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from avatar_demo.media.loudness import measure_file, measure_pcm
from avatar_demo.media.voice_refusals import REFUSALS
from tests.helpers import make_tone

ROOT = Path(__file__).resolve().parents[2]
#: Words of the machinery underneath, which mean nothing to the person reading.
_JARGON = re.compile(r"ffmpeg|ffprobe|ebur128|pcm|codec|decod|stderr|errno|traceback|exception|none\b",
                     re.IGNORECASE)


@pytest.mark.parametrize("key", sorted(REFUSALS))
def test_each_message_names_the_file_says_what_is_wrong_and_what_to_do(key: str) -> None:
    """One sentence: what is wrong, a colon, what to do (a plain instruction), ending with a full stop."""
    message = REFUSALS[key]
    wrong, _, todo = message.partition(": ")
    assert "{name}" in wrong and todo, message
    assert todo[0].islower() and todo.endswith("."), message
    assert todo.split()[0] in {"upload", "record", "choose"}, message
    assert not _JARGON.search(message), message


def _wav(path: Path, frames: bytes = b"", rate: int = 48000) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return path


def _sparse_clicks(path: Path) -> Path:
    """One sample at -40 dBFS every half second, digital silence between: a peak, but no loudness to measure."""
    click = int(32767 * 10 ** (-40 / 20)).to_bytes(2, "little", signed=True)
    return _wav(path, (click + bytes(2 * 23999)) * 12)


def _vbr_mp3_without_xing(path: Path) -> Path:
    """30 s of VBR MP3 without its Xing frame: quiet first frames are small, so the length is estimated as ~60 s."""
    noise = "anoisesrc=color=white:amplitude=0.5:sample_rate=44100,volume='if(gte(t,20),1,0)':eval=frame"
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", noise, "-t", "30", "-c:a", "libmp3lame", "-q:a", "0",
                       "-write_xing", "0", str(path)])
    assert proc.returncode == 0, proc.stderr.decode()
    return path


def _silent_then_tone(path: Path) -> Path:
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i",
                       "sine=frequency=300:sample_rate=48000,volume='if(gte(t,8),1,0)':eval=frame", "-t", "10",
                       "-c:a", "pcm_s16le", str(path)])
    assert proc.returncode == 0, proc.stderr.decode()
    return path


def _mute_video(path: Path) -> Path:
    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "color=s=64x64:d=1", "-c:v", "libx264", str(path)])
    return path


_CASES = [
    ("missing", lambda d: d / "talk.m4a", {}, {}),
    ("empty", lambda d: _written(d / "talk.m4a", b""), {}, {}),
    ("bad_start", lambda d: make_tone(d / "talk.wav", 3.0), {"start": -3.0}, {"start": "-3"}),
    ("bad_length", lambda d: make_tone(d / "talk.wav", 3.0), {"max_seconds": 500.0}, {"length": "500"}),
    ("unreadable", lambda d: _written(d / "talk.xyz", b"hello, not audio"), {}, {}),
    ("no_sound_track", lambda d: _mute_video(d / "talk.mp4"), {}, {}),
    ("start_past_end", lambda d: make_tone(d / "talk.m4a", 62.3), {"start": 75.0}, {"start": 75.0, "total": 62.3}),
    ("start_past_sound", lambda d: _vbr_mp3_without_xing(d / "talk.mp3"), {"start": 45.0}, {"start": 45.0}),
    ("no_sound", lambda d: _wav(d / "talk.wav"), {}, {}),
    ("silent", lambda d: make_tone(d / "talk.m4a", 5.0, silent=True), {}, {}),
    ("silent_part", lambda d: _silent_then_tone(d / "talk.wav"), {"start": 1.0, "max_seconds": 5.0},
     {"start": 1.0, "end": 6.0}),
    ("too_quiet", lambda d: _sparse_clicks(d / "talk.wav"), {}, {}),
]


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("key", "make", "options", "figures"), _CASES, ids=[case[0] for case in _CASES])
def test_each_refusal_is_reached_and_reads_as_written(tmp_path: Path, key: str, make, options: dict,
                                                      figures: dict) -> None:
    """The clip that earns each refusal gets exactly that message (figures filled in), and nothing is written."""
    src = make(tmp_path)
    with pytest.raises(InputError) as refused:
        prepare_audio(src, tmp_path / "out", **options)
    assert str(refused.value) == REFUSALS[key].format(name=src.name, **figures)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_loudness_that_cannot_be_measured_names_the_clip(tmp_path: Path) -> None:
    """Samples the measurement cannot read, or a written file that is not sound, are refused by name."""
    expected = REFUSALS["unmeasurable"].format(name="talk.m4a")
    with pytest.raises(InputError) as refused:
        measure_pcm(b"\x00" * 4000, 48000, sample_format="not-a-format", name="talk.m4a")
    assert str(refused.value) == expected
    with pytest.raises(InputError) as refused:
        measure_file(_written(tmp_path / "voice.mp3", b"not sound"), name="talk.m4a")
    assert str(refused.value) == expected


def test_an_encoder_that_fails_for_no_reason_of_space_is_unwritable(tmp_path: Path) -> None:
    """An MP3 encode that fails (here an ffmpeg that refuses to encode) reads as a clip that could not be
    converted, without the encoder's own words; nothing is left in the folder."""
    wrapper = tmp_path / "ffmpeg-failing-encode"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "if 'libmp3lame' in sys.argv:\n"
        "    sys.stderr.write('Error while opening encoder: Invalid argument\\n')\n"
        "    sys.exit(1)\n"
        f"os.execv({ffmpeg_exe()!r}, [{ffmpeg_exe()!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    src = make_tone(tmp_path / "talk.m4a", 45.0)  # longer than WAV may be: an MP3 is encoded
    code = (
        "from avatar_demo.core.errors import InputError\n"
        "from avatar_demo.media.audio import prepare_audio\n"
        "try:\n"
        f"    prepare_audio({str(src)!r}, {str(tmp_path / 'out')!r})\n"
        "except InputError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "AVATAR_FFMPEG": str(wrapper), "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == REFUSALS["unwritable"].format(name="talk.m4a")
    assert not any((tmp_path / "out").iterdir())


def test_every_refusal_in_the_table_is_reached_by_a_test() -> None:
    """A message added to the table without a way to reach it is caught here."""
    assert {case[0] for case in _CASES} | {"unmeasurable", "unwritable"} == set(REFUSALS)
