"""Export runs as one zip: their videos, the prepared inputs once each, and runs.csv / runs.json.

The zip is written to a file as it is built (each video is streamed from disk), so an export of
many videos never sits in memory; its size is known, and refused over the cap, before anything is
written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputError
from ..core.text import Text
from .records import Record
from .inputs import InputStore
from .storage import Storage

__all__ = ["COLUMNS", "Export", "write_export"]

#: The columns of runs.csv (runs.json holds the same keys).
COLUMNS = ("id", "parent", "batch", "prompt", "mode", "gateway", "seconds", "cost", "currency", "cost_is",
           "status", "rating", "note", "created", "video", "photo", "voice")
#: Headroom for the tables and the zip's own headers, per run.
_OVERHEAD_PER_RUN = 4096
#: What makes a spreadsheet read a cell as a formula (runs.json keeps the words exactly as they were).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    """A written export: where it is, and what it holds."""

    path: Path
    runs: int
    videos: int
    bytes: int


def _row(record: Record, video: str | None, photo: str | None, voice: str | None) -> dict[str, object]:
    charged = record.units is not None
    created = dt.datetime.fromtimestamp(record.created_at, dt.timezone.utc).isoformat(timespec="seconds")
    return {
        "id": record.id, "parent": record.parent, "batch": record.batch, "prompt": record.prompt,
        "mode": record.mode, "gateway": record.provider, "seconds": record.duration_s or record.seconds,
        "cost": record.units if charged else record.estimate, "currency": record.currency,
        "cost_is": "charged" if charged else "estimate" if record.estimate is not None else None,
        "status": record.status.value, "rating": record.rating, "note": record.note, "created": created,
        "video": video, "photo": photo, "voice": voice,
    }


def _cell(value: object) -> object:
    """A runs.csv cell a spreadsheet will not run: text starting with = + - @, a tab or a CR gets a leading '."""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def write_export(records: list[Record], storage: Storage, inputs: InputStore, *, max_bytes: int | None,
                 folder: Path | None = None, room: Callable[[int], None] | None = None) -> Export:
    """Write *records* (oldest first in the tables) to a new zip in *folder* (the exports folder by default);
    InputError when empty or over *max_bytes*. *room* is told the zip's size before anything is written, and
    raises to refuse it (the export budget, the free-space floor)."""
    if not records:
        raise InputError(Text("export.empty"))
    records = sorted(records, key=lambda r: r.id)
    videos = {r.id: storage.video(r.video_path) for r in records}
    kept = {name: inputs.path(name) for r in records for name in (r.image_ref, r.audio_ref) if name}
    files = [p for p in (*videos.values(), *kept.values()) if p is not None]
    size = sum(p.stat().st_size for p in files) + _OVERHEAD_PER_RUN * len(records)
    if max_bytes is not None and size > max_bytes:
        raise InputError(Text("export.too_large", runs=len(records), size=size / 1e6, limit=max_bytes / 1e6))
    if room is not None:
        room(size)
    dest = (folder or storage.exports) / f"runs-{secrets.token_urlsafe(18)}.zip"
    partial = dest.with_name(f".{dest.name}")
    rows = []
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            written: set[str] = set()
            for record in records:
                names: list[str | None] = []
                for folder, path, stem in (("videos", videos[record.id], f"run-{record.id}"),
                                           ("inputs", kept.get(record.image_ref or ""), "photo-"),
                                           ("inputs", kept.get(record.audio_ref or ""), "voice-")):
                    if path is None:
                        names.append(None)
                        continue
                    arcname = f"{folder}/{stem}{path.stem[:12] if stem.endswith('-') else ''}{path.suffix}"
                    if arcname not in written:
                        # Videos and encoded audio do not compress: store them, and stream them from disk.
                        archive.write(path, arcname, compress_type=zipfile.ZIP_STORED)
                        written.add(arcname)
                    names.append(arcname)
                rows.append(_row(record, *names))
            table = io.StringIO()
            writer = csv.DictWriter(table, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows([{k: _cell(v) for k, v in row.items()} for row in rows])
            archive.writestr("runs.csv", table.getvalue())
            archive.writestr("runs.json", json.dumps(rows, ensure_ascii=False, indent=2))
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Export(dest, len(records), sum(1 for v in videos.values() if v), dest.stat().st_size)
