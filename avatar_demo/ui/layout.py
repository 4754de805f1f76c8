"""The page: the shared header, one builder per tab, the API-only endpoints, and what runs when a page opens."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..app.config import Settings, load_settings
from ..app.services import Services
from .account import AccountHandlers
from .api import HistoryApi
from .context import UIContext
from .generate import GenerateTab
from .history import HistoryTab, ratings
from .i18n import language_of, say
from .actions import afterwards
from .examples import example_cards
from .lab import LabTab
from .mcp import McpTool
from .page import HIDDEN, Page
from .present import keys_note, mode_choices, provider_choices

__all__ = ["build_demo"]


class Localizer:
    """The words Gradio's static translation cannot carry (choices, notes with values), written per visitor."""

    def __init__(self, ui: UIContext, page: Page, generate: GenerateTab, lab: LabTab, history: HistoryTab) -> None:
        self.ui, self.page, self.generate, self.lab, self.history = ui, page, generate, lab, history
        self.outputs = [page.keys_note, generate.provider, lab.gateways, history.gateway, history.min_rating,
                        generate.prompt_outputs[1], generate.examples, generate.keys.help, generate.mode, lab.modes,
                        history.mode]

    def localize(self, request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        """The page's run-time words in the visitor's language."""
        lang = language_of(request)
        choices = provider_choices(self.ui.settings, lang)
        return (say(keys_note(self.ui.settings), request), gr.update(choices=choices), gr.update(choices=choices),
                gr.update(choices=choices), gr.update(choices=ratings(lang)),
                self.generate.live.prompt_count("", request), example_cards(lang),
                self.generate.keys.help_text(self.ui.settings.default_provider, lang),
                *(gr.update(choices=mode_choices(lang)) for _ in range(3)))


def build_demo(settings: Settings | None = None, *, services: Services | None = None) -> gr.Blocks:
    """Build the Blocks app; its Services are kept on `demo.services`."""
    services = services or Services(settings or load_settings())
    settings = services.settings
    ui = UIContext(services)
    account = AccountHandlers(ui)

    with gr.Blocks(title="Avatar Demo · Kling Avatar", delete_cache=(3600, 24 * 3600)) as demo:
        page = Page.create(ui)
        generate = GenerateTab(ui, page, account)
        lab = LabTab(ui, page, account, generate)
        history = HistoryTab(ui, page, account, generate)
        with gr.Tabs(elem_id="tabs") as tabs:
            generate.build()
            lab.build()
            history.build()
        HistoryApi(ui, history).register()
        localizer = Localizer(ui, page, generate, lab, history)
        # Whatever adds or changes a run changes the History tab: its table, its filters and its run picker.
        for changed in (generate.event, lab.event, *lab.rated):
            afterwards(changed, history.history_table, *history.refresh_args, **HIDDEN)
        # A card's re-run button: the History tab, with that run picked (the picker fills the re-run fields).
        lab.grid.click(rerun_from_card, None, [tabs, history.picker], queue=False, **HIDDEN)
        demo.load(localizer.localize, None, localizer.outputs, queue=False, **HIDDEN).then(
            account.load, page.owner, [page.owner, page.history], queue=False, **HIDDEN).then(
            account.allowance, None, page.allowance, **HIDDEN).then(
            account.resume, page.owner, page.history, concurrency_limit=None, **HIDDEN).then(
            history.history_table, *history.refresh_args, **HIDDEN).then(
            generate.live.window, generate.window_inputs, generate.window_output, **ui.media_checks, **HIDDEN)
        if settings.mcp:
            McpTool(ui).register()

    # What demo.queue(max_size=…, api_open=False) sets, without the third build of the whole web app it also does
    # (~0.15 s of start-up): both are read per request. Gradio is pinned, so its queue's attribute is stable.
    demo.api_open = False
    demo._queue.max_size = settings.queue_size
    demo.services = services  # type: ignore[attr-defined]
    return demo


def rerun_from_card(evt: gr.EventData) -> tuple[Any, Any]:
    """The History tab with the card's run picked, for a card's re-run button (nothing for its stars)."""
    data = getattr(evt, "_data", None) or {}
    if not isinstance(data, dict) or data.get("action") != "rerun" or not data.get("run"):
        return gr.skip(), gr.skip()
    return gr.Tabs(selected="history"), data["run"]
