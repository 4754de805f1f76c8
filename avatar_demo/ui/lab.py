"""The prompt lab: prompts × modes (× gateways) on one prepared photo and voice, shown as a grid to compare."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

from .. import providers
from ..app.generations import Started
from ..core.errors import AvatarDemoError, InputError
from ..core.text import Text, render
from ..jobs.plan import JobInput, voice_window
from ..providers.base import MAX_PROMPT
from ..store.history import Record
from ..web.files import video_url
from .account import AccountHandlers
from .context import Outputs, UIContext, as_refusal, refusal, scrub
from .generate import GenerateTab
from .i18n import language_of, t
from .page import HIDDEN, Page
from .present import provider_choices, provider_label, total_cost
from .tables import lab_grid_html, run_cost, shared_note, stars

__all__ = ["MAX_LAB_VARIANTS", "LabTab", "run_json", "variants"]

MAX_LAB_VARIANTS = 200
#: The lab's prompts text is measured before it is split: room for MAX_LAB_VARIANTS of the longest prompts, and
#: for a few blank lines between them.
MAX_LAB_TEXT = MAX_LAB_VARIANTS * (MAX_PROMPT + 1)
MAX_LAB_LINES = 4 * MAX_LAB_VARIANTS
#: How often the grid is redrawn while runs are followed.
REFRESH_S = 0.5


def variants(prompts: str | None, modes: list[str] | None) -> list[tuple[str, str]]:
    """Every (prompt, mode) pair the lab will run: one prompt per line, each in every chosen mode.

    InputError when the text is longer or has more lines than a full lab could use (nothing is split then).
    """
    text = prompts or ""
    lines_given = text.count("\n") + text.count("\r") + 1
    if len(text) > MAX_LAB_TEXT or lines_given > MAX_LAB_LINES:
        raise InputError(Text("ui.lab.text_too_long", chars=len(text), lines=lines_given, most_chars=MAX_LAB_TEXT,
                              most_lines=MAX_LAB_LINES))
    lines = list(dict.fromkeys(p.strip() for p in text.splitlines() if p.strip())) or [""]
    return [(p, m) for p in lines for m in (modes or ["std"])]


def verdict_saved(record: Record) -> Text:
    """What the page says once a verdict is kept: "Run 12: ★★★★☆ · natural"."""
    shown = stars(record.rating) or Text("ui.verdict.cleared")
    if record.note:
        return Text("ui.verdict.saved.note", run=record.id, stars=shown, note=record.note)
    return Text("ui.verdict.saved", run=record.id, stars=shown)


def run_json(record: Record) -> dict[str, Any]:
    """One run as API callers read it (the video by its app URL, never a server path)."""
    return {"id": record.id, "batch": record.batch, "parent": record.parent, "prompt": record.prompt,
            "mode": record.mode, "gateway": record.provider, "status": record.status.value,
            "seconds": record.duration_s or record.seconds, "cost": str(run_cost(record)), "elapsed_s": record.elapsed_s,
            "rating": record.rating, "note": record.note, "message": str(record.message) if record.message else None,
            "video": video_url(Path(record.video_path).name) if record.video_path else None}


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
            costs, free = [], True
            for name in names:
                spec = providers.spec(name)
                free = free and spec.free
                seconds = voice_window(audio, start, length, self.generate.limit(name, api_key)).used if audio else None
                costs += [spec.estimate(mode, seconds) for _, mode in runs]
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
            yield view({self.status: scrub(render(failure.text, lang), key)})
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
        head = self._plan_line(list(started.values()), refused, key, lang)
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
                yield view({self.status: head, self.grid: grid, self.runs: runs_now})
            if done:
                return
            await asyncio.sleep(REFRESH_S)

    @staticmethod
    def _plan_line(started: list[Started], refused: dict[str, Text], key: str | None, lang: str) -> str:
        total = total_cost([s.plan.estimate for s in started])
        cost = Text("ui.lab.plan.total", cost=total) if total else Text("ui.lab.plan.free")
        line = render(Text("ui.lab.plan", count=len(started), cost=cost), lang)
        for name, why in refused.items():
            line += "\n\n" + scrub(render(Text("ui.lab.not_started", provider=provider_label(name), why=why), lang), key)
        return line

    def rate_lab_run(self, run: float | None, rating: float | None, note: str, owner: Any,
                     request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Keep a verdict on one run of this browser (1-5 stars and a note)."""
        lang = language_of(request)
        try:
            record = self.ui.workbench.rate(self.account.owner_or_none(owner), run, rating, note)
        except AvatarDemoError as exc:
            raise refusal(exc, lang=lang) from None
        return render(verdict_saved(record), lang)

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
                           request: gr.Request = None) -> str:  # type: ignore[assignment]
        """This batch's videos, inputs and tables as one zip."""
        try:
            if not batch:
                raise InputError(Text("ui.lab.nothing_to_export"))
            export = await self.ui.workbench.export(self.account.owner_or_none(owner), batch=batch,
                                                    visitor=self.ui.visitor(request))
        except AvatarDemoError as exc:
            raise refusal(exc, lang=language_of(request)) from None
        return str(export.path)

    def build(self) -> None:
        """Lay out the tab and wire its events (inside the Blocks being built)."""
        gen, page, account = self.generate, self.page, self.account
        with gr.Tab(t("ui.tab.lab")):
            gr.Markdown(t("ui.lab.intro"))
            prompts = gr.Textbox("", label=t("ui.lab.prompts"), lines=4, elem_id="lab-prompts")
            with gr.Row():
                modes = gr.CheckboxGroup(["std", "pro"], value=["std"], label=t("ui.lab.modes"), elem_id="lab-modes")
                self.gateways = gr.CheckboxGroup(provider_choices(self.ui.settings), value=[],
                                                 label=t("ui.lab.gateways"), elem_id="lab-gateways")
            plan = gr.Markdown(elem_id="lab-plan")
            go = gr.Button(t("ui.lab.go"), variant="primary", elem_id="lab-go")
            self.status = gr.Markdown(elem_id="lab-status")
            self.grid = gr.HTML(elem_id="lab-grid", elem_classes=["lab"])
            self.runs = gr.JSON(visible=False, label="runs")
            self.batch = gr.State("")
            with gr.Row():
                run = gr.Number(label=t("ui.lab.run"), precision=0, minimum=1, elem_id="lab-run")
                rating = gr.Slider(0, 5, value=0, step=1, label=t("ui.lab.stars"), elem_id="lab-stars")
                note = gr.Textbox("", label=t("ui.lab.note"), max_length=500, elem_id="lab-note")
                save = gr.Button(t("ui.lab.save"), elem_id="lab-save")
            verdict = gr.Markdown(elem_id="lab-verdict")
            export = gr.Button(t("ui.lab.export"), elem_id="lab-export-button")
            download = gr.File(label=t("ui.lab.download"), elem_id="lab-export")
        summary_inputs = [prompts, modes, gen.provider, gen.audio, gen.start, gen.length, gen.api_key, self.gateways]
        # One event for every trigger: separate events could answer out of order and leave a stale plan.
        gr.on([prompts.change, modes.change, self.gateways.change, gen.provider.change, gen.audio.change],
              self.summary, summary_inputs, plan, trigger_mode="always_last", **self.ui.media_checks, **HIDDEN)
        go.click(self.lab, [gen.image, gen.audio, prompts, modes, gen.provider, gen.start, gen.length, gen.api_key,
                            page.owner, self.gateways, gen.send_anyway],
                 [self.status, self.grid, self.runs, self.batch], api_name="lab", concurrency_limit=None,
                 ).then(account.allowance, None, page.allowance, **HIDDEN
                        ).then(account.history_page, page.owner, page.history, **HIDDEN)
        save.click(self.rate_lab_run, [run, rating, note, page.owner], verdict, **HIDDEN).then(
            self.regrid, [self.batch, page.owner], self.grid, **HIDDEN).then(
            account.history_page, page.owner, page.history, **HIDDEN)
        export.click(self.export_batch, [self.batch, page.owner], download, **HIDDEN)
