"""The History tab: a person's runs, filtered and searched, re-run with a tweak, rated, and exported as a zip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from .. import providers
from ..core.errors import AvatarDemoError
from ..core.text import Text, render
from .account import AccountHandlers
from .context import UIContext, refusal
from .generate import GenerateTab, RunView
from .i18n import language_of, t
from .lab import verdict_saved
from .page import HIDDEN, Page
from .present import provider_choices, provider_label
from .tables import history_html

__all__ = ["HistoryTab", "ratings"]

def ratings(lang: str = "en") -> list[tuple[str, int]]:
    """The rating filter's choices: (what the page shows, the least rating shown)."""
    labels = [Text("ui.hist.rating.any"), *(Text("ui.hist.rating.at_least", n=n) for n in range(1, 5)),
              Text("ui.hist.rating.five")]
    return [(render(label, lang), n) for n, label in enumerate(labels)]


class HistoryTab:
    """Bound to one page."""

    def __init__(self, ui: UIContext, page: Page, account: AccountHandlers, generate: GenerateTab) -> None:
        self.ui, self.page, self.account, self.generate = ui, page, account, generate

    def history_table(self, owner: Any, search: str = "", min_rating: int | None = 0,
                      request: gr.Request = None) -> tuple[str, str, dict[str, Any]]:  # type: ignore[assignment]
        """The filtered table, the run numbers it shows, and the run picker's choices."""
        lang = language_of(request)
        records = self.ui.workbench.runs(self.account.owner_or_none(owner), min_rating=int(min_rating or 0),
                                         search=search)
        choices = [(render(Text("ui.hist.pick.choice", run=r.id, gateway=provider_label(r.provider), mode=r.mode,
                                prompt=r.prompt[:40] or Text("ui.no_prompt")), lang), r.id) for r in records]
        return (history_html(records, lang), ", ".join(str(r.id) for r in records),
                gr.update(choices=choices, value=None))

    def pick(self, run: int | None, owner: Any) -> tuple[Any, ...]:
        """Fill the re-run and verdict fields with the picked run's own settings."""
        browser = self.account.owner_or_none(owner)
        record = self.ui.services.history.owned(browser, int(run)) if run else None
        if record is None:
            return (gr.skip(),) * 6
        return record.id, record.prompt, record.mode, record.provider, record.rating or 0, record.note or ""

    async def rerun(self, id: float | None, prompt: str = "", mode: str = "", gateway: str = "",  # noqa: A002
                    api_key: str = "", owner: Any = None, allow_no_face: bool = False,
                    request: gr.Request = None,  # type: ignore[assignment]
                    profile: gr.OAuthProfile | None = None) -> AsyncIterator[dict[Any, Any]]:
        """Run one of your runs again on its kept photo and voice with a changed prompt, mode or gateway.

        Empty prompt, mode or gateway keep the run's own. Yields like /generate; the new run links to its parent.
        """
        lang = language_of(request)
        key = (api_key or "").strip() or None
        browser = self.account.owner_or_none(owner)
        parent = self.ui.services.history.owned(browser, int(id)) if isinstance(id, (int, float)) else None
        name = (gateway or "").strip()
        # The panel names a gateway that exists; an unknown name is refused below, in words.
        shown = name if name in providers.names() else parent.provider if parent else self.ui.settings.default_provider
        view = self.run.start(shown, browser, lang)
        try:
            self.ui.owner(owner)
            yield view()
            started = await self.ui.workbench.rerun(self.ui.visitor(request, profile), browser, id, prompt=prompt,
                                                    mode=mode, provider=name, user_key=key,
                                                    allow_no_face=bool(allow_no_face))
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            last, error = self.run.refused(view, self.run.status, exc, key, lang)
            yield last
            raise error from None
        async for values in self.run.follow(view, started, started.plan.spec.name, key, browser, lang):
            yield values

    def rate(self, id: float | None, rating: float | None = 0, note: str = "",  # noqa: A002
             owner: Any = None, request: gr.Request = None) -> tuple[str, dict[str, Any]]:  # type: ignore[assignment]
        """Keep your verdict on one of your runs: 1-5 stars (0 clears) and a short note. Returns the run."""
        lang = language_of(request)
        try:
            record = self.ui.workbench.rate(self.account.owner_or_none(owner), id, rating, note)
        except AvatarDemoError as exc:
            raise refusal(exc, lang=lang) from None
        return render(verdict_saved(record), lang), {"id": record.id, "rating": record.rating, "note": record.note}

    async def export(self, ids: Any = "", batch: str = "", owner: Any = None,
                     request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Download runs as one zip (videos, the prepared inputs once, runs.csv and runs.json): the given run
        numbers, else one lab batch, else all your runs."""
        try:
            export = await self.ui.workbench.export(self.account.owner_or_none(owner), ids=ids,
                                                    batch=(batch or "").strip() or None,
                                                    visitor=self.ui.visitor(request))
        except AvatarDemoError as exc:
            raise refusal(exc, lang=language_of(request)) from None
        return str(export.path)

    def build(self) -> None:
        """Lay out the tab and wire its events (inside the Blocks being built)."""
        page, account, gen = self.page, self.account, self.generate
        settings = self.ui.settings
        with gr.Tab(t("ui.tab.history")):
            with gr.Row():
                search = gr.Textbox("", label=t("ui.hist.search"), elem_id="history-search")
                self.min_rating = gr.Dropdown(ratings(), value=0, label=t("ui.hist.rating"), elem_id="history-rating")
                refresh = gr.Button(t("ui.hist.refresh"), elem_id="history-refresh")
            page.history.render()
            shown = gr.Textbox("", visible=False, label="ids")
            with gr.Accordion(t("ui.hist.actions"), open=True):
                picker = gr.Dropdown([], label=t("ui.hist.pick"), elem_id="history-pick")
                with gr.Row():
                    run = gr.Number(label=t("ui.lab.run"), precision=0, minimum=1, elem_id="history-run")
                    prompt = gr.Textbox("", label=t("ui.hist.prompt"), lines=2, elem_id="history-prompt")
                    # Empty (the API's default) keeps the run's own mode and gateway; picking a run fills them in.
                    mode = gr.Dropdown(["std", "pro"], value="", label=t("ui.hist.mode"), allow_custom_value=True)
                    self.gateway = gr.Dropdown(provider_choices(settings), value="", label=t("ui.hist.gateway"),
                                               allow_custom_value=True, elem_id="history-gateway")
                again = gr.Button(t("ui.hist.again"), variant="primary", elem_id="history-again")
                with gr.Row():
                    rating = gr.Slider(0, 5, value=0, step=1, label=t("ui.lab.stars"), elem_id="history-stars")
                    note = gr.Textbox("", label=t("ui.lab.note"), max_length=500, elem_id="history-note")
                    save = gr.Button(t("ui.lab.save"), elem_id="history-save")
                verdict = gr.Markdown(elem_id="history-verdict")
                rated = gr.JSON(visible=False, label="run")
                export = gr.Button(t("ui.hist.export"), elem_id="history-export-button")
                batch = gr.Textbox("", visible=False, label="batch")
                download = gr.File(label=t("ui.hist.download"), elem_id="history-export")
            with gr.Row():
                status = gr.Markdown(elem_id="rerun-status")
                changes = gr.Markdown(elem_id="rerun-changes")
            video = gr.Video(label=t("ui.hist.result"), buttons=["download"], elem_id="rerun-result")
        self.run = RunView(self.ui, account, status=status, changes=changes, video=video, history=page.history,
                           current=page.current)
        table_args = ([page.owner, search, self.min_rating], [page.history, shown, picker])
        # One event for its three triggers: answers come in order, the last one asked wins.
        gr.on([refresh.click, search.submit, self.min_rating.change], self.history_table, *table_args,
              trigger_mode="always_last", **HIDDEN)
        picker.change(self.pick, [picker, page.owner], [run, prompt, mode, self.gateway, rating, note], **HIDDEN)
        again.click(self.rerun, [run, prompt, mode, self.gateway, gen.api_key, page.owner, gen.send_anyway],
                    self.run.outputs, api_name="rerun", concurrency_limit=None, show_progress_on=[video]).then(
            account.allowance, None, page.allowance, **HIDDEN).then(self.history_table, *table_args, **HIDDEN)
        save.click(self.rate, [run, rating, note, page.owner], [verdict, rated], api_name="rate").then(
            self.history_table, *table_args, **HIDDEN)
        export.click(self.export, [shown, batch, page.owner], download, api_name="export")
        self.refresh_args = table_args
