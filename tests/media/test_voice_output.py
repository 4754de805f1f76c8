"""Writing the prepared voice: a full disk is DiskFull (nothing sent, nothing half-written), never a raw OSError."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from avatar_demo.core.errors import DiskFull
from avatar_demo.media.audio import prepare_audio
from tests.helpers import make_tone, tmpfs

#: 3 s becomes a 16-bit WAV (plain gain); 45 s is too long for WAV and becomes an MP3.
_OUTPUTS = [(3.0, ".wav"), (45.0, ".mp3")]


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 64 KB tmpfs: too small for any prepared voice."""
    with tmpfs(tmp_path / "tiny", "64k") as mount:
        yield mount


@pytest.mark.parametrize(("seconds", "suffix"), _OUTPUTS)
def test_a_full_disk_is_disk_full_and_leaves_nothing(tmp_path: Path, tiny_disk: Path, seconds: float,
                                                     suffix: str) -> None:
    """pydub's WAV write and ffmpeg's MP3 encode both run out of room: DiskFull, and the folder is left empty."""
    src = make_tone(tmp_path / "talk.m4a", seconds)
    out_dir = tiny_disk / "out"
    with pytest.raises(DiskFull) as full:
        prepare_audio(src, out_dir)
    assert f"voice{suffix}" in str(full.value) and "nothing was sent" in str(full.value)
    assert list(out_dir.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(("seconds", "suffix"), _OUTPUTS)
def test_writing_into_dev_full_is_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: float,
                                           suffix: str) -> None:
    """Runs everywhere: the temporary file is made a link to /dev/full, whose every write fails with ENOSPC."""
    made: list[Path] = []

    def full_mkstemp(suffix: str = "", prefix: str = "tmp", dir: str | None = None) -> tuple[int, str]:
        path = Path(dir or tempfile.gettempdir()) / f"{prefix}full{suffix}"
        path.symlink_to("/dev/full")
        made.append(path)
        return os.open(path, os.O_WRONLY), str(path)

    monkeypatch.setattr(tempfile, "mkstemp", full_mkstemp)
    src = make_tone(tmp_path / "talk.m4a", seconds)
    with pytest.raises(DiskFull) as full:
        prepare_audio(src, tmp_path / "out")
    if suffix == ".wav":  # our own write of pydub's WAV fails; an MP3's failure is ffmpeg's report
        assert isinstance(full.value.__cause__, OSError) and full.value.__cause__.errno == errno.ENOSPC
    assert made and made[0].suffix == suffix
    assert list((tmp_path / "out").iterdir()) == []
