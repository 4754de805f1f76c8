"""The Generate tab: its components, their wiring, and the handlers that start one run and show it to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from .. import providers
from ..app.generations import Started
from ..core.status import Status
from ..core.text import Text, render
from ..jobs import Failed, Progress, Submitted, Succeeded, Unresolved
from ..jobs.plan import JobInput
from .account import AccountHandlers
from .actions import afterwards, run_button
from .components import PhotoInput
from .context import Outputs, UIContext, as_refusal, refusal, scrub
from .examples import PICK_JS, example_cards, picked
from .i18n import language_of, t
from .keys import KeyPanel
from .live import LiveNotes
from .page import HIDDEN, Page
from .present import changes_markdown, mode_choices, provider_choices, refusal_markdown, status_markdown
from .tables import origin_text

__all__ = ["GenerateTab", "RunView"]

#: Text-to-speech calls waiting on a gateway at once (each holds a connection, not the CPU).
SPEECH_AT_ONCE = 4
#: Official TTS voices for the Kling family (any other id can be typed).
VOICES = ["oversea_male1", "genshin_vindi2", "genshin_klee2", "genshin_kirara", "chinese_female1"]


class RunView:
    """The outputs one run streams into, in /generate's order: status, changes, video, history, current task."""

    def __init__(self, ui: UIContext, account: AccountHandlers, *, status: Any, changes: Any, video: Any,
                 history: Any, current: Any) -> None:
        self.ui, self.account = ui, account
        self.status, self.changes, self.video, self.history, self.current = status, changes, video, history, current
        self.outputs = [status, changes, video, history, current]

    def start(self, provider: str, browser: str | None, lang: str) -> Outputs:
        """The outputs' values while the inputs are prepared."""
        return Outputs(self.outputs, {self.status: status_markdown(Text("status.preparing"), provider=provider,
                                                                   lang=lang),
                                      self.changes: "", self.history: self.account.own_history(browser, lang)})

    @staticmethod
    def refused(view: Outputs, status: Any, exc: BaseException, key: str | None,
                lang: str) -> tuple[dict[Any, Any], gr.Error]:
        """The last values and the error for a run refused before anything was sent."""
        failure = as_refusal(exc, key)
        return (view({status: refusal_markdown(scrub(render(failure.text, lang), key), lang)}),
                refusal(failure, key, lang=lang))

    async def follow(self, view: Outputs, started: Started, provider: str, key: str | None,
                     browser: str | None, lang: str) -> AsyncIterator[dict[Any, Any]]:
        """Show a started run until it ends: its status after every event, then its video (or why there is none)."""
        plan, row = started.plan, started.row
        estimate = plan.estimate
        current = {"row": row, "provider": provider}
        record = self.ui.services.runs.get(row)
        origin = origin_text(record) if record is not None else ""
        heading = (Text("ui.run_heading.origin", run=row, origin=origin) if origin
                   else Text("ui.run_heading", run=row))
        yield view({self.changes: f"{render(heading, lang)}\n\n{changes_markdown(plan.changes, plan.warnings, lang)}",
                    self.current: current,
                    self.status: status_markdown(Status.SUBMITTING, provider=provider, estimate=estimate, lang=lang)})
        async for event in self.ui.services.runs.watch(row):
            if isinstance(event, Submitted):
                current = {**current, "task_id": event.task_id}
                yield view({self.current: current, self.history: self.account.own_history(browser, lang),
                            self.status: status_markdown(event.status, provider=provider, task_id=event.task_id,
                                                         estimate=estimate, lang=lang)})
            elif isinstance(event, Progress):
                yield view({self.status: status_markdown(event.status, provider=provider, detail=event.detail,
                                                         elapsed_s=event.elapsed_s, task_id=event.task_id,
                                                         estimate=estimate, note=event.note, lang=lang)})
            elif isinstance(event, Succeeded):
                yield view({self.video: str(event.video_path), self.history: self.account.own_history(browser, lang),
                            self.current: None,
                            self.status: status_markdown(Status.DONE, provider=provider, elapsed_s=event.elapsed_s,
                                                         task_id=event.task_id, estimate=estimate,
                                                         charged=event.charged, more=event.note or "", lang=lang)})
            elif isinstance(event, (Failed, Unresolved)):
                reason = scrub(render(event.reason, lang), key)
                yield view({self.history: self.account.own_history(browser, lang), self.current: None,
                            self.status: status_markdown(event.status, provider=provider, task_id=event.task_id,
                                                         note=reason, lang=lang)})
                # The status line says why; API callers also read a failure as the call's error.
                if isinstance(event, Failed):
                    raise refusal(reason, title="ui.title.failed", lang=lang)


class GenerateTab:
    """One photo, one voice, one run; its inputs are also the prompt lab's."""

    def __init__(self, ui: UIContext, page: Page, account: AccountHandlers) -> None:
        self.ui, self.page, self.account = ui, page, account
        self.live = LiveNotes(ui)
        self.keys = KeyPanel(ui.settings)

    # -- generation --------------------------------------------------------------------------------------------
    async def generate(
        self, image: str | None, audio: str | None, prompt: str = "", mode: str = "std", provider: str = "",
        start: float = 0.0, length: float | None = None, audio_id: str = "", api_key: str = "",
        watermark: bool = False, callback_url: str = "", external_task_id: str = "", owner: Any = None,
        allow_no_face: bool = False,
        request: gr.Request = None, profile: gr.OAuthProfile | None = None,  # type: ignore[assignment]
    ) -> AsyncIterator[dict[Any, Any]]:
        """Make a talking-avatar video from a portrait photo and a voice clip (or a text-to-speech audio id).

        Yields the status, the changes made to the inputs, the video and the history; ends with the video. A paid
        gateway is not sent a photo without a face unless *allow_no_face*.
        """
        lang = language_of(request)
        key = (api_key or "").strip() or None
        name = provider or self.ui.settings.default_provider
        browser = self.account.owner_or_none(owner)
        view = self.run.start(name, browser, lang)
        try:
            self.ui.owner(owner)  # a forged browser id is refused, not silently ignored
            yield view()
            started = await self.ui.generations.start(
                self.ui.visitor(request, profile), name,
                JobInput(image=image, audio=audio, audio_id=audio_id, prompt=prompt or "", mode=mode or "std",
                         start=float(start or 0), length=length, watermark=bool(watermark),
                         callback_url=callback_url, external_task_id=external_task_id,
                         allow_no_face=bool(allow_no_face), language=lang),
                user_key=key, owner=browser)
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            last, error = self.run.refused(view, self.run.status, exc, key, lang)
            yield last
            raise error from None
        async for values in self.run.follow(view, started, name, key, browser, lang):
            yield values

    async def cancel(self, current: dict[str, Any] | None, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Stop following this page's task (the user's cancel); the gateway may still finish and bill it."""
        lang = language_of(request)
        if not current:
            return render(Text("ui.stopped.nothing"), lang)
        stopped = await self.ui.services.runs.stop(current["row"])
        if stopped is Status.CANCELLED:
            return render(Text("ui.stopped.in_line"), lang)
        if "task_id" not in current:
            return render(Text("ui.stopped.sending"), lang)
        return status_markdown(Status.STOPPED, provider=current["provider"], task_id=current["task_id"],
                               note=Text("ui.stopped.task", task=current["task_id"]), lang=lang)

    # -- the tab -----------------------------------------------------------------------------------------------
    def build(self) -> None:
        """Lay out the tab and wire its events (inside the Blocks being built).

        Inputs on the left, the most used first and the rest folded away; on the right the button, the live status
        and the result, which stay in view while the left side scrolls (on a phone they follow the inputs).
        """
        settings = self.ui.settings
        max_s = min(settings.max_audio_s, 300.0)
        paid = not providers.spec(settings.default_provider).free
        with gr.Tab(t("ui.tab.generate"), id="generate"):
            with gr.Row(elem_id="workspace", equal_height=False):
                with gr.Column(scale=6, min_width=300, elem_id="inputs"):
                    with gr.Row(elem_id="media", equal_height=True):
                        self.image = PhotoInput(elem_id="portrait", label=t("ui.gen.photo"), type="filepath",
                                                image_mode=None, sources=["upload", "webcam", "clipboard"],
                                                height=250, min_width=220)
                        self.audio = gr.Audio(elem_id="voice", label=t("ui.gen.voice"),
                                              sources=["upload", "microphone"], type="filepath", min_width=220)
                    window = gr.Markdown(elem_id="window", elem_classes=["note"])
                    self.examples = gr.HTML(example_cards(), elem_id="examples", js_on_load=PICK_JS)
                    prompt = gr.Textbox("", label=t("ui.gen.prompt"), lines=2, max_length=2500, elem_id="prompt")
                    count = gr.Markdown(elem_id="prompt-count", elem_classes=["note"])
                    with gr.Row(equal_height=True):
                        self.provider = gr.Dropdown(provider_choices(settings), value=settings.default_provider,
                                                    label=t("ui.gen.provider"), elem_id="provider", scale=3,
                                                    min_width=260)
                        mode = gr.Radio(mode_choices(), value="std", label=t("ui.gen.mode"), visible=paid,
                                        elem_id="mode", scale=2, min_width=220)
                    self.keys.build()
                    self.api_key = self.keys.api_key
                    self.send_anyway = gr.Checkbox(False, label=t("ui.gen.send_anyway"), elem_id="send-anyway",
                                                   visible=paid)
                    with gr.Accordion(t("ui.gen.more"), open=False, elem_id="more"):
                        with gr.Row():
                            self.start = gr.Number(0, label=t("ui.gen.start"), precision=1, min_width=120)
                            self.length = gr.Slider(2, max_s, value=max_s, step=0.5, label=t("ui.gen.length"),
                                                    min_width=180)
                        gr.Markdown(t("ui.gen.tts"), elem_classes=["subhead"])
                        tts_text = gr.Textbox(label=t("ui.gen.tts_text"), lines=2, max_length=1000)
                        with gr.Row():
                            voice = gr.Dropdown(VOICES, value=VOICES[0], label=t("ui.gen.voice_id"),
                                                allow_custom_value=True, min_width=160)
                            language_choice = gr.Radio(["en", "zh"], value="en", label=t("ui.gen.language"),
                                                       min_width=120)
                            speed = gr.Slider(0.8, 2.0, value=1.0, step=0.1, label=t("ui.gen.speed"), min_width=160)
                        tts_button = gr.Button(t("ui.gen.make_speech"), size="sm")
                        audio_id = gr.Textbox("", label=t("ui.gen.audio_id"))
                        tts_note = gr.Markdown()
                        gr.Markdown(t("ui.gen.advanced"), elem_classes=["subhead"])
                        watermark = gr.Checkbox(False, label=t("ui.gen.watermark"))
                        callback_url = gr.Textbox("", label=t("ui.gen.callback"))
                        external_task_id = gr.Textbox("", label=t("ui.gen.external_id"))
                with gr.Column(scale=5, min_width=300, elem_id="run-panel", elem_classes=["run-panel"]):
                    with gr.Row(elem_id="actions", equal_height=True):
                        go = gr.Button(t("ui.gen.go"), variant="primary", elem_id="generate", size="lg", scale=4)
                        stop = gr.Button(t("ui.gen.cancel"), variant="secondary", elem_id="cancel", size="sm",
                                         visible=False, scale=1, min_width=90)
                    status = gr.Markdown(t("ui.ready"), elem_id="status", elem_classes=["status"])
                    video = gr.Video(label=t("ui.gen.result"), show_label=False, buttons=["download"],
                                     elem_id="result", elem_classes=["result"])
                    changes = gr.Markdown(elem_id="changes", elem_classes=["note"])
        page, account, live = self.page, self.account, self.live
        self.run = RunView(self.ui, account, status=status, changes=changes, video=video, history=page.history,
                           current=page.current)
        self.window_inputs = [self.audio, self.start, self.length, self.provider, mode, self.api_key]
        self.window_output = window
        self.prompt_outputs = ([prompt], count)
        self.mode = mode

        prompt.change(live.prompt_count, prompt, count, queue=False, **HIDDEN)
        self.examples.click(picked, None, [self.image, self.audio, prompt], queue=False, **HIDDEN).then(
            live.check_photo, self.image, status, **self.ui.media_checks, **HIDDEN)
        # One event for every trigger: separate events could answer out of order and leave a stale line.
        gr.on([self.audio.change, self.start.change, self.length.change, self.provider.change, mode.change,
               self.api_key.change], live.window, self.window_inputs, window, trigger_mode="always_last",
              **self.ui.media_checks, **HIDDEN)
        self.provider.change(self.keys.chosen, [self.provider, self.api_key], [self.keys.panel, self.keys.help],
                             queue=False, **HIDDEN)
        self.provider.change(live.options, self.provider, [mode, self.send_anyway], queue=False, **HIDDEN)
        self.image.upload(live.check_photo, self.image, status, **self.ui.media_checks, **HIDDEN)
        tts_button.click(account.speak, [tts_text, voice, language_choice, speed, self.provider, self.api_key],
                         [audio_id, tts_note], concurrency_limit=SPEECH_AT_ONCE, **HIDDEN).then(
            account.allowance, None, page.allowance, **HIDDEN)
        # Waiting on a gateway holds no slot: only preparation is bounded (AVATAR_CONCURRENCY, by the cores).
        self.event = run_button(
            go, self.generate,
            [self.image, self.audio, prompt, mode, self.provider, self.start, self.length, audio_id, self.api_key,
             watermark, callback_url, external_task_id, page.owner, self.send_anyway],
            self.run.outputs, stop=stop, answer_at="actions", api_name="generate", concurrency_limit=None)
        afterwards(self.event, account.allowance, None, page.allowance, **HIDDEN)
        stop.click(self.cancel, page.current, status, cancels=[self.event], queue=False, **HIDDEN).then(
            lambda: (gr.update(interactive=True), gr.update(visible=False)), None, [go, stop], queue=False, **HIDDEN)
