"""The data dir: where each kind of file lives, under unguessable names, and how long it may stay."""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError, DiskFull
from ..core.text import Text

__all__ = ["NAME", "Retention", "Storage", "SweepReport", "remove_tree"]

#: Every stored file's name: 192 random bits, never a task id, and a known suffix.
NAME = re.compile(r"[A-Za-z0-9_-]{32}\.(mp4|jpg|mp3)")
MB = 1024 * 1024
#: An export zip only needs to live until its download starts.
EXPORT_KEEP_S = 3600.0


@dataclass(frozen=True)
class Retention:
    """How long files are kept and how much disk they may take."""

    days: float = 7.0
    max_disk_mb: float = 2048.0
    #: Creates are refused when the data dir has less free space than this.
    min_free_mb: float = 64.0


@dataclass(frozen=True)
class SweepReport:
    """What one clean-up removed."""

    expired: list[str]
    over_cap: list[str]
    jobs: int
    bytes_left: int


class Storage:
    """Folders under the data dir; every name handed out is random, so knowing one name reveals no other."""

    def __init__(self, root: Path, retention: Retention) -> None:
        self.root = Path(root)
        self.retention = retention
        self.videos = self.root / "videos"
        #: Prepared inputs of jobs whose create is still to be sent.
        self.jobs = self.root / "jobs"
        #: Copies of prepared inputs published for gateways that fetch media by URL.
        self.public = self.root / "public"
        self.previews = self.root / "previews"
        #: Prepared inputs kept for re-runs (InputStore), and zips being downloaded.
        self.inputs = self.root / "inputs"
        self.exports = self.root / "exports"
        self.database = self.root / "history.sqlite3"

    def ensure(self) -> None:
        """Create the folders; a ConfigError naming AVATAR_DATA_DIR when that is impossible."""
        try:
            for folder in (self.videos, self.jobs, self.public, self.previews, self.inputs, self.exports):
                folder.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{secrets.token_hex(4)}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                f"The data folder {self.root} cannot be written ({exc.strerror or exc}); set AVATAR_DATA_DIR "
                "to a writable folder"
            ) from None

    @staticmethod
    def new_name(suffix: str) -> str:
        """A fresh unguessable file name (192 random bits)."""
        return secrets.token_urlsafe(24) + suffix

    def new_video(self) -> Path:
        """Where a finished video goes."""
        return self.videos / self.new_name(".mp4")

    def new_job_dir(self) -> Path:
        """A fresh folder for one job's prepared inputs."""
        return self.jobs / secrets.token_urlsafe(24)

    def video(self, name: str | None) -> Path | None:
        """The stored video called *name* (a bare file name), if it is one of ours and still exists."""
        if not name or not NAME.fullmatch(Path(name).name):
            return None
        path = self.videos / Path(name).name
        return path if path.is_file() else None

    def check_space(self) -> None:
        """Refuse (DiskFull, before anything is prepared or sent) when the data dir is nearly full."""
        try:
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            raise ConfigError(Text("store.unreadable", folder=str(self.root), error=exc.strerror or str(exc))) from None
        if free < self.retention.min_free_mb * MB:
            raise DiskFull(f"the data folder has {free / MB:.0f} MB free, AVATAR_MIN_FREE_MB asks for "
                           f"{self.retention.min_free_mb:g}")

    def sweep(self, *, busy_jobs: Collection[Path] = (), now: float | None = None,
              inputs_used: Mapping[str, float] | None = None) -> SweepReport:
        """Delete expired files, then the oldest until the cap holds, and job folders nothing uses.

        *busy_jobs* are prepared-input folders of jobs still in flight: never touched. *inputs_used* is when each kept
        input was last used by any replica (the shared index): a kept input's clock is the later of it and its file's.
        """
        now = time.time() if now is None else now
        cutoff = now - self.retention.days * 86400
        # Export zips have their own budget (app.exports): they expire within the hour and never count towards the
        # cap, so one visitor's exports cannot push anyone's videos or kept inputs out.
        expired = []
        for path in _files(self.exports):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < now - EXPORT_KEEP_S:
                    expired.append(path)
        used = inputs_used or {}
        inputs = self.inputs.resolve()
        files = [(p, p.stat()) for folder in (self.videos, self.public, self.previews, self.inputs)
                 for p in _files(folder)]
        clock = {p: max(st.st_mtime, used.get(p.name, 0.0)) if p.resolve().parent == inputs else st.st_mtime
                 for p, st in files}
        expired += [p for p, _ in files if clock[p] < cutoff]
        for path in expired:
            path.unlink(missing_ok=True)
        kept = sorted(((p, st) for p, st in files if clock[p] >= cutoff), key=lambda item: clock[item[0]])
        busy = {Path(p).resolve() for p in busy_jobs}
        jobs = 0
        for folder in _dirs(self.jobs):
            # A folder nobody holds and older than a minute belongs to a job that ended (or a crash).
            if folder.resolve() not in busy and folder.stat().st_mtime < now - 60:
                shutil.rmtree(folder, ignore_errors=True)
                jobs += 1
        total = sum(st.st_size for _, st in kept) + sum(_size(d) for d in _dirs(self.jobs))
        over: list[Path] = []
        cap = self.retention.max_disk_mb * MB
        while kept and total > cap:
            path, st = kept.pop(0)
            path.unlink(missing_ok=True)
            total -= st.st_size
            over.append(path)
        return SweepReport([p.name for p in expired], [p.name for p in over], jobs, total)


def _files(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.rglob("*") if p.is_file()]
    except OSError:
        return []


def _dirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir()]
    except OSError:
        return []


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in _files(folder))


def remove_tree(folder: Path | None) -> None:
    """Delete a job's folder (quietly: it may already be gone)."""
    if folder is not None and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
