"""The page: the shared header, one builder per tab, the API-only endpoints, and what runs when a page opens."""

from __future__ import annotations

import gradio as gr

from ..app.config import Settings, load_settings
from ..app.services import Services
from .account import AccountHandlers
from .api import HistoryApi
from .context import UIContext
from .generate import GenerateTab
from .history import HistoryTab
from .lab import LabTab
from .mcp import McpTool
from .page import HIDDEN, Page

__all__ = ["build_demo"]


def build_demo(settings: Settings | None = None, *, services: Services | None = None) -> gr.Blocks:
    """Build the Blocks app; its Services are kept on `demo.services`."""
    services = services or Services(settings or load_settings())
    settings = services.settings
    ui = UIContext(services)
    account = AccountHandlers(ui)

    with gr.Blocks(title="Avatar Demo · Kling Avatar", delete_cache=(3600, 24 * 3600)) as demo:
        page = Page.create(ui)
        generate = GenerateTab(ui, page, account)
        history = HistoryTab(ui, page, account, generate)
        with gr.Tabs():
            generate.build()
            LabTab(ui, page, account, generate).build()
            history.build()
        HistoryApi(ui, history).register()
        # A finished run changes what the History tab's filters show.
        generate.event.then(history.history_table, *history.refresh_args, **HIDDEN)
        demo.load(account.load, page.owner, [page.owner, page.history], queue=False, **HIDDEN).then(
            account.allowance, None, page.allowance, **HIDDEN).then(
            account.resume, page.owner, page.history, concurrency_limit=None, **HIDDEN).then(
            history.history_table, *history.refresh_args, **HIDDEN).then(
            generate.window, generate.window_inputs, generate.window_output, **HIDDEN)
        if settings.mcp:
            McpTool(ui).register()

    demo.queue(max_size=settings.queue_size, api_open=False)
    demo.services = services  # type: ignore[attr-defined]
    return demo
