"""Prepare 60 s of 48 kHz stereo MP3 plus a 12-megapixel JPEG, against a bare ffmpeg transcode of the same audio.

Run: python benchmarks/prepare.py   (prints both timings and their ratio; target ratio ≤ 1.5)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_demo.media import prepare_media  # noqa: E402
from avatar_demo.media.ffmpeg import ffmpeg_exe, run_ffmpeg  # noqa: E402
from tests.helpers import make_image, make_tone  # noqa: E402

ROUNDS = 5


def _photo(path: Path) -> Path:
    """A 12 MP JPEG with camera-like noise, so it is as large (several MB) and slow to decode as a real photo."""
    from PIL import Image

    base = Image.open(make_image(path, (4000, 3000))).convert("RGB")
    noise = Image.merge("RGB", [Image.effect_noise((4000, 3000), 40)] * 3)
    Image.blend(base, noise, 0.3).save(path, quality=92)
    return path


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-prepare-"))
    audio = make_tone(work / "voice.mp3", 60.0, rate=48000, channels=2)
    image = _photo(work / "photo.jpg")
    print(f"ffmpeg: {ffmpeg_exe()}")
    print(f"inputs: {audio.stat().st_size / 1e6:.2f} MB MP3 (60 s, 48 kHz stereo), "
          f"{image.stat().st_size / 1e6:.2f} MB JPEG (4000x3000)")
    bare, ours = [], []
    for i in range(ROUNDS):
        started = time.perf_counter()
        proc = run_ffmpeg(["-y", "-v", "error", "-i", str(audio), "-c:a", "libmp3lame", "-b:a", "128k", str(work / f"bare{i}.mp3")])
        bare.append(time.perf_counter() - started)
        assert proc.returncode == 0
        started = time.perf_counter()
        asyncio.run(prepare_media(image, audio, work / f"out{i}"))
        ours.append(time.perf_counter() - started)
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"bare ffmpeg transcode: median {b:.3f} s over {ROUNDS} rounds")
    print(f"prepare (audio + image): median {o:.3f} s over {ROUNDS} rounds")
    print(f"ratio prepare / bare: {o / b:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
