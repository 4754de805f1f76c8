"""What every tab of the page shares: the browser id, the task in flight, the allowance line, the history table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from .context import UIContext
from .present import keys_note

__all__ = ["EPHEMERAL_NOTE", "HIDDEN", "Page"]

#: Options of the events a person never calls by name (they stay out of the API page).
HIDDEN: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
EPHEMERAL_NOTE = ("**This Space has no storage bucket at /data, so history and videos are lost when it restarts.** "
                  "Its owner can mount one (`python -m avatar_demo deploy OWNER/NAME --volume BUCKET:/data`).")


@dataclass
class Page:
    """Components more than one tab reads or writes, made once at the top of the page."""

    owner: Any
    current: Any
    allowance: Any
    #: The History tab's table; made here (not yet placed) because every run refreshes it.
    history: Any

    @classmethod
    def create(cls, ui: UIContext) -> Page:
        """The page's header and shared components, inside the Blocks being built."""
        settings = ui.settings
        owner = gr.BrowserState("", storage_key="avatar-demo-owner", secret=ui.services.keys.state_secret)
        current = gr.State(None)
        with gr.Row():
            gr.Markdown("# Avatar Demo\nA portrait photo and a voice clip in, a **Kling Avatar** talking video out.")
            if settings.oauth:
                gr.LoginButton()
        allowance = gr.Markdown(elem_id="allowance", visible=settings.public)
        note = keys_note(settings)
        gr.Markdown(note, visible=bool(note), elem_id="keys-note")
        gr.Markdown(EPHEMERAL_NOTE, visible=settings.ephemeral, elem_id="storage-note")
        history = gr.HTML(elem_classes=["history"], elem_id="history", render=False)
        return cls(owner, current, allowance, history)
