"""Preparation cost side by side: time against a bare ffmpeg transcode, peak memory per photo, long files.

Run: python benchmarks/prepare.py [--rounds N] [--skip-memory]

1. 60 s of 48 kHz stereo MP3 plus a 12-megapixel JPEG, prepared together, against a bare ffmpeg
   MP3→MP3 transcode of the same audio (target ratio ≤ 1.3); then, for information, a peaky
   voice whose peaks need the limiter.
2. Extra peak memory of one photo in a fresh process (target ≤ ~150 MB): 8000×7999 PNG, 48 MP JPEG,
   12 MP HEIC, 48 MP 16-bit PNG.
3. A voice window on a one-hour MP3: refusing a start past the end (header only) and seeking to
   the last ten seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_demo.core.errors import InputError  # noqa: E402
from avatar_demo.media import prepare_audio, prepare_media  # noqa: E402
from avatar_demo.media.ffmpeg import ffmpeg_exe, run_ffmpeg  # noqa: E402
from tests.helpers import make_image, make_tone  # noqa: E402

TARGET_RATIO = 1.3


def _photo(path: Path, size: tuple[int, int] = (4000, 3000)) -> Path:
    """A JPEG with camera-like noise, so it is as large (several MB) and slow to decode as a real photo."""
    from PIL import Image

    base = Image.open(make_image(path, size)).convert("RGB")
    noise = Image.merge("RGB", [Image.effect_noise(size, 40)] * 3)
    Image.blend(base, noise, 0.3).save(path, quality=92)
    return path


def bench_time(work: Path, rounds: int) -> None:
    audio = make_tone(work / "voice.mp3", 60.0, rate=48000, channels=2)
    image = _photo(work / "photo.jpg")
    print(f"ffmpeg: {ffmpeg_exe()}")
    print(f"inputs: {audio.stat().st_size / 1e6:.2f} MB MP3 (60 s, 48 kHz stereo), "
          f"{image.stat().st_size / 1e6:.2f} MB JPEG (4000x3000)")
    asyncio.run(prepare_media(image, audio, work / "warm"))  # load libvips and friends once, as a server has
    bare, ours = [], []
    for i in range(rounds):
        started = time.perf_counter()
        proc = run_ffmpeg(["-y", "-v", "error", "-i", str(audio), "-c:a", "libmp3lame", "-b:a", "128k",
                           str(work / f"bare{i}.mp3")])
        bare.append(time.perf_counter() - started)
        assert proc.returncode == 0
        started = time.perf_counter()
        asyncio.run(prepare_media(image, audio, work / f"out{i}"))
        ours.append(time.perf_counter() - started)
    b, o = statistics.median(bare), statistics.median(ours)
    ratios = sorted(x / y for x, y in zip(ours, bare, strict=True))
    print(f"bare ffmpeg transcode: median {b:.3f} s over {rounds} rounds (min {min(bare):.3f}, max {max(bare):.3f})")
    print(f"prepare (audio + image): median {o:.3f} s over {rounds} rounds (min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"ratio prepare / bare: {o / b:.2f} (per round {ratios[0]:.2f}–{ratios[-1]:.2f}; target ≤ {TARGET_RATIO})")


def bench_limited_voice(work: Path, rounds: int) -> None:
    """Speech-like bursts that need the limiter: the loudness search adds measuring passes."""
    voice = work / "peaky.mp3"
    graph = ("anoisesrc=color=pink:amplitude=0.9:sample_rate=48000:seed=7,bandpass=f=800:width_type=o:w=3,"
             "volume='pow(abs(sin(2.3*PI*t)*sin(0.7*PI*t)),3)':eval=frame,volume=9dB")
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", graph, "-t", "60", "-ac", "2", "-c:a", "libmp3lame",
                       "-b:a", "128k", str(voice)])
    assert proc.returncode == 0, proc.stderr.decode()
    bare, ours = [], []
    for i in range(rounds):
        started = time.perf_counter()
        run_ffmpeg(["-y", "-v", "error", "-i", str(voice), "-c:a", "libmp3lame", "-b:a", "128k",
                    str(work / f"pbare{i}.mp3")])
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        out = prepare_audio(voice, work / f"peaky{i}")
        ours.append(time.perf_counter() - started)
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"peaky 60 s voice (limiter path): prepare {o:.3f} s vs bare {b:.3f} s, ratio {o / b:.2f}; "
          f"{', '.join(out.changes)}")


def bench_memory(work: Path) -> None:
    import numpy as np
    import pillow_heif
    from PIL import Image

    from tests.media.measure import prepare_image_peak_mb

    def heic(path: Path) -> Path:
        with Image.open(make_image(path.with_suffix(".png"), (4032, 3024), format="PNG", compress_level=1)) as img:
            pillow_heif.from_pillow(img).save(path, quality=80)
        return path

    def grey16(path: Path) -> Path:
        Image.fromarray(np.tile(np.linspace(0, 65535, 8000).astype(np.uint16), (6000, 1))).save(path, compress_level=1)
        return path

    warm = {"png": work / "w.png", "jpg": work / "w.jpg", "heic": work / "w.heic"}
    Image.new("RGB", (64, 64)).save(warm["png"])
    Image.new("RGB", (64, 64)).save(warm["jpg"])
    pillow_heif.from_pillow(Image.new("RGB", (64, 64))).save(warm["heic"])
    cases = [
        ("8000x7999 RGB PNG", make_image(work / "big.png", (8000, 7999), format="PNG", compress_level=1), "png"),
        ("48 MP JPEG (8000x6000)", _photo(work / "big.jpg", (8000, 6000)), "jpg"),
        ("12 MP HEIC (4032x3024)", heic(work / "big.heic"), "heic"),
        ("48 MP 16-bit grey PNG", grey16(work / "grey16.png"), "png"),
    ]
    for label, path, kind in cases:
        extra = prepare_image_peak_mb(path, warm[kind])
        print(f"peak memory, {label:<24} {path.stat().st_size / 1e6:7.2f} MB file: +{extra:6.1f} MB")


def bench_long_file(work: Path) -> None:
    hour = work / "hour.mp3"
    started = time.perf_counter()
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "3600",
                       "-c:a", "libmp3lame", "-b:a", "8k", "-ar", "8000", str(hour)])
    assert proc.returncode == 0, proc.stderr.decode()
    print(f"one-hour 8 kbit/s MP3 made in {time.perf_counter() - started:.2f} s")
    for label, start, seconds in (("refuse a start at 3700 s", 3700.0, 60.0), ("prepare [3590, 3600)", 3590.0, 10.0)):
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            with contextlib.suppress(InputError):
                prepare_audio(hour, work / "hour-out", start=start, max_seconds=seconds)
            timings.append(time.perf_counter() - started)
        print(f"one-hour file, {label}: median {statistics.median(timings) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-prepare-"))
    bench_time(work, args.rounds)
    bench_limited_voice(work, 3)
    if not args.skip_memory and sys.platform.startswith("linux"):
        bench_memory(work)
    bench_long_file(work)


if __name__ == "__main__":
    main()
