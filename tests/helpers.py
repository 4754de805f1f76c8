"""Test helpers: make media with ffmpeg and Pillow, read facts back with ffmpeg (no ffprobe needed), wait for a server."""

from __future__ import annotations

import contextlib
import importlib.resources
import re
import shutil
import subprocess
import tempfile
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from avatar_demo.media.ffmpeg import probe_duration, run_ffmpeg

__all__ = ["PORTRAIT_EYES", "PORTRAIT_MOUTH", "MediaFacts", "decoded_seconds", "facts", "make_image", "make_portrait",
           "make_speech_bursts", "make_tone", "real_portrait", "sample_photo", "smuggled_wav", "speech_bursts_envelope",
           "wait_for"]

_CODEC_ARGS = {
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    ".wav": ["-c:a", "pcm_s16le"],
    ".m4a": ["-c:a", "aac", "-b:a", "96k"],
    ".aac": ["-c:a", "aac", "-b:a", "96k", "-f", "adts"],
    ".ogg": ["-c:a", "libopus", "-b:a", "48k", "-ar", "48000"],
    ".webm": ["-c:a", "libopus", "-b:a", "48k", "-ar", "48000"],
    ".flac": ["-c:a", "flac"],
}


def make_tone(path: Path, seconds: float, *, rate: int = 44100, channels: int = 1, volume_db: float = -12.0,
              silent: bool = False) -> Path:
    """A speech-like tone: 220 Hz whose loudness swings at 3 Hz, so loudness-driven motion shows."""
    source = "anullsrc=r=%d:cl=%s" % (rate, "stereo" if channels == 2 else "mono") if silent else (
        f"sine=frequency=220:sample_rate={rate},volume='0.2+0.8*abs(sin(3*PI*t))':eval=frame,volume={volume_db}dB"
    )
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", source, "-t", f"{seconds}", "-ac", str(channels), "-ar", str(rate)]
    suffix = path.suffix.lower()
    if suffix == ".mp4":
        args = ["-y", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=160x120:r=10", "-f", "lavfi", "-i", source,
                "-t", f"{seconds}", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
    else:
        args += _CODEC_ARGS[suffix]
    proc = run_ffmpeg([*args, str(path)])
    assert proc.returncode == 0, proc.stderr.decode()
    return path


def make_image(path: Path, size: tuple[int, int], *, mode: str = "RGB", **save: object) -> Path:
    """A portrait-like test image: a face-coloured ellipse on a blue background."""
    w, h = size
    img = Image.new("RGB", size, (40, 80, 160))
    draw = ImageDraw.Draw(img)
    draw.ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.7), fill=(230, 190, 160))
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path, **save)
    return path


def sample_photo(name: str) -> Path:
    """A photo scikit-image's wheel ships in skimage/data (a test dependency; nothing is downloaded)."""
    return Path(str(importlib.resources.files("skimage") / "data" / name))


def real_portrait(tmp_path: Path, *, jpeg: bool = False) -> Path:
    """A real portrait: NASA's public-domain 512×512 photo of astronaut Eileen Collins, copied into *tmp_path*.

    With *jpeg*, a JPEG copy (quality 90), as most uploads are.
    """
    if jpeg:
        dest = tmp_path / "astronaut.jpg"
        with Image.open(sample_photo("astronaut.png")) as img:
            img.convert("RGB").save(dest, quality=90)
        return dest
    return Path(shutil.copyfile(sample_photo("astronaut.png"), tmp_path / "astronaut.png"))


def make_portrait(path: Path, size: tuple[int, int] = (600, 800), **save: object) -> Path:
    """The real portrait resized to *size* (its face still found): distinct files with a face for every user."""
    with Image.open(sample_photo("astronaut.png")) as img:
        img.convert("RGB").resize(size, Image.Resampling.BILINEAR).save(path, **save)
    return path


#: Where the features of real_portrait() are, in its pixels (read off the photo by eye).
PORTRAIT_EYES = ((202, 102), (246, 103))
PORTRAIT_MOUTH = (223, 145)


def speech_bursts_envelope(seconds: float, rate: int, *, syllables_hz: float = 4.0,
                           silent: tuple[float, float] | None = (2.0, 3.0)) -> np.ndarray:
    """The amplitude of make_speech_bursts' voice per sample: syllable-rate humps, zero during *silent*."""
    t = np.arange(round(seconds * rate)) / rate
    amplitude = np.abs(np.sin(np.pi * syllables_hz * t)) ** 1.5
    if silent is not None:
        amplitude[(t >= silent[0]) & (t < silent[1])] = 0.0
    return amplitude


def make_speech_bursts(path: Path, seconds: float = 5.0, *, rate: int = 16000, syllables_hz: float = 4.0,
                       silent: tuple[float, float] | None = (2.0, 3.0)) -> Path:
    """A speech-like 16-bit mono WAV: a 220 Hz tone swelling and fading *syllables_hz* times a second, with
    one stretch of digital silence (*silent*, in seconds)."""
    amplitude = speech_bursts_envelope(seconds, rate, syllables_hz=syllables_hz, silent=silent)
    t = np.arange(amplitude.size) / rate
    samples = np.rint(0.5 * 32767 * amplitude * np.sin(2 * np.pi * 220 * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def smuggled_wav(path: Path, voice: Path, *, chunk: bytes, payload: bytes) -> Path:
    """*voice* (a plain WAV) with one more chunk after its `data`: *chunk* b"data" (a second stretch of sound in the
    same format, which Python's wave module never reads and ffmpeg plays) or a padding chunk. The RIFF size covers
    the whole file, as a careful forger would write it."""
    whole = voice.read_bytes()
    body = whole[8:] + chunk + len(payload).to_bytes(4, "little") + payload + (b"\0" if len(payload) % 2 else b"")
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    return path


def tone_pcm(seconds: float, *, rate: int = 48000, frequency: float = 330.0) -> bytes:
    """16-bit mono samples of a steady tone (a second `data` chunk's sound)."""
    t = np.arange(round(seconds * rate)) / rate
    return np.rint(0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2").tobytes()


def decoded_seconds(audio: bytes | Path) -> float:
    """How long *audio* plays as ffmpeg decodes it (every sample counted, not the header's word)."""
    if not isinstance(audio, Path):
        # From a file, as a gateway stores an upload: ffmpeg reads a WAV in a pipe differently (it cannot seek).
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "audio").write_bytes(audio)
            return decoded_seconds(Path(folder) / "audio")
    proc = run_ffmpeg(["-v", "error", "-i", str(audio), "-f", "s16le", "-ac", "1", "-ar", "48000", "pipe:1"],
                      large_output=True)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return len(proc.stdout) / 96000


@dataclass
class MediaFacts:
    """What ffmpeg says a file holds."""

    duration_s: float | None
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    sample_rate: int | None


def facts(path: Path) -> MediaFacts:
    """Container duration, codecs and frame size of *path*."""
    text = run_ffmpeg(["-i", str(path)]).stderr.decode("utf-8", "replace")
    video = re.search(r"Video: (\w+).*?, (\d+)x(\d+)", text)
    audio = re.search(r"Audio: (\w+).*?(\d+) Hz", text)
    return MediaFacts(
        duration_s=probe_duration(text),
        video_codec=video.group(1) if video else None,
        audio_codec=audio.group(1) if audio else None,
        width=int(video.group(2)) if video else None,
        height=int(video.group(3)) if video else None,
        sample_rate=int(audio.group(2)) if audio else None,
    )


def fast_timing(**changes):  # type: ignore[no-untyped-def]
    """A run's clock shrunk for tests: quick polls, short waits."""
    from avatar_demo.jobs import Timing
    from avatar_demo.jobs.schedule import PollSchedule

    return Timing(**{"schedule": PollSchedule(floor_s=0.1, ceiling_s=0.3, first_s=0.1), "unreachable_max_s": 0.5,
                     "capacity_check_s": 2.0, "stop_check_s": 0.2, **changes})


class JobHarness:
    """The job core of one app on the real engine (DBOS on SQLite in *data_dir*), without the web app around it.

    *provider* is a gateway object used for every run, or a callable (name, key) -> gateway.
    """

    def __init__(self, data_dir: Path, provider, *, media_host=None, callbacks=None, timing=None,  # type: ignore[no-untyped-def]
                 parallel: dict[str, int] | None = None, on_end=None, database: Path | None = None) -> None:
        from avatar_demo.jobs import JobContext
        from avatar_demo.jobs.runs import Runs
        from avatar_demo.jobs.lines import LineRules
        from avatar_demo.store.accounts import AccountLines
        from avatar_demo.store.database import Database
        from avatar_demo.store.history import History
        from avatar_demo.store.inputs import InputStore

        self.data_dir = Path(data_dir)
        (self.data_dir / "videos").mkdir(parents=True, exist_ok=True)
        self.db = Database(f"sqlite:///{database or self.data_dir / 'history.sqlite3'}")
        self.history = History(self.db)
        self.kept = InputStore(self.data_dir / "inputs")
        self.ctx = JobContext(self.history, AccountLines(self.history), self.data_dir / "videos", self.kept, media_host,
                              callbacks, timing or fast_timing(), on_end=on_end)
        make = provider if callable(provider) and not hasattr(provider, "spec") else (lambda name, key: provider)
        self.runs = Runs(self.ctx, make, LineRules(app=self.db.identity, parallel=parallel or {}, secret="test"),
                         system_url=f"sqlite:///{self.data_dir / 'engine.sqlite3'}", executor_id="tests")
        self.runs.attach()

    async def start(self, request, *, provider: str = "kling", owner: str | None = None,  # type: ignore[no-untyped-def]
                    user_key: str | None = None, changes: list[str] | None = None, **facts: object) -> int:
        """Keep the request's inputs and put a run for them in line; returns its row."""
        from avatar_demo.store.history import RunFacts

        image_ref = self.kept.keep(request.image)
        audio_ref = self.kept.keep(request.audio) if request.audio else None
        return await self.runs.start(provider, owner=owner, prompt=request.prompt, mode=request.mode,
                                     external_task_id=request.external_task_id, changes=changes, user_key=user_key,
                                     facts=RunFacts(image_ref=image_ref, audio_ref=audio_ref, audio_id=request.audio_id,
                                                    seconds=request.audio_duration_s, watermark=request.watermark,
                                                    callback_url=request.callback_url, **facts))

    async def events(self, row: int, *, timeout: float = 60.0) -> list:  # type: ignore[type-arg]
        """Every event of run *row* until it ends."""
        import asyncio

        async def collect() -> list:  # type: ignore[type-arg]
            return [event async for event in self.runs.watch(row)]

        return await asyncio.wait_for(collect(), timeout)

    def close(self) -> None:
        self.runs.detach()
        self.db.close()

    def __enter__(self) -> JobHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def run_to_end(provider, request, *, data_dir: Path, owner: str | None = None,  # type: ignore[no-untyped-def]
                     changes: list[str] | None = None, **options):
    """Run one run on the real engine to its end; returns (events, history)."""
    deadline = options.pop("deadline_s", None)
    if not options.pop("fast", True):
        from avatar_demo.jobs import Timing

        options["timing"] = Timing(**({"deadline_s": deadline} if deadline is not None else {}))
    elif deadline is not None:
        options["timing"] = fast_timing(deadline_s=deadline)
    with JobHarness(data_dir, provider, **options) as harness:
        row = await harness.start(request, provider=provider.spec.name, owner=owner, changes=changes)
        events = await harness.events(row)
    return events, harness.history


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of *size* ("64k", "1m") mounted on *folder*: real ENOSPC from real writes. Skips the test where
    mounting is refused (it needs root, which CI here has)."""
    import pytest

    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True,
                          check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip() or proc.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    """Wait until *url* answers, failing at once if *process* (the server behind it) exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds:g} s")
