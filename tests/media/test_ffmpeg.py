"""The wheel's ffmpeg is enough (nothing warns that it is missing, nothing heavy is imported); what it reports is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_demo.media.ffmpeg import parse_header, run_ffmpeg
from tests.helpers import make_image, make_tone

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run *code* in a fresh interpreter whose PATH holds only that interpreter (no ffmpeg, no ffprobe)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python").exists():
        (bin_dir / "python").symlink_to(sys.executable)
    base = {k: v for k, v in os.environ.items() if k != "AVATAR_FFMPEG"}
    return subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, check=False, env={**base, "PATH": str(bin_dir), "PYTHONPATH": str(ROOT), **env})


def test_preparing_without_ffmpeg_on_path_prints_no_warning(tmp_path: Path) -> None:
    """Photo and voice are prepared with the wheel's ffmpeg; stderr stays empty (pydub used to warn here)."""
    image = make_image(tmp_path / "p.jpg", (500, 500))
    audio = make_tone(tmp_path / "a.webm", 3.0)
    proc = _python(
        "import asyncio, json\n"
        "from avatar_demo.media import prepare_media\n"
        f"media = asyncio.run(prepare_media({str(image)!r}, {str(audio)!r}, {str(tmp_path / 'out')!r}))\n"
        "print(json.dumps([media.image.width, media.audio.duration_s]))\n",
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert json.loads(proc.stdout)[0] == 500


def test_importing_the_package_is_cheap(tmp_path: Path) -> None:
    """No scipy, numpy, pydub, pyloudnorm, libvips or libheif at import time; they load when a photo needs them."""
    proc = _python(
        "import sys, json\n"
        "import avatar_demo.media, avatar_demo.media.audio, avatar_demo.media.image\n"
        "print(json.dumps(sorted(m for m in ('scipy', 'numpy', 'pydub', 'pyloudnorm', 'pyvips', 'pillow_heif', "
        "'gradio') if m in sys.modules)))\n",
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    assert proc.stderr == ""


@pytest.mark.parametrize(
    ("stream", "channels"),
    [("Audio: aac (LC), 44100 Hz, mono, fltp, 70 kb/s", 1), ("Audio: mp3 (mp3float), 48000 Hz, stereo, fltp", 2),
     ("Audio: aac (LC), 48000 Hz, 5.1(side), fltp", 6), ("Audio: pcm_s16le, 44100 Hz, 3 channels, s16", 3),
     ("Audio: opus, 48000 Hz, 7.1, fltp", 8), ("Audio: pcm_s16le, 8000 Hz, ambisonic 1, s16", None)],
)
def test_the_channel_count_is_read_from_the_report(stream: str, channels: int | None) -> None:
    """The first audio stream's layout as ffmpeg prints it, before and (for what it wrote) after "Output #0"."""
    report = (f"Input #0, x, from 'in':\n  Duration: 00:00:03.00, bitrate: 1 kb/s\n  Stream #0:0: {stream}\n"
              f"Output #0, s32le, to 'pipe:1':\n  Stream #0:0: {stream.replace('Audio: ', 'Audio: pcm_s32le, ', 1)}\n")
    header = parse_header(report)
    assert (header.readable, header.audio_streams, header.duration_s) == (True, 1, 3.0)
    assert header.channels == channels


def test_a_large_input_reaches_ffmpeg_whole() -> None:
    """Inputs past a megabyte go through an in-memory file instead of the pipe: ffmpeg reads every byte of both."""
    for size in (4096, 3 * 1024 * 1024):
        samples = os.urandom(size)
        proc = run_ffmpeg(["-f", "s16le", "-ar", "48000", "-ac", "1", "-i", "pipe:0", "-f", "s16le", "pipe:1"],
                          input_bytes=samples)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout == samples
