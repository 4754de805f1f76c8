"""API-only endpoints: named events on hidden components, for callers who use the app without its page."""

from __future__ import annotations

from typing import Any

import gradio as gr

from .context import UIContext
from .history import HistoryTab
from .lab_batch import run_json

__all__ = ["HistoryApi"]


class HistoryApi:
    """`/history`: a caller's runs as data, and the browser id that makes them theirs."""

    def __init__(self, ui: UIContext, history: HistoryTab) -> None:
        self.ui, self.history_tab = ui, history

    def history(self, owner: str = "", search: str = "", min_rating: float | None = 0) -> tuple[str, list[dict[str, Any]]]:
        """Your runs, newest first: id, parent, batch, prompt, mode, gateway, status, seconds, cost, rating, note, video.

        Pass the `owner` this returned the first time to /generate, /lab, /rerun, /rate and /export: runs belong to
        it. An empty or unknown owner gets a new one (and no runs).
        """
        browser = self.history_tab.account.owner_or_none(owner) or self.ui.services.keys.new_owner()
        records = self.ui.workbench.runs(browser, min_rating=int(min_rating or 0), search=search)
        return browser, [run_json(r) for r in records]

    def register(self) -> None:
        """Add the endpoints to the Blocks being built."""
        with gr.Group(visible=False):
            owner = gr.Textbox("", label="owner")
            search = gr.Textbox("", label="search")
            min_rating = gr.Number(0, label="min_rating", precision=0)
            out_owner = gr.Textbox(label="owner")
            runs = gr.JSON(label="runs")
            trigger = gr.Button()
        trigger.click(self.history, [owner, search, min_rating], [out_owner, runs], api_name="history", queue=False)
