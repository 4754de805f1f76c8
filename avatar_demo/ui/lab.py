"""The prompt lab: prompts × modes (× gateways) on one prepared photo and voice, shown as a grid to compare."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from .. import providers
from ..app.generations import Started
from ..core.errors import AvatarDemoError, InputError
from ..core.text import Text, render
from ..jobs.plan import JobInput, voice_window
from ..providers.spec import Cost
from .account import AccountHandlers
from .actions import afterwards, run_button
from .context import Outputs, UIContext, as_refusal, refusal, refused_words, scrub
from .generate import GenerateTab
from .i18n import language_of, t
from .lab_batch import MAX_LAB_VARIANTS, progress_line, run_json, variants
from .page import HIDDEN, Page
from .present import mode_choices, provider_choices, provider_label, refusal_markdown, total_cost
from .tables import lab_grid_html, shared_note, verdict_saved

__all__ = ["LabTab"]

#: How often the grid is redrawn while runs are followed.
REFRESH_S = 0.5
#: Only a press on a card's star is an event: it names the run and the stars (a re-run button names the run).
CARD_JS = ("element.addEventListener('click', e => { const b = e.target.closest('button[data-action]');"
           " if (b) trigger('click', {action: b.dataset.action, run: Number(b.dataset.run),"
           " stars: Number(b.dataset.stars || 0)}); });")


class LabTab:
    """Bound to one page; reads the photo, voice, window, gateway and key of the Generate tab."""

    def __init__(self, ui: UIContext, page: Page, account: AccountHandlers, generate: GenerateTab) -> None:
        self.ui, self.page, self.account, self.generate = ui, page, account, generate

    def _gateways(self, provider: str | None, gateways: list[str] | None) -> list[str]:
        chosen = [g for g in (gateways or []) if g] or [provider or self.ui.settings.default_provider]
        for name in chosen:
            providers.spec(name)
        return list(dict.fromkeys(chosen))

    def summary(self, prompts: str, modes: list[str], provider: str, audio: str | None, start: float,
                length: float, api_key: str | None = None, gateways: list[str] | None = None,
                request: gr.Request = None) -> str:  # type: ignore[assignment]
        """The plan shown before anything is sent: how many runs, and the total estimate."""
        lang = language_of(request)
        try:
            runs = variants(prompts, modes)
            names = self._gateways(provider, gateways)
            costs: dict[str, list[Cost | None]] = {}
            free = True
            for name in names:
                spec = providers.spec(name)
                free = free and spec.free
                limit = self.generate.live.limit(name, api_key)
                seconds = voice_window(audio, start, length, limit).used if audio else None
                costs[name] = [spec.estimate(mode, seconds) for _, mode in runs]
        except AvatarDemoError as exc:
            return render(exc.text, lang)
        if free:
            cost = Text("ui.lab.plan.free")
        elif not audio:
            cost = Text("ui.lab.plan.no_voice")
        else:
            cost = Text("ui.lab.plan.total", cost=total_cost(costs))
        return render(Text("ui.lab.plan", count=len(runs) * len(names), cost=cost), lang)

    async def lab(self, image: str | None, audio: str | None, prompts: str = "", modes: list[str] | None = None,
                  provider: str = "", start: float = 0.0, length: float | None = None, api_key: str = "",
                  owner: Any = None, gateways: list[str] | None = None, allow_no_face: bool = False,
                  request: gr.Request = None,  # type: ignore[assignment]
                  profile: gr.OAuthProfile | None = None) -> AsyncIterator[dict[Any, Any]]:
        """Run every prompt × mode (× gateway) on the same photo and voice; the results as a grid side by side."""
        lang = language_of(request)
        key = (api_key or "").strip() or None
        batch = f"lab-{secrets.token_urlsafe(9)}"
        view = Outputs([self.status, self.grid, self.runs, self.batch],
                       {self.status: render(Text("ui.lab.preparing"), lang), self.grid: "", self.runs: [],
                        self.batch: batch})
        try:
            runs = variants(prompts, modes)
            # Said for this tab, which has no upload of its own.
            if not image:
                raise InputError(Text("ui.lab.no_photo"))
            if not audio:
                raise InputError(Text("ui.lab.no_voice"))
            names = self._gateways(provider, gateways)
            if len(runs) * len(names) > MAX_LAB_VARIANTS:
                raise InputError(Text("ui.lab.too_many", count=len(runs) * len(names), most=MAX_LAB_VARIANTS))
            browser = self.ui.owner(owner)
            yield view()
            job = JobInput(image=image, audio=audio, start=float(start or 0), length=length,
                           allow_no_face=bool(allow_no_face), language=lang)
            visitor = self.ui.visitor(request, profile)
            # Together, so one preparation serves every gateway whose voice window is the same.
            outcomes = await asyncio.gather(*(self.ui.generations.start_variants(
                visitor, name, job, runs, user_key=key, owner=browser, batch=batch) for name in names),
                return_exceptions=True)
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            failure = as_refusal(exc, key)
            yield view({self.status: refusal_markdown(scrub(render(failure.text, lang), key), lang)})
            raise refusal(failure, key, lang=lang) from None
        started: dict[tuple[str, str, str], Started] = {}
        refused: dict[str, Text] = {}
        for name, outcome in zip(names, outcomes):
            if isinstance(outcome, BaseException):
                refused[name] = as_refusal(outcome, key).text
            else:
                started.update({(prompt, name, mode): one for (prompt, mode), one in zip(runs, outcome)})
        if not started:
            message = " · ".join(scrub(render(Text("ui.lab.refused_one", provider=provider_label(n), why=why), lang),
                                       key) for n, why in refused.items())
            yield view({self.status: message})
            raise refusal(message, title="ui.title.nothing_started", lang=lang)
        # Attached to an identical lab request still starting (a double click): the runs carry that one's batch.
        first = self.ui.services.runs.get(next(iter(started.values())).row)
        if first is not None and first.batch:
            view({self.batch: first.batch})
        cost = self._cost(list(started.values()))
        refusals = self._refused_lines(refused, key, lang)
        columns = [(name, mode) for name in names for mode in dict.fromkeys(m for _, m in runs)]
        prompt_rows = list(dict.fromkeys(p for p, _ in runs))
        shown: tuple[str, list[dict[str, Any]]] | None = None
        while True:
            found = await asyncio.to_thread(self.ui.services.history.many, [one.row for one in started.values()])
            records = {cell: self.ui.services.runs.shown(found[one.row]) if one.row in found else None
                       for cell, one in started.items()}
            done = all(r is None or not r.status.active for r in records.values())
            grid = lab_grid_html(prompt_rows, columns, records,
                                 shared_note([r for r in records.values() if r is not None]), lang)
            runs_now = [run_json(r) for r in records.values() if r is not None]
            # Sent only when a cell changed: a batch that runs for minutes does not resend the same
            # grid and run list to the browser twice a second.
            if (grid, runs_now) != shown:
                shown = (grid, runs_now)
                yield view({self.status: progress_line(list(records.values()), cost, refusals, lang), self.grid: grid,
                            self.runs: runs_now})
            if done:
                return
            await asyncio.sleep(REFRESH_S)

    @staticmethod
    def _cost(started: list[Started]) -> Text:
        costs: dict[str, list[Cost | None]] = {}
        for one in started:
            costs.setdefault(one.plan.spec.name, []).append(one.plan.estimate)
        total = total_cost(costs)
        return Text("ui.lab.plan.total", cost=total) if total else Text("ui.lab.plan.free")

    @staticmethod
    def _refused_lines(refused: dict[str, Text], key: str | None, lang: str) -> list[str]:
        return [scrub(render(Text("ui.lab.not_started", provider=provider_label(name), why=why), lang), key)
                for name, why in refused.items()]

    def rate_lab_run(self, run: float | None, rating: float | None, note: str, owner: Any,
                     request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Keep a verdict on one run of this browser (1-5 stars and a note); a refusal is said in the same line."""
        lang = language_of(request)
        try:
            record = self.ui.workbench.rate(self.account.owner_or_none(owner), run, rating, note)
        except AvatarDemoError as exc:
            return render(Text("ui.verdict.refused", message=refused_words(exc, lang=lang)), lang)
        return render(verdict_saved(record), lang)

    def rate_card(self, note: str, owner: Any, evt: gr.EventData,
                  request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
        """A star pressed on a card: that run's verdict kept at once, and the run and stars put in the note row."""
        data = getattr(evt, "_data", None) or {}
        if not isinstance(data, dict) or data.get("action") != "rate":
            return gr.skip(), gr.skip(), gr.skip()
        run, stars = data.get("run"), data.get("stars")
        return self.rate_lab_run(run, stars, note, owner, request), run, stars

    def regrid(self, batch: str | None, owner: Any, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """The grid of one batch, drawn again from the history (after a verdict)."""
        records = self.ui.workbench.runs(self.account.owner_or_none(owner), batch=batch or None) if batch else []
        if not records:
            return ""
        cells = {(r.prompt, r.provider, r.mode): r for r in records}
        prompts = list(dict.fromkeys(r.prompt for r in reversed(records)))
        columns = list(dict.fromkeys((r.provider, r.mode) for r in reversed(records)))
        return lab_grid_html(prompts, columns, cells, shared_note(records), language_of(request))

    async def export_batch(self, batch: str | None, owner: Any,
                           request: gr.Request = None) -> tuple[Any, str]:  # type: ignore[assignment]
        """This batch's videos, inputs and tables as one zip (or, in its place, why there is none)."""
        try:
            if not batch:
                raise InputError(Text("ui.lab.nothing_to_export"))
            export = await self.ui.workbench.export(self.account.owner_or_none(owner), batch=batch,
                                                    visitor=self.ui.visitor(request))
        except AvatarDemoError as exc:
            lang = language_of(request)
            return None, render(Text("ui.export.refused", message=refused_words(exc, lang=lang)), lang)
        return str(export.path), ""

    def build(self) -> None:
        """Lay out the tab and wire its events (inside the Blocks being built)."""
        gen, page, account = self.generate, self.page, self.account
        with gr.Tab(t("ui.tab.lab"), id="lab"):
            gr.Markdown(t("ui.lab.intro"), elem_classes=["note"])
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    prompts = gr.Textbox("", label=t("ui.lab.prompts"), lines=4, elem_id="lab-prompts")
                    with gr.Row(elem_id="lab-actions", equal_height=True):
                        plan = gr.Markdown(elem_id="lab-plan", elem_classes=["note"], min_height=0)
                        go = gr.Button(t("ui.lab.go"), variant="primary", elem_id="lab-go", scale=0, min_width=180)
                with gr.Column(scale=2, min_width=280):
                    self.modes = modes = gr.CheckboxGroup(mode_choices(), value=["std"], label=t("ui.lab.modes"),
                                             elem_id="lab-modes")
                    self.gateways = gr.CheckboxGroup(provider_choices(self.ui.settings), value=[],
                                                     label=t("ui.lab.gateways"), elem_id="lab-gateways")
            self.status = gr.Markdown(elem_id="lab-status", elem_classes=["status"])
            self.grid = gr.HTML(elem_id="lab-grid", elem_classes=["lab"], js_on_load=CARD_JS)
            self.runs = gr.JSON(visible=False, label="runs")
            self.batch = gr.State("")
            # What is done with a batch's runs, shown once there is a batch.
            with gr.Column(visible=False, elem_id="lab-after") as after:
                with gr.Row(elem_id="lab-verdict-row", equal_height=False):
                    self.run = gr.Number(None, label=t("ui.lab.run"), precision=0, elem_id="lab-run", min_width=100)
                    self.rating = gr.Slider(0, 5, value=0, step=1, label=t("ui.lab.stars"), elem_id="lab-stars",
                                            min_width=160)
                    note = gr.Textbox("", label=t("ui.lab.note"), max_length=500, elem_id="lab-note", min_width=200)
                    save = gr.Button(t("ui.lab.save"), elem_id="lab-save", scale=0, min_width=120)
                verdict = gr.Markdown(elem_id="lab-verdict", elem_classes=["note"])
                with gr.Row(equal_height=True):
                    export = gr.Button(t("ui.lab.export"), elem_id="lab-export-button", size="sm", scale=0,
                                       min_width=200)
                    exported = gr.Markdown(elem_id="lab-export-note", elem_classes=["note"])
                download = gr.File(label=t("ui.lab.download"), elem_id="lab-export", visible=False)
        summary_inputs = [prompts, modes, gen.provider, gen.audio, gen.start, gen.length, gen.api_key, self.gateways]
        # One event for every trigger: separate events could answer out of order and leave a stale plan.
        gr.on([prompts.change, modes.change, self.gateways.change, gen.provider.change, gen.audio.change],
              self.summary, summary_inputs, plan, trigger_mode="always_last", **self.ui.media_checks, **HIDDEN)
        self.event = run_button(
            go, self.lab, [gen.image, gen.audio, prompts, modes, gen.provider, gen.start, gen.length, gen.api_key,
                           page.owner, self.gateways, gen.send_anyway],
            [self.status, self.grid, self.runs, self.batch], answer_at="lab-status", bring_up=True, api_name="lab",
            concurrency_limit=None)
        afterwards(self.event, account.allowance, None, page.allowance, **HIDDEN)
        afterwards(self.event, account.history_page, page.owner, page.history, **HIDDEN)
        afterwards(self.event, lambda batch: gr.update(visible=bool(batch)), self.batch, after, queue=False,
                   **HIDDEN)
        # A verdict is kept from the note row or from a card's stars; the cards are drawn again with it.
        self.rated = [
            save.click(self.rate_lab_run, [self.run, self.rating, note, page.owner], verdict, **HIDDEN),
            self.grid.click(self.rate_card, [note, page.owner], [verdict, self.run, self.rating], **HIDDEN),
        ]
        for rated in self.rated:
            rated.then(self.regrid, [self.batch, page.owner], self.grid, **HIDDEN)
        export.click(self.export_batch, [self.batch, page.owner], [download, exported], **HIDDEN).then(
            lambda path: gr.update(visible=bool(path)), download, download, queue=False, **HIDDEN)
