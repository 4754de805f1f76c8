"""The History tab: a person's runs, filtered and searched, re-run with a tweak, rated, and exported as a zip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from .. import providers
from ..core.errors import AvatarDemoError
from ..core.text import Text, render
from .account import AccountHandlers
from .actions import afterwards, run_button
from .context import UIContext, refusal
from .generate import GenerateTab, RunView
from .i18n import language_of, t
from .page import HIDDEN, Page
from .present import mode_choices, mode_text, provider_choices
from .tables import history_html, verdict_saved

__all__ = ["HistoryTab", "ratings"]

def ratings(lang: str = "en") -> list[tuple[str, int]]:
    """The rating filter's choices: (what the page shows, the least rating shown)."""
    labels = [Text("ui.hist.rating.any"), *(Text("ui.hist.rating.at_least", n=n) for n in range(1, 5)),
              Text("ui.hist.rating.five")]
    return [(render(label, lang), n) for n, label in enumerate(labels)]


def _short(prompt: str, most: int = 28) -> str:
    return prompt if len(prompt) <= most else prompt[: most - 1].rstrip() + "…"


class HistoryTab:
    """Bound to one page."""

    def __init__(self, ui: UIContext, page: Page, account: AccountHandlers, generate: GenerateTab) -> None:
        self.ui, self.page, self.account, self.generate = ui, page, account, generate

    def history_table(self, owner: Any, search: str = "", min_rating: int | None = 0,
                      request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        """The filtered table, the run numbers it shows, the run picker's choices, and the re-run panel (shown once
        there is a run to pick)."""
        lang = language_of(request)
        records = self.ui.workbench.runs(self.account.owner_or_none(owner), min_rating=int(min_rating or 0),
                                         search=search)
        # Short enough for a phone's field: the run's gateway and mode fill their own fields once it is picked.
        choices = [(render(Text("ui.hist.pick.choice", run=r.id, mode=mode_text(r.mode),
                                prompt=_short(r.prompt) or Text("ui.no_prompt")), lang), r.id) for r in records]
        return (history_html(records, lang), ", ".join(str(r.id) for r in records),
                gr.update(choices=choices), gr.update(visible=bool(records or search or min_rating)))

    @staticmethod
    def picked_row(evt: gr.EventData) -> Any:
        """A run's button in the table pressed: that run in the picker (which fills the fields)."""
        data = getattr(evt, "_data", None) or {}
        return data.get("run") if isinstance(data, dict) and data.get("run") else gr.skip()

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
                                                    allow_no_face=bool(allow_no_face), language=lang)
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

    def rate_here(self, id: float | None, rating: float | None = 0, note: str = "",  # noqa: A002
                  owner: Any = None, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """rate() for the page: the verdict, or why it was not kept, said in the verdict line."""
        try:
            return self.rate(id, rating, note, owner, request)[0]
        except gr.Error as error:
            return render(Text("ui.verdict.refused", message=error.message), language_of(request))

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

    async def export_here(self, ids: Any = "", batch: str = "", owner: Any = None,
                          request: gr.Request = None) -> tuple[Any, str]:  # type: ignore[assignment]
        """export() for the page: the zip, or why there is none, said beside the button."""
        try:
            return gr.update(value=await self.export(ids, batch, owner, request), visible=True), ""
        except gr.Error as error:
            said = render(Text("ui.export.refused", message=error.message), language_of(request))
            return gr.update(visible=False), said

    def build(self) -> None:
        """Lay out the tab and wire its events (inside the Blocks being built).

        The runs on the left in a frame of their own; on the right, once there is a run, the panel that re-runs or
        rates the picked one, with the re-run's status and result under its button.
        """
        page, account, gen = self.page, self.account, self.generate
        settings = self.ui.settings
        with gr.Tab(t("ui.tab.history"), id="history"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300, elem_id="history-list"):
                    with gr.Row(equal_height=False, elem_id="history-filters"):
                        search = gr.Textbox("", label=t("ui.hist.search"), elem_id="history-search", scale=3,
                                            min_width=160)
                        self.min_rating = gr.Dropdown(ratings(), value=0, label=t("ui.hist.rating"),
                                                      elem_id="history-rating", scale=2, min_width=120)
                        refresh = gr.Button(t("ui.hist.refresh"), elem_id="history-refresh", size="sm", scale=0,
                                            min_width=90)
                    page.history.render()
                    shown = gr.Textbox("", visible=False, label="ids")
                    batch = gr.Textbox("", visible=False, label="batch")
                    with gr.Row(equal_height=True):
                        export = gr.Button(t("ui.hist.export"), elem_id="history-export-button", size="sm",
                                           scale=0, min_width=200)
                        exported = gr.Markdown(elem_id="history-export-note", elem_classes=["note"])
                    download = gr.File(label=t("ui.hist.download"), elem_id="history-export", visible=False)
                with gr.Column(scale=2, min_width=300, elem_id="history-panel", elem_classes=["run-panel"],
                               visible=False) as panel:
                    with gr.Row(equal_height=True):
                        self.picker = gr.Dropdown([], label=t("ui.hist.pick"), elem_id="history-pick", scale=4,
                                                  min_width=200)
                        run = gr.Number(None, label=t("ui.lab.run"), precision=0, elem_id="history-run", scale=1,
                                        min_width=80)
                    with gr.Row(equal_height=True):
                        # Empty (the API's default) keeps the run's own mode and gateway; picking fills them in.
                        self.gateway = gr.Dropdown(provider_choices(settings), value="", label=t("ui.hist.gateway"),
                                                   allow_custom_value=True, elem_id="history-gateway", scale=3,
                                                   min_width=240)
                        self.mode = mode = gr.Dropdown(mode_choices(), value="", label=t("ui.hist.mode"),
                                                       allow_custom_value=True,
                                           elem_id="history-mode", scale=1, min_width=90)
                    prompt = gr.Textbox("", label=t("ui.hist.prompt"), lines=1, elem_id="history-prompt")
                    again = gr.Button(t("ui.hist.again"), variant="primary", elem_id="history-again")
                    status = gr.Markdown(elem_id="rerun-status", elem_classes=["status"])
                    video = gr.Video(label=t("ui.hist.result"), show_label=False, buttons=["download"],
                                     elem_id="rerun-result", elem_classes=["result"])
                    changes = gr.Markdown(elem_id="rerun-changes", elem_classes=["note"])
                    with gr.Row(equal_height=True):
                        rating = gr.Slider(0, 5, value=0, step=1, label=t("ui.lab.stars"), elem_id="history-stars",
                                           min_width=140)
                        note = gr.Textbox("", label=t("ui.lab.note"), max_length=500, elem_id="history-note",
                                          min_width=160)
                    save = gr.Button(t("ui.lab.save"), elem_id="history-save", size="sm")
                    verdict = gr.Markdown(elem_id="history-verdict", elem_classes=["note"])
                    rated = gr.JSON(visible=False, label="run")
            with gr.Row(visible=False):  # the API's own triggers: what callers of /rate and /export reach
                rate_api, export_api = gr.Button(), gr.Button()
        self.run = RunView(self.ui, account, status=status, changes=changes, video=video, history=page.history,
                           current=page.current)
        table_args = ([page.owner, search, self.min_rating], [page.history, shown, self.picker, panel])
        # One event for its three triggers: answers come in order, the last one asked wins.
        gr.on([refresh.click, search.submit, self.min_rating.change], self.history_table, *table_args,
              trigger_mode="always_last", **HIDDEN)
        page.history.click(self.picked_row, None, self.picker, queue=False, **HIDDEN)
        self.picker.change(self.pick, [self.picker, page.owner], [run, prompt, mode, self.gateway, rating, note],
                           **HIDDEN)
        rerun = run_button(again, self.rerun,
                           [run, prompt, mode, self.gateway, gen.api_key, page.owner, gen.send_anyway],
                           self.run.outputs, answer_at="history-again", bring_up=True, api_name="rerun",
                           concurrency_limit=None)
        afterwards(rerun, account.allowance, None, page.allowance, **HIDDEN)
        afterwards(rerun, self.history_table, *table_args, **HIDDEN)
        save.click(self.rate_here, [run, rating, note, page.owner], verdict, **HIDDEN).then(
            self.history_table, *table_args, **HIDDEN)
        rate_api.click(self.rate, [run, rating, note, page.owner], [verdict, rated], api_name="rate")
        export.click(self.export_here, [shown, batch, page.owner], [download, exported], **HIDDEN)
        export_api.click(self.export, [shown, batch, page.owner], download, api_name="export")
        self.refresh_args = table_args
