"""The lab's batch as words and data: the variants a prompt box asks for, its progress line, a run as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.status import Status
from ..core.text import Text, render
from ..providers.base import MAX_PROMPT
from ..store.records import Record
from ..web.files import video_url
from .tables import run_cost

__all__ = ["MAX_LAB_VARIANTS", "progress_line", "run_json", "variants"]

MAX_LAB_VARIANTS = 200
#: The lab's prompts text is measured before it is split: room for MAX_LAB_VARIANTS of the longest prompts, and
#: for a few blank lines between them.
MAX_LAB_TEXT = MAX_LAB_VARIANTS * (MAX_PROMPT + 1)
MAX_LAB_LINES = 4 * MAX_LAB_VARIANTS


def variants(prompts: str | None, modes: list[str] | None) -> list[tuple[str, str]]:
    """Every (prompt, mode) pair the lab will run: one prompt per line, each in every chosen mode.

    InputError when the text is longer or has more lines than a full lab could use (nothing is split then).
    """
    text = prompts or ""
    lines_given = text.count("\n") + text.count("\r") + 1
    if len(text) > MAX_LAB_TEXT or lines_given > MAX_LAB_LINES:
        raise InputError(Text("ui.lab.text_too_long", chars=len(text), lines=lines_given, most_chars=MAX_LAB_TEXT,
                              most_lines=MAX_LAB_LINES))
    lines = list(dict.fromkeys(p.strip() for p in text.splitlines() if p.strip())) or [""]
    return [(p, m) for p in lines for m in (modes or ["std"])]


def run_json(record: Record) -> dict[str, Any]:
    """One run as API callers read it (the video by its app URL, never a server path)."""
    return {"id": record.id, "batch": record.batch, "parent": record.parent, "prompt": record.prompt,
            "mode": record.mode, "gateway": record.provider, "status": record.status.value,
            "seconds": record.duration_s or record.seconds, "cost": str(run_cost(record)), "elapsed_s": record.elapsed_s,
            "rating": record.rating, "note": record.note, "message": str(record.message) if record.message else None,
            "video": video_url(Path(record.video_path).name) if record.video_path else None}


def progress_line(records: list[Record | None], cost: Text, refusals: list[str], lang: str) -> str:
    """Where a batch stands: what was started and its estimate, then how many runs are done, still running, or
    ended without a video."""
    known = [r for r in records if r is not None]
    done = sum(1 for r in known if r.status is Status.DONE)
    ended = sum(1 for r in known if r.status.final or r.status.unresolved)
    parts = [Text("ui.lab.started", count=len(records), cost=cost),
             Text("ui.lab.progress.done", done=done, total=len(records))]
    if len(records) - ended:
        parts.append(Text("ui.lab.progress.running", count=len(records) - ended))
    if ended - done:
        parts.append(Text("ui.lab.progress.other", count=ended - done))
    return "\n\n".join([" · ".join(render(p, lang) for p in parts), *refusals])
