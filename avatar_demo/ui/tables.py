"""The page's tables as HTML, in the reader's language: a person's history, and the prompt lab's cards of runs.

Both scroll inside their own frame, so a long history or a lab batch of many runs never widens the page.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

from .. import providers
from ..core.status import Status
from ..core.text import Text, render
from ..providers.spec import Cost
from ..store.records import Record
from ..web.files import video_url
from .present import cost_text, mode_text, pricing_of, provider_label, status_text

__all__ = ["history_html", "lab_grid_html", "origin_text", "run_cost", "shared_note", "stars", "verdict_saved", "verdict_text"]


def stars(rating: int | None) -> str:
    """★★★☆☆ for 3, nothing when unrated."""
    return "★" * rating + "☆" * (5 - rating) if rating else ""


def verdict_text(record: Record) -> str:
    """The person's verdict as shown: stars and the note (their own words, in any language)."""
    return " ".join(part for part in (stars(record.rating), record.note or "") if part)


def verdict_saved(record: Record) -> Text:
    """What the page says once a verdict is kept: "Run 12: ★★★★☆ · natural"."""
    shown = stars(record.rating) or Text("ui.verdict.cleared")
    if record.note:
        return Text("ui.verdict.saved.note", run=record.id, stars=shown, note=record.note)
    return Text("ui.verdict.saved", run=record.id, stars=shown)


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
            parts.append(Text("ui.origin.mode", old=mode_text(old), new=mode_text(new)))
    return Text("ui.origin", run=record.parent, what=parts or Text("ui.origin.same"))


def _free(provider: str) -> bool:
    try:
        return providers.spec(provider).free
    except Exception:  # noqa: BLE001 - an unknown provider is not free
        return False


def run_cost(record: Record) -> Text | str:
    """What a run cost (charged when the gateway said, else the estimate): money where the price is known."""
    if record.currency is None:
        return Text("cost.free") if _free(record.provider) else ""
    amount = record.units if record.units is not None else record.estimate
    if amount is None:
        return ""
    return cost_text(Cost(amount, record.currency, 0.0), pricing_of(record.provider), about=record.units is None)


def _video(record: Record) -> str:
    if not record.video_path:
        return ""
    src = html.escape(video_url(Path(record.video_path).name))
    return f'<video src="{src}" controls preload="metadata" playsinline></video>'


def _say(key: str, lang: str, **params: object) -> str:
    return html.escape(render(Text(key, **params), lang))


def _status(record: Record, lang: str) -> str:
    shown = html.escape(render(status_text(record.status), lang))
    if record.task_id:  # the gateway's own id, what its dashboard lists the task under: there when asked for
        shown = f'<span title="{_say("ui.hist.task", lang)} {html.escape(record.task_id)}">{shown}</span>'
    # A finished row's message says what its video is (the preview's words) or, once the video is gone, why.
    if record.message:
        return f"{shown}<br><small>{html.escape(render(record.message, lang))}</small>"
    return shown


def _when(record: Record, lang: str) -> str:
    moment = dt.datetime.fromtimestamp(record.created_at, dt.timezone.utc)
    date = moment.strftime("%Y年%m月%d日 %H:%M") if lang == "zh" else moment.strftime("%Y-%m-%d %H:%M")
    return render(Text("ui.hist.when", date=date), lang)


def _prompt(record: Record, lang: str) -> str:
    return html.escape(record.prompt) or f"<i>{_say('ui.no_prompt', lang)}</i>"


_COLUMNS = ("run", "when", "gateway", "mode", "prompt", "status", "verdict", "cost", "video")


def history_html(records: Sequence[Record], lang: str = "en") -> str:
    """One browser's runs, newest first, in a frame of their own; a run's button picks it for a re-run or a verdict.

    Videos are linked by their unguessable names (no server paths). On a phone each row becomes a card.
    """
    if not records:
        return f'<p class="empty">{_say("ui.hist.empty", lang)}</p>'
    labels = {c: _say(f"ui.hist.col.{c}", lang) for c in _COLUMNS}
    rows = []
    for record in records:
        origin = render(origin_text(record), lang)
        cells = {
            "run": f'{record.id} <button type="button" class="pick" data-pick="{record.id}">{_say("ui.hist.use", lang)}'
                   "</button>",
            "when": _when(record, lang),
            "gateway": html.escape(render(provider_label(record.provider), lang)),
            "mode": html.escape(render(mode_text(record.mode), lang)),
            "prompt": _prompt(record, lang) + (f"<br><small>{html.escape(origin)}</small>" if origin else ""),
            "status": _status(record, lang),
            "verdict": html.escape(verdict_text(record)),
            "cost": html.escape(render(run_cost(record), lang)),
            "video": _video(record),
        }
        tds = "".join(f'<td data-label="{labels[c]}" class="col-{c}">{cells[c]}</td>' for c in _COLUMNS)
        rows.append(f'<tr data-run="{record.id}">{tds}</tr>')
    head = "".join(f"<th>{labels[c]}</th>" for c in _COLUMNS)
    table = f'<table class="history"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="frame">{table}</div>'


def shared_note(records: Sequence[Record]) -> Text:
    """Whether the runs of a batch really used the same prepared photo and voice (the point of comparing them)."""
    inputs = {(r.image_ref, r.audio_ref) for r in records}
    seconds = next((r.seconds for r in records if r.seconds), None)
    voice = Text("ui.lab.shared.voice", seconds=seconds) if seconds else Text("ui.lab.shared.voice_plain")
    if len(inputs) == 1:
        return Text("ui.lab.shared", count=len(records), voice=voice)
    return Text("ui.lab.not_shared", count=len(records), versions=len(inputs))


def _stars(record: Record, lang: str) -> str:
    buttons = "".join(
        f'<button type="button" data-action="rate" data-run="{record.id}" data-stars="{n}" '
        f'class="{"on" if (record.rating or 0) >= n else "off"}" title="{_say("ui.lab.rate_n", lang, n=n)}">'
        "★</button>" for n in range(1, 6))
    return f'<span class="rate">{buttons}</span>'


def _card(prompt: str, column: tuple[str, str], record: Record | None, lang: str) -> str:
    gateway, mode = column
    head = (f'<div class="card-head"><b>{html.escape(prompt) or "<i>" + _say("ui.no_prompt", lang) + "</i>"}</b>'
            f"<small>{html.escape(render(provider_label(gateway), lang))} · "
            f"{html.escape(render(mode_text(mode), lang))}</small></div>")
    if record is None:
        return f'<div class="card waiting">{head}<div class="facts">{_say("ui.lab.waiting", lang)}</div></div>'
    facts = [_status(record, lang)]
    if record.elapsed_s is not None:
        facts.append(_say("ui.lab.cell.seconds", lang, seconds=round(record.elapsed_s)))
    cost = render(run_cost(record), lang)
    if cost:
        facts.append(html.escape(cost))
    facts.append(_say("ui.lab.cell.run", lang, run=record.id))
    actions = ""
    if record.status is Status.DONE:
        note = f'<small class="note">{html.escape(record.note)}</small>' if record.note else ""
        actions = (f'<div class="card-actions">{_stars(record, lang)}<button type="button" data-action="rerun" '
                   f'data-run="{record.id}" class="again">{_say("ui.lab.again", lang)}</button>{note}</div>')
    return (f'<div class="card" data-run="{record.id}">{head}{_video(record)}'
            f'<div class="facts">{" · ".join(facts)}</div>{actions}</div>')


def lab_grid_html(prompts: Sequence[str], columns: Sequence[tuple[str, str]], cells: dict[tuple[str, str, str],
                  Record | None], shared: Text, lang: str = "en") -> str:
    """One card per run, a row per prompt with a card per (gateway, mode) side by side: its video, status, time,
    cost and run number, and its stars and a re-run button by it. The cards scroll in their own frame."""
    cards = "".join(_card(prompt, column, cells.get((prompt, *column)), lang)
                    for prompt in prompts for column in columns)
    across = len(columns) if len(columns) > 1 else 0
    style = f' style="--across: {across}"' if across else ""
    return (f'<div class="lab-grid"><p class="shared">{html.escape(render(shared, lang))}</p>'
            f'<div class="frame"><div class="cards{" matrix" if across else ""}"{style}>{cards}</div></div></div>')
