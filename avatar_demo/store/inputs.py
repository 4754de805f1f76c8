"""Prepared photos and voices kept for re-runs: one copy per distinct content, named by its hash."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

__all__ = ["InputStore"]

if TYPE_CHECKING:
    from .kept import KeptIndex

#: A kept input's name: 40 hex digits of its SHA-256 and the prepared file's own suffix.
_NAME = re.compile(r"[0-9a-f]{40}\.(jpg|wav|mp3)")


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:40]


class InputStore:
    """A folder of prepared inputs; retention (Storage.sweep) deletes what has not been used for a while."""

    def __init__(self, folder: Path, index: KeptIndex | None = None) -> None:
        """*index*: the shared record of when each input was last used (replicas share the folder and the index)."""
        self.folder = Path(folder)
        self.index = index

    def _used(self, name: str, size: int | None = None) -> None:
        if self.index is not None:
            self.index.used(name, size)

    def keep(self, path: Path) -> str:
        """Keep a copy of prepared file *path* (once per distinct content) and return its name.

        Using it again renews its retention clock, so inputs that are re-run stay while they are in use.
        """
        path = Path(path)
        name = f"{_digest(path)}{path.suffix.lower()}"
        kept = self.folder / name
        if kept.exists():
            os.utime(kept)
            self._used(name)
            return name
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{secrets.token_hex(8)}{path.suffix}"
        try:
            try:
                # Same file system as the job's folder: a link costs nothing, and the job may delete its copy.
                os.link(path, partial)
            except OSError:
                shutil.copyfile(path, partial)
            os.replace(partial, kept)
        finally:
            partial.unlink(missing_ok=True)
        self._used(name, kept.stat().st_size)
        return name

    def renew(self, name: str) -> None:
        """Restart a kept input's retention clock (a run still needs it)."""
        kept = self.path(name)
        if kept is not None:
            os.utime(kept)
            self._used(name)

    def last_used(self) -> dict[str, float]:
        """When each kept input was last used, by any replica (empty without an index)."""
        return self.index.last_used() if self.index is not None else {}

    def path(self, name: str | None) -> Path | None:
        """The kept file called *name*, if the name is one of ours and the file is still there."""
        if not name or not _NAME.fullmatch(name):
            return None
        kept = self.folder / name
        return kept if kept.is_file() else None
