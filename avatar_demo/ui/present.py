"""Text the page shows: status panel, cost estimates, changes, provider labels, history table."""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse

from ..config import PROVIDER_KEYS, Settings
from ..history import Record

__all__ = [
    "UNITS_PER_SECOND",
    "changes_markdown",
    "estimate_units",
    "history_html",
    "keys_note",
    "provider_choices",
    "status_markdown",
]

#: Kling's price list: about 0.4 units per second of video in std (720p), 0.8 in pro (1080p).
UNITS_PER_SECOND = {"std": 0.4, "pro": 0.8}
LABELS = {"kling": "Kling (official)", "cometapi": "CometAPI", "kkiai": "KKIAI", "modellix": "Modellix",
          "crun": "crun.ai", "local": "Offline preview (free, no key)"}


def estimate_units(provider: str, mode: str, seconds: float | None) -> float:
    """Estimated Kling units for *seconds* of video (0 for the offline preview)."""
    if provider == "local" or not seconds:
        return 0.0
    return round(UNITS_PER_SECOND.get(mode, 0.4) * seconds, 2)


def provider_choices(settings: Settings) -> list[tuple[str, str]]:
    """Dropdown choices that show which providers have a key."""
    configured = set(settings.configured)
    return [(f"{LABELS[name]}{'' if name == 'local' else (' ✓ key set' if name in configured else ' — no key')}", name)
            for name in LABELS]


def keys_note(settings: Settings) -> str:
    """The note shown when only the offline preview can run."""
    if settings.configured != ["local"]:
        return ""
    variables = ", ".join(f"`{'`+`'.join(g)}`" for name, groups in PROVIDER_KEYS.items() if name != "local" for g in groups)
    return ("**No gateway key is configured, so the page opens on the free offline preview.** "
            f"To render with Kling Avatar, set one of {variables} as an environment variable "
            "(or a Space secret), or paste your own key under *Your own API key*.")


def status_markdown(*, provider: str, status: str, elapsed_s: float | None = None, task_id: str | None = None,
                    estimate: float | None = None, units: float | None = None, note: str = "") -> str:
    """The status panel: status word, elapsed time, task id, estimated then final cost."""
    rows = [f"**Status:** {status}", f"**Provider:** {LABELS.get(provider, provider)}"]
    if elapsed_s is not None:
        rows.append(f"**Elapsed:** {elapsed_s:.0f} s")
    if task_id:
        rows.append(f"**Task id:** `{task_id}`")
    if provider == "local":
        rows.append("**Cost:** free")
    elif units is not None:
        rows.append(f"**Charged:** {units:g} units")
    elif estimate is not None:
        rows.append(f"**Estimated cost:** about {estimate:g} units" if estimate else "**Cost:** free")
    text = " · ".join(rows)
    return f"{text}\n\n{note}" if note else text


def changes_markdown(changes: list[str]) -> str:
    """What was changed in the inputs, as a list."""
    if not changes:
        return "Inputs were used as they are."
    return "**Changes made to your inputs:**\n" + "\n".join(f"- {c}" for c in changes)


def _file_url(path: str) -> str:
    return "/gradio_api/file=" + urllib.parse.quote(path)


def history_html(records: list[Record]) -> str:
    """This browser's tasks, newest first, with their videos served from local storage."""
    if not records:
        return "<p>No videos yet. Everything you generate in this browser is listed here.</p>"
    rows = []
    for record in records:
        when = dt.datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M")
        video = (f'<video src="{_file_url(record.video_path)}" controls preload="metadata" width="220"></video>'
                 if record.video_path else "")
        status = html.escape(record.status) + (f"<br><small>{html.escape(record.message)}</small>"
                                               if record.message and record.status != "succeeded" else "")
        rows.append(
            f"<tr><td>{when}</td><td>{html.escape(LABELS.get(record.provider, record.provider))}</td>"
            f"<td>{html.escape(record.mode)}</td><td>{html.escape(record.prompt) or '<i>(no prompt)</i>'}</td>"
            f"<td>{status}</td><td><code>{html.escape(record.task_id or '')}</code></td><td>{video}</td></tr>"
        )
    head = "<tr><th>When</th><th>Provider</th><th>Mode</th><th>Prompt</th><th>Status</th><th>Task id</th><th>Video</th></tr>"
    return f'<table class="history">{head}{"".join(rows)}</table>'
