"""What every tab of the page shares: the browser id, the task in flight, the allowance line, the history table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from .context import UIContext
from .i18n import t
from .present import keys_note

__all__ = ["HIDDEN", "Page"]

#: Options of the events a person never calls by name (they stay out of the API page).
HIDDEN: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
#: In the history table, only a run's own button is an event; it names the run.
PICK_ROW_JS = ("element.addEventListener('click', e => { const b = e.target.closest('button[data-pick]');"
               " if (b) trigger('click', {run: Number(b.dataset.pick)}); });")


@dataclass
class Page:
    """Components more than one tab reads or writes, made once at the top of the page."""

    owner: Any
    current: Any
    allowance: Any
    #: The History tab's table; made here (not yet placed) because every run refreshes it.
    history: Any
    #: The note shown when no gateway has a key (its words name the variables, so it is written per visitor).
    keys_note: Any

    @classmethod
    def create(cls, ui: UIContext) -> Page:
        """The page's header and shared components, inside the Blocks being built."""
        settings = ui.settings
        owner = gr.BrowserState("", storage_key="avatar-demo-owner", secret=ui.services.keys.state_secret)
        current = gr.State(None)
        with gr.Row(elem_id="header", equal_height=True):
            gr.Markdown(t("ui.title"), elem_id="title")
            if settings.oauth:
                gr.LoginButton(scale=0, min_width=160)
        allowance = gr.Markdown(elem_id="allowance", visible=settings.public, elem_classes=["note"])
        note = keys_note(settings)
        shown_note = gr.Markdown(str(note), visible=bool(note), elem_id="keys-note", elem_classes=["note"])
        gr.Markdown(t("ui.ephemeral"), visible=settings.ephemeral, elem_id="storage-note", elem_classes=["note"])
        history = gr.HTML(elem_classes=["history"], elem_id="history", render=False, js_on_load=PICK_ROW_JS)
        return cls(owner, current, allowance, history, shown_note)
