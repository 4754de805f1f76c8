"""Find an ffmpeg binary (the one shipped in the imageio-ffmpeg wheel first, then the system's) and run it."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import ConfigError

__all__ = ["configure_pydub", "ffmpeg_exe", "media_duration", "probe_duration", "run_ffmpeg"]

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


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


def configure_pydub() -> None:
    # pydub's export shells out to AudioSegment.converter; point it at the same binary.
    from pydub import AudioSegment

    AudioSegment.converter = ffmpeg_exe()


def run_ffmpeg(
    args: list[str], *, input_bytes: bytes | None = None, timeout: float = 600.0
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with *args*; returns the completed process (the caller checks returncode)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    return subprocess.run(  # noqa: S603 - fixed binary, arguments are ours
        cmd,
        input=input_bytes,
        capture_output=True,
        timeout=timeout,
        check=False,
        stdin=None if input_bytes is not None else subprocess.DEVNULL,
    )


def probe_duration(stderr: str) -> float | None:
    """The container duration ffmpeg prints for its first input, if it printed one."""
    match = _DURATION.search(stderr)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def media_duration(path: str | os.PathLike[str]) -> float | None:
    """The duration a file's container states (fast: nothing is decoded)."""
    proc = run_ffmpeg(["-i", str(path)], timeout=30)
    return probe_duration(proc.stderr.decode("utf-8", "replace"))
