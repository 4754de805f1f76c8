"""Find ffmpeg (the imageio-ffmpeg wheel's binary first, then the system's), run it, and read file headers."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError
from .children import child_env, environment_edits

__all__ = [
    "MediaHeader",
    "ffmpeg_exe",
    "media_duration",
    "output_channels",
    "parse_header",
    "probe_duration",
    "read_header",
    "read_wav_header",
    "run_ffmpeg",
]

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:\d+.*?: (Audio|Video):", re.MULTILINE)
# Cover art in an MP3 or M4A is listed as a video stream; it is not a video.
_ATTACHED_PICTURE = re.compile(r"\(attached pic\)")
# The first audio stream's layout: "mono", "stereo", "5.1(side)", "3 channels"...
_AUDIO_LAYOUT = re.compile(r"^\s*Stream #0:\d+.*?: Audio: .*?, \d+ Hz, ([^,\n]+)", re.MULTILINE)
_NAMED_LAYOUTS = {"mono": 1, "stereo": 2, "quad": 4}
_MEMORY_FILE_BYTES = 1 << 20


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg to use: AVATAR_FFMPEG, else the wheel's binary, else `ffmpeg` on PATH.

    The wheel's static build comes first: it is the same ffmpeg on every machine, and it starts in
    about 25 ms where Debian's dynamically linked one needs about 65 ms to load its libraries;
    each clip runs ffmpeg two or three times, so with many users at once that start-up is most of
    the preparation cost. Nothing here needs ffprobe: every decode goes through ffmpeg itself.
    """
    explicit = os.environ.get("AVATAR_FFMPEG")
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError(f"AVATAR_FFMPEG points at {explicit!r}, which is not a file")
        return explicit
    try:
        import imageio_ffmpeg

        # Its first call runs the binary once to check it, with the inherited environment.
        with environment_edits():
            return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):  # no wheel, or no binary for this platform
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise ConfigError(
        "ffmpeg was not found: `pip install imageio-ffmpeg` or install it (apt-get install ffmpeg), "
        "or set AVATAR_FFMPEG to its path"
    )


def _in_memory_file(data: bytes) -> int | None:
    """A descriptor of an in-memory file holding *data* (Linux), or None where there is none."""
    if not hasattr(os, "memfd_create"):
        return None
    fd = os.memfd_create("ffmpeg-input", os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as fh:
            fh.write(data)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        return None  # no memory for it: the pipe needs none
    return fd


def run_ffmpeg(
    args: list[str], *, input_bytes: bytes | None = None, timeout: float = 600.0, large_output: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with *args*, *input_bytes* as its stdin; returns the completed process (the caller checks
    returncode). *large_output*: megabytes are expected on stdout."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    stdin: int | None = subprocess.DEVNULL if input_bytes is None else None
    if input_bytes is not None and len(input_bytes) >= _MEMORY_FILE_BYTES:
        # Python feeds a pipe 4 KB per wake-up, which held the MP3 encoder back by ~20 ms per minute of voice
        # (measured); a large input is handed over as an in-memory file that ffmpeg reads at its own pace.
        stdin = _in_memory_file(input_bytes)
    # Likewise a large output: written to an in-memory file, it never waits for this process to empty a pipe,
    # which it could not do while another thread (a photo being prepared) held the interpreter.
    stdout = _in_memory_file(b"") if large_output else None
    try:
        proc = subprocess.run(  # noqa: S603 - fixed binary, arguments are ours
            cmd,
            input=input_bytes if stdin is None else None,
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
            stdin=stdin,
            env=child_env(),
        )
        if stdout is not None:
            proc.stdout = _read_back(stdout)
        return proc
    finally:
        for fd in (stdin, stdout):
            if fd is not None and fd != subprocess.DEVNULL:
                os.close(fd)


def _read_back(fd: int) -> bytes:
    """Everything written to the in-memory file *fd*."""
    size = os.lseek(fd, 0, os.SEEK_END)
    os.lseek(fd, 0, os.SEEK_SET)
    with open(fd, "rb", closefd=False) as fh:
        return fh.read(size)


def probe_duration(stderr: str) -> float | None:
    """The container duration ffmpeg prints for its first input, if it printed one."""
    match = _DURATION.search(stderr)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class MediaHeader:
    """What a file's header says, read without decoding any sample or frame."""

    readable: bool
    duration_s: float | None
    audio_streams: int
    video_streams: int
    #: (rate, channels, bytes per sample) of a plain PCM WAV, whose samples Python can read itself.
    pcm_wav: tuple[int, int, int] | None = None
    #: The first audio stream's channel count, when the header names it.
    channels: int | None = None


def _channel_count(layout: str) -> int | None:
    """Channels in a layout as ffmpeg prints it: "mono", "stereo", "5.1(side)", "3 channels"."""
    layout = layout.strip().split("(")[0]
    if layout in _NAMED_LAYOUTS:
        return _NAMED_LAYOUTS[layout]
    counted = re.fullmatch(r"(\d+) channels", layout)
    if counted:
        return int(counted.group(1))
    surround = re.fullmatch(r"(\d+)\.(\d+)", layout)
    return int(surround.group(1)) + int(surround.group(2)) if surround else None


def _wav_header(path: str | os.PathLike[str]) -> MediaHeader | None:
    """A PCM WAV's header read directly (what browsers' microphone recordings are); None for anything else."""
    try:
        with open(path, "rb") as fh:
            if fh.read(12)[8:12] != b"WAVE":
                return None
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            channels, width = wav.getnchannels(), wav.getsampwidth()
    except (OSError, EOFError, wave.Error):
        return None  # float or compressed WAV, or damaged: ffmpeg decides
    if rate <= 0 or channels <= 0:
        return None
    return MediaHeader(readable=True, duration_s=frames / rate, audio_streams=1, video_streams=0,
                       pcm_wav=(rate, channels, width), channels=channels)


def parse_header(text: str) -> MediaHeader:
    """What ffmpeg's report (*text*, its stderr) says of its first input: any run prints it before working."""
    inputs = text.partition("Output #0")[0]
    kinds = [m.group(1) for m in _STREAM.finditer(inputs)]
    pictures = len(_ATTACHED_PICTURE.findall(inputs))
    layout = _AUDIO_LAYOUT.search(inputs)
    return MediaHeader(
        readable="Error opening input" not in inputs and bool(kinds),
        duration_s=probe_duration(inputs),
        audio_streams=kinds.count("Audio"),
        video_streams=max(0, kinds.count("Video") - pictures),
        channels=_channel_count(layout.group(1)) if layout else None,
    )


def output_channels(text: str) -> int | None:
    """The channel count of the audio ffmpeg wrote, from its report (*text*, its stderr)."""
    layout = _AUDIO_LAYOUT.search(text.partition("Output #0")[2])
    return _channel_count(layout.group(1)) if layout else None


def read_wav_header(path: str | os.PathLike[str]) -> MediaHeader | None:
    """A PCM WAV's own header, read here (what browsers' microphone recordings are); None for anything else."""
    return _wav_header(path)


def read_header(path: str | os.PathLike[str]) -> MediaHeader:
    """*path*'s streams and duration, without decoding anything (a PCM WAV's own header, else ffmpeg's reading)."""
    wav_header = _wav_header(path)
    if wav_header is not None:
        return wav_header
    return parse_header(run_ffmpeg(["-i", str(path)], timeout=30).stderr.decode("utf-8", "replace"))


def media_duration(path: str | os.PathLike[str]) -> float | None:
    """The duration a file's container states (fast: nothing is decoded)."""
    return read_header(path).duration_s
