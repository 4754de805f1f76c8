"""The wheel's ffmpeg is enough: nothing warns that ffmpeg is missing, and the package imports nothing heavy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
