"""Prepared inputs shared by the jobs that need them: each distinct photo, clip and window prepared once."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import DiskFull
from ..media import PreparedImage, PreparedMedia, prepare_image, prepare_media
from ..media.face import Face, find_face

__all__ = ["Inputs", "Lease"]


def _digest(path: str | Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


@dataclass
class Lease:
    """Prepared inputs held by the jobs that still need them; the files go when the last one lets go."""

    key: str
    folder: Path
    image: PreparedImage
    media: PreparedMedia | None
    #: The face found on the prepared photo (None: no face the models could animate).
    face: Face | None = None
    holders: int = 1
    _owner: Inputs | None = field(default=None, repr=False)

    def hold(self) -> Lease:
        """One more job needs these inputs."""
        self.holders += 1
        return self

    def release(self) -> None:
        """A job no longer needs them (its create was sent, or it ended)."""
        if self._owner is not None:
            self._owner.release(self)


class Inputs:
    """Prepares each distinct (photo, clip, window) once while jobs need it, with at most *slots* at a time."""

    def __init__(self, folder: Path, *, slots: int) -> None:
        self.folder = Path(folder)
        self._slots = asyncio.Semaphore(slots)
        self._leases: dict[str, Lease] = {}
        self._preparing: dict[str, asyncio.Future[Lease]] = {}

    async def prepare(self, image: str | Path, audio: str | Path | None, *, start: float, length: float) -> Lease:
        """A lease on the prepared photo (and voice window); identical requests share one preparation."""
        hashes = await asyncio.gather(asyncio.to_thread(_digest, image),
                                      *([asyncio.to_thread(_digest, audio)] if audio else []))
        key = "-".join(h[:24] for h in hashes) + (f"-{start:.2f}-{length:.2f}" if audio else "")
        lease = self._leases.get(key)
        if lease is not None:
            return lease.hold()
        pending = self._preparing.get(key)
        if pending is not None:
            return (await asyncio.shield(pending)).hold()
        future: asyncio.Future[Lease] = asyncio.get_running_loop().create_future()
        self._preparing[key] = future
        folder = self.folder / secrets.token_urlsafe(24)
        try:
            async with self._slots:
                if audio:
                    media = await prepare_media(image, audio, folder, start=start, max_seconds=length)
                    prepared = media.image
                else:
                    media, prepared = None, await asyncio.to_thread(prepare_image, image, folder)
                # On the prepared photo (2048 px at most): tens of milliseconds, whatever was uploaded.
                face = await asyncio.to_thread(find_face, prepared.path)
                lease = Lease(key, folder, prepared, media, face, holders=0, _owner=self)
            self._leases[key] = lease
            future.set_result(lease)
        except BaseException as exc:
            shutil.rmtree(folder, ignore_errors=True)
            # A write that failed for lack of space is the server's problem, said plainly, not "Errno 28".
            failure = DiskFull("the prepared inputs could not be written") if DiskFull.caused(exc) else exc
            future.set_exception(failure)
            future.exception()  # retrieved: waiters re-raise it themselves
            if failure is exc:
                raise
            raise failure from None
        finally:
            del self._preparing[key]
        return lease.hold()

    def release(self, lease: Lease) -> None:
        """Drop one holder; delete the files when none is left."""
        lease.holders -= 1
        if lease.holders <= 0 and self._leases.get(lease.key) is lease:
            del self._leases[lease.key]
            shutil.rmtree(lease.folder, ignore_errors=True)

    def busy(self) -> list[Path]:
        """Folders some job still holds (retention must not touch them)."""
        return [lease.folder for lease in self._leases.values()]
