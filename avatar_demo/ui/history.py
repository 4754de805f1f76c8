"""The History tab: a person's runs, filtered and searched, re-run with a tweak, rated, and exported as a zip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ..core.errors import AvatarDemoError
from .account import AccountHandlers
from .context import UIContext, refusal
from .generate import GenerateTab, RunView
from .page import HIDDEN, Page
from .present import provider_choices, provider_label
from .tables import history_html, stars

__all__ = ["RATINGS", "HistoryTab", "parse_ids"]

#: The rating filter's choices: (what the page shows, the least rating shown).
RATINGS = [("any rating", 0), ("★ 1 or more", 1), ("★ 2 or more", 2), ("★ 3 or more", 3), ("★ 4 or more", 4),
           ("★ 5", 5)]


def parse_ids(ids: Any) -> list[int] | None:
    """Run numbers as an API caller may give them: a list, or text like "12, 13 14"; None when there are none."""
    if isinstance(ids, (list, tuple)):
        values = [str(v) for v in ids]
    else:
        values = str(ids or "").replace(",", " ").split()
    try:
        found = [int(float(v)) for v in values]
    except ValueError:
        raise AvatarDemoError("Run numbers are whole numbers like 12, 13: correct the list") from None
    return found or None


class HistoryTab:
    """Bound to one page."""

    def __init__(self, ui: UIContext, page: Page, account: AccountHandlers, generate: GenerateTab) -> None:
        self.ui, self.page, self.account, self.generate = ui, page, account, generate

    def history_table(self, owner: Any, search: str = "", min_rating: int | None = 0) -> tuple[str, str, dict[str, Any]]:
        """The filtered table, the run numbers it shows, and the run picker's choices."""
        records = self.ui.workbench.runs(self.account.owner_or_none(owner), min_rating=int(min_rating or 0),
                                         search=search)
        choices = [(f"{r.id} · {provider_label(r.provider)} · {r.mode} · {(r.prompt or '(no prompt)')[:40]}", r.id)
                   for r in records]
        return history_html(records), ", ".join(str(r.id) for r in records), gr.update(choices=choices, value=None)

    def pick(self, run: int | None, owner: Any) -> tuple[Any, ...]:
        """Fill the re-run and verdict fields with the picked run's own settings."""
        browser = self.account.owner_or_none(owner)
        record = self.ui.services.history.owned(browser, int(run)) if run else None
        if record is None:
            return (gr.skip(),) * 6
        return record.id, record.prompt, record.mode, record.provider, record.rating or 0, record.note or ""

    async def rerun(self, id: float | None, prompt: str = "", mode: str = "", gateway: str = "",  # noqa: A002
                    api_key: str = "", owner: Any = None,
                    request: gr.Request = None,  # type: ignore[assignment]
                    profile: gr.OAuthProfile | None = None) -> AsyncIterator[dict[Any, Any]]:
        """Run one of your runs again on its kept photo and voice with a changed prompt, mode or gateway.

        Empty prompt, mode or gateway keep the run's own. Yields like /generate; the new run links to its parent.
        """
        key = (api_key or "").strip() or None
        browser = self.account.owner_or_none(owner)
        parent = self.ui.services.history.owned(browser, int(id)) if isinstance(id, (int, float)) else None
        name = (gateway or "").strip()
        view = self.run.start(name or (parent.provider if parent else self.ui.settings.default_provider), browser)
        try:
            self.ui.owner(owner)
            yield view()
            started = await self.ui.workbench.rerun(self.ui.visitor(request, profile), browser, id, prompt=prompt,
                                                    mode=mode, provider=name, user_key=key)
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            last, error = self.run.refused(view, self.run.status, exc, key)
            yield last
            raise error from None
        async for values in self.run.follow(view, started, started.plan.spec.name, key, browser):
            yield values

    def rate(self, id: float | None, rating: float | None = 0, note: str = "",  # noqa: A002
             owner: Any = None) -> tuple[str, dict[str, Any]]:
        """Keep your verdict on one of your runs: 1-5 stars (0 clears) and a short note. Returns the run."""
        try:
            record = self.ui.workbench.rate(self.account.owner_or_none(owner), id, rating, note)
        except AvatarDemoError as exc:
            raise refusal(exc) from None
        shown = stars(record.rating) or "rating cleared"
        return (f"Run {record.id}: {shown}" + (f" · {record.note}" if record.note else ""),
                {"id": record.id, "rating": record.rating, "note": record.note})

    async def export(self, ids: Any = "", batch: str = "", owner: Any = None) -> str:
        """Download runs as one zip (videos, the prepared inputs once, runs.csv and runs.json): the given run
        numbers, else one lab batch, else all your runs."""
        try:
            export = await self.ui.workbench.export(self.account.owner_or_none(owner), ids=parse_ids(ids),
                                                    batch=(batch or "").strip() or None)
        except AvatarDemoError as exc:
            raise refusal(exc) from None
        return str(export.path)

    def build(self) -> None:
        """Lay out the tab and wire its events (inside the Blocks being built)."""
        page, account, gen = self.page, self.account, self.generate
        settings = self.ui.settings
        with gr.Tab("History"):
            with gr.Row():
                search = gr.Textbox("", label="Search prompts", elem_id="history-search")
                min_rating = gr.Dropdown(RATINGS, value=0, label="Rating", elem_id="history-rating")
                refresh = gr.Button("Refresh")
            page.history.render()
            shown = gr.Textbox("", visible=False, label="ids")
            with gr.Accordion("Re-run, rate or export", open=True):
                picker = gr.Dropdown([], label="Pick a run", elem_id="history-pick")
                with gr.Row():
                    run = gr.Number(label="Run", precision=0, minimum=1, elem_id="history-run")
                    prompt = gr.Textbox("", label="Prompt (empty: the run's own)", lines=2)
                    # Empty (the API's default) keeps the run's own mode and gateway; picking a run fills them in.
                    mode = gr.Dropdown(["std", "pro"], value="", label="Mode", allow_custom_value=True)
                    gateway = gr.Dropdown(provider_choices(settings), value="", label="Gateway",
                                          allow_custom_value=True)
                again = gr.Button("Re-run with these settings", variant="primary")
                with gr.Row():
                    rating = gr.Slider(0, 5, value=0, step=1, label="Stars (0 clears)")
                    note = gr.Textbox("", label="Note", max_length=500)
                    save = gr.Button("Save verdict")
                verdict = gr.Markdown(elem_id="history-verdict")
                rated = gr.JSON(visible=False, label="run")
                export = gr.Button("Export the runs shown (zip)")
                batch = gr.Textbox("", visible=False, label="batch")
                download = gr.File(label="Export", elem_id="history-export")
            with gr.Row():
                status = gr.Markdown(elem_id="rerun-status")
                changes = gr.Markdown(elem_id="rerun-changes")
            video = gr.Video(label="Re-run result", buttons=["download"], elem_id="rerun-result")
        self.run = RunView(self.ui, account, status=status, changes=changes, video=video, history=page.history,
                           current=page.current)
        table_args = ([page.owner, search, min_rating], [page.history, shown, picker])
        for trigger in (refresh.click, search.submit, min_rating.change):
            trigger(self.history_table, *table_args, **HIDDEN)
        picker.change(self.pick, [picker, page.owner], [run, prompt, mode, gateway, rating, note], **HIDDEN)
        again.click(self.rerun, [run, prompt, mode, gateway, gen.api_key, page.owner], self.run.outputs,
                    api_name="rerun", concurrency_limit=None, show_progress_on=[video]).then(
            account.allowance, None, page.allowance, **HIDDEN).then(self.history_table, *table_args, **HIDDEN)
        save.click(self.rate, [run, rating, note, page.owner], [verdict, rated], api_name="rate").then(
            self.history_table, *table_args, **HIDDEN)
        export.click(self.export, [shown, batch, page.owner], download, api_name="export")
        self.refresh_args = table_args
