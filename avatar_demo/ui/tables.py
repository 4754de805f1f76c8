"""The page's tables as HTML: a person's history, and the prompt lab's grid of runs side by side."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

from .. import providers
from ..core.status import Status
from ..store.history import Record
from ..web.files import video_url
from .present import provider_label

__all__ = ["history_html", "lab_grid_html", "origin_text", "run_cost", "shared_note", "stars", "verdict_text"]


def stars(rating: int | None) -> str:
    """★★★☆☆ for 3, nothing when unrated."""
    return "★" * rating + "☆" * (5 - rating) if rating else ""


def verdict_text(record: Record) -> str:
    """The person's verdict as shown: stars and the note."""
    return " ".join(part for part in (stars(record.rating), record.note or "") if part)


def origin_text(record: Record) -> str:
    """Where a re-run came from: "from run 12: prompt changed, mode std → pro"."""
    if record.parent is None:
        return ""
    tweak = record.tweak or {}
    parts = []
    for field, (old, new) in tweak.items():
        if field == "prompt":
            parts.append("prompt changed")
        elif field == "gateway":
            parts.append(f"gateway {provider_label(old)} → {provider_label(new)}")
        else:
            parts.append(f"{field} {old} → {new}")
    return f"from run {record.parent}: " + (", ".join(parts) if parts else "same settings")


def run_cost(record: Record) -> str:
    """What a run cost (charged when the gateway said, else the estimate), in the gateway's own currency."""
    if record.currency is None:
        return "free" if _free(record.provider) else ""
    amount, kind = (record.units, "") if record.units is not None else (record.estimate, "about ")
    if amount is None:
        return ""
    return f"{kind}${amount:.2f}" if record.currency == "USD" else f"{kind}{amount:g} {record.currency}"


def _free(provider: str) -> bool:
    try:
        return providers.spec(provider).free
    except Exception:  # noqa: BLE001 - an unknown provider is not free
        return False


def _video(record: Record, width: int) -> str:
    if not record.video_path:
        return ""
    src = html.escape(video_url(Path(record.video_path).name))
    return f'<video src="{src}" controls preload="metadata" width="{width}"></video>'


def _status(record: Record) -> str:
    shown = "done ✓" if record.status is Status.DONE else record.status.value
    # A finished row shows its message only once its video is gone (retention says why).
    if record.message and (record.status is not Status.DONE or not record.video_path):
        return f"{html.escape(shown)}<br><small>{html.escape(record.message)}</small>"
    return html.escape(shown)


def _task(record: Record) -> str:
    # The gateway's own id: what its dashboard lists the task under.
    return f"<br><small>task <code>{html.escape(record.task_id)}</code></small>" if record.task_id else ""


def history_html(records: Sequence[Record]) -> str:
    """One browser's runs, newest first; videos are linked by their unguessable names (no server paths)."""
    if not records:
        return "<p>No runs here yet. Everything you generate in this browser is listed here.</p>"
    rows = []
    for record in records:
        when = dt.datetime.fromtimestamp(record.created_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        origin = origin_text(record)
        prompt = html.escape(record.prompt) or "<i>(no prompt)</i>"
        rows.append(
            f'<tr data-run="{record.id}"><td>{record.id}</td><td>{when}</td>'
            f"<td>{html.escape(provider_label(record.provider))}</td><td>{html.escape(record.mode)}</td>"
            f"<td>{prompt}{f'<br><small>{html.escape(origin)}</small>' if origin else ''}</td>"
            f"<td>{_status(record)}{_task(record)}</td><td>{html.escape(verdict_text(record))}</td>"
            f"<td>{html.escape(run_cost(record))}</td><td>{_video(record, 220)}</td></tr>"
        )
    head = ("<tr><th>Run</th><th>When</th><th>Gateway</th><th>Mode</th><th>Prompt</th><th>Status</th>"
            "<th>Verdict</th><th>Cost</th><th>Video</th></tr>")
    return f'<table class="history">{head}{"".join(rows)}</table>'


def _cell(record: Record | None, live: str | None) -> str:
    if record is None:
        return "<td>waiting</td>"
    facts = [_status(record) if live is None or record.status.final else html.escape(live)]
    if record.elapsed_s is not None:
        facts.append(f"{record.elapsed_s:.0f} s")
    cost = run_cost(record)
    if cost:
        facts.append(html.escape(cost))
    facts.append(f"run {record.id}")
    verdict = verdict_text(record)
    if verdict:
        facts.append(html.escape(verdict))
    return f'<td data-run="{record.id}">{_video(record, 280)}<div class="cell">{" · ".join(facts)}</div></td>'


def shared_note(records: Sequence[Record]) -> str:
    """Whether the runs of a batch really used the same prepared photo and voice (the point of comparing them)."""
    inputs = {(r.image_ref, r.audio_ref) for r in records}
    seconds = next((r.seconds for r in records if r.seconds), None)
    voice = f" and voice ({seconds:.1f} s)" if seconds else " and voice"
    if len(inputs) == 1:
        return f"All {len(records)} runs share one prepared photo{voice}, prepared once."
    return (f"These {len(records)} runs use {len(inputs)} prepared versions of the photo and voice (a gateway with a "
            "shorter voice limit gets a shorter cut).")


def lab_grid_html(prompts: Sequence[str], columns: Sequence[tuple[str, str]],
                  cells: dict[tuple[str, str, str], tuple[Record | None, str | None]], shared: str) -> str:
    """Rows are prompts, columns (gateway, mode); each cell its video, status, time, cost, run number and verdict.

    *cells* maps (prompt, gateway, mode) to the run's record and its live status word while it is followed.
    """
    head = "".join(f"<th>{html.escape(provider_label(gateway))} · {html.escape(mode)}</th>" for gateway, mode in columns)
    rows = []
    for prompt in prompts:
        shown = html.escape(prompt) or "<i>(no prompt)</i>"
        tds = "".join(_cell(*cells.get((prompt, gateway, mode), (None, None))) for gateway, mode in columns)
        rows.append(f"<tr><th>{shown}</th>{tds}</tr>")
    return (f'<div class="lab-grid"><p>{html.escape(shared)}</p><table><tr><th>Prompt</th>{head}</tr>'
            f'{"".join(rows)}</table></div>')
