"""The page's tables as HTML, in the reader's language: a person's history, and the prompt lab's grid of runs."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

from .. import providers
from ..core.text import Text, render
from ..providers.spec import Cost
from ..store.history import Record
from ..web.files import video_url
from .present import cost_text, provider_label, status_text

__all__ = ["history_html", "lab_grid_html", "origin_text", "run_cost", "shared_note", "stars", "verdict_text"]


def stars(rating: int | None) -> str:
    """★★★☆☆ for 3, nothing when unrated."""
    return "★" * rating + "☆" * (5 - rating) if rating else ""


def verdict_text(record: Record) -> str:
    """The person's verdict as shown: stars and the note (their own words, in any language)."""
    return " ".join(part for part in (stars(record.rating), record.note or "") if part)


def origin_text(record: Record) -> Text | str:
    """Where a re-run came from: "from run 12: prompt changed, mode std → pro"."""
    if record.parent is None:
        return ""
    parts = []
    for field, (old, new) in (record.tweak or {}).items():
        if field == "prompt":
            parts.append(Text("ui.origin.prompt"))
        elif field == "gateway":
            parts.append(Text("ui.origin.gateway", old=provider_label(old), new=provider_label(new)))
        else:
            parts.append(Text("ui.origin.mode", old=old, new=new))
    return Text("ui.origin", run=record.parent, what=parts or Text("ui.origin.same"))


def _free(provider: str) -> bool:
    try:
        return providers.spec(provider).free
    except Exception:  # noqa: BLE001 - an unknown provider is not free
        return False


def run_cost(record: Record) -> Text | str:
    """What a run cost (charged when the gateway said, else the estimate), in the gateway's own currency."""
    if record.currency is None:
        return Text("cost.free") if _free(record.provider) else ""
    amount = record.units if record.units is not None else record.estimate
    if amount is None:
        return ""
    return cost_text(Cost(amount, record.currency, 0.0), about=record.units is None)


def _video(record: Record, width: int) -> str:
    if not record.video_path:
        return ""
    src = html.escape(video_url(Path(record.video_path).name))
    return f'<video src="{src}" controls preload="metadata" width="{width}"></video>'


def _status(record: Record, lang: str) -> str:
    shown = html.escape(render(status_text(record.status), lang))
    # A finished row's message says what its video is (the preview's words) or, once the video is gone, why.
    if record.message:
        return f"{shown}<br><small>{html.escape(render(record.message, lang))}</small>"
    return shown


def _task(record: Record, lang: str) -> str:
    # The gateway's own id: what its dashboard lists the task under.
    if not record.task_id:
        return ""
    return f"<br><small>{render(Text('ui.hist.task'), lang)} <code>{html.escape(record.task_id)}</code></small>"


def _when(record: Record, lang: str) -> str:
    moment = dt.datetime.fromtimestamp(record.created_at, dt.timezone.utc)
    date = moment.strftime("%Y年%m月%d日 %H:%M") if lang == "zh" else moment.strftime("%Y-%m-%d %H:%M")
    return render(Text("ui.hist.when", date=date), lang)


def history_html(records: Sequence[Record], lang: str = "en") -> str:
    """One browser's runs, newest first; videos are linked by their unguessable names (no server paths)."""
    if not records:
        return f"<p>{html.escape(render(Text('ui.hist.empty'), lang))}</p>"
    rows = []
    for record in records:
        origin = render(origin_text(record), lang)
        prompt = html.escape(record.prompt) or f"<i>{html.escape(render(Text('ui.no_prompt'), lang))}</i>"
        rows.append(
            f'<tr data-run="{record.id}"><td>{record.id}</td><td>{_when(record, lang)}</td>'
            f"<td>{html.escape(render(provider_label(record.provider), lang))}</td><td>{html.escape(record.mode)}</td>"
            f"<td>{prompt}{f'<br><small>{html.escape(origin)}</small>' if origin else ''}</td>"
            f"<td>{_status(record, lang)}{_task(record, lang)}</td><td>{html.escape(verdict_text(record))}</td>"
            f"<td>{html.escape(render(run_cost(record), lang))}</td><td>{_video(record, 220)}</td></tr>"
        )
    columns = ("run", "when", "gateway", "mode", "prompt", "status", "verdict", "cost", "video")
    head = "".join(f"<th>{html.escape(render(Text(f'ui.hist.col.{c}'), lang))}</th>" for c in columns)
    return f'<table class="history"><tr>{head}</tr>{"".join(rows)}</table>'


def shared_note(records: Sequence[Record]) -> Text:
    """Whether the runs of a batch really used the same prepared photo and voice (the point of comparing them)."""
    inputs = {(r.image_ref, r.audio_ref) for r in records}
    seconds = next((r.seconds for r in records if r.seconds), None)
    voice = Text("ui.lab.shared.voice", seconds=seconds) if seconds else Text("ui.lab.shared.voice_plain")
    if len(inputs) == 1:
        return Text("ui.lab.shared", count=len(records), voice=voice)
    return Text("ui.lab.not_shared", count=len(records), versions=len(inputs))


def _cell(record: Record | None, lang: str) -> str:
    if record is None:
        return f"<td>{html.escape(render(Text('ui.lab.waiting'), lang))}</td>"
    facts = [_status(record, lang)]
    if record.elapsed_s is not None:
        facts.append(html.escape(render(Text("ui.lab.cell.seconds", seconds=round(record.elapsed_s)), lang)))
    cost = render(run_cost(record), lang)
    if cost:
        facts.append(html.escape(cost))
    facts.append(html.escape(render(Text("ui.lab.cell.run", run=record.id), lang)))
    verdict = verdict_text(record)
    if verdict:
        facts.append(html.escape(verdict))
    return f'<td data-run="{record.id}">{_video(record, 280)}<div class="cell">{" · ".join(facts)}</div></td>'


def lab_grid_html(prompts: Sequence[str], columns: Sequence[tuple[str, str]], cells: dict[tuple[str, str, str],
                  Record | None], shared: Text, lang: str = "en") -> str:
    """Rows are prompts, columns (gateway, mode); each cell its video, status, time, cost, run number and verdict."""
    head = "".join(f"<th>{html.escape(render(provider_label(gateway), lang))} · {html.escape(mode)}</th>"
                   for gateway, mode in columns)
    rows = []
    for prompt in prompts:
        shown = html.escape(prompt) or f"<i>{html.escape(render(Text('ui.no_prompt'), lang))}</i>"
        tds = "".join(_cell(cells.get((prompt, gateway, mode)), lang) for gateway, mode in columns)
        rows.append(f"<tr><th>{shown}</th>{tds}</tr>")
    first = html.escape(render(Text("ui.lab.prompt"), lang))
    return (f'<div class="lab-grid"><p>{html.escape(render(shared, lang))}</p><table><tr><th>{first}</th>{head}</tr>'
            f'{"".join(rows)}</table></div>')
