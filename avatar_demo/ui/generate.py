"""The Generate tab: its components, their wiring, and the handlers that start one run and show it to its end."""

from __future__ import annotations

import asyncio
import functools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr
from gradio import media as bundled

from .. import providers
from ..app.generations import Started
from ..core.errors import AvatarDemoError
from ..core.status import Status
from ..core.text import Text, render
from ..jobs import Failed, Progress, Submitted, Succeeded, Unresolved
from ..jobs.plan import JobInput, VoiceLimit, voice_window
from ..media import prepare_image
from ..media.face import find_face
from ..providers.base import MAX_PROMPT
from .account import AccountHandlers
from .components import PhotoInput
from .context import Outputs, UIContext, as_refusal, refusal, scrub
from .i18n import language_of, t
from .page import HIDDEN, Page
from .present import changes_markdown, cost_text, provider_choices, refusal_markdown, status_markdown
from .tables import origin_text

__all__ = ["GenerateTab", "RunView"]

_EXAMPLE_DIR = Path(__file__).with_name("examples")
#: The page's examples: a public-domain NASA portrait (astronaut Eileen Collins) and voices Gradio ships.
EXAMPLES = {
    "portrait": (_EXAMPLE_DIR / "portrait.jpg", bundled.get_audio("cate_blanch.mp3")),
    "small": (_EXAMPLE_DIR / "small-portrait.jpg", bundled.get_audio("audio_sample.wav")),
}
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
                                                         charged=event.charged, note=event.note or "", lang=lang)})
            elif isinstance(event, (Failed, Unresolved)):
                reason = scrub(render(event.reason, lang), key)
                yield view({self.history: self.account.own_history(browser, lang), self.current: None,
                            self.status: status_markdown(event.status, provider=provider, task_id=event.task_id,
                                                         note=reason, lang=lang)})
                if isinstance(event, Failed):
                    raise refusal(reason, title="ui.title.failed", lang=lang)
                gr.Warning(reason)


class GenerateTab:
    """One photo, one voice, one run; its inputs are also the prompt lab's."""

    def __init__(self, ui: UIContext, page: Page, account: AccountHandlers) -> None:
        self.ui, self.page, self.account = ui, page, account

    # -- live helpers ------------------------------------------------------------------------------------------
    @staticmethod
    def example(name: str, request: gr.Request = None) -> tuple[str, str, str]:  # type: ignore[assignment]
        """One of the page's examples: a photo, a voice and a prompt in the visitor's language."""
        photo, voice = EXAMPLES[name]
        return str(photo), voice, render(Text(f"ui.example.{name}.prompt"), language_of(request))

    @staticmethod
    def prompt_count(prompt: str | None, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Live character count under the prompt."""
        n = len(prompt or "")
        counted = Text("ui.prompt_count.long" if n > MAX_PROMPT else "ui.prompt_count", n=n, limit=MAX_PROMPT)
        return render(counted, language_of(request))

    def limit(self, provider: str, api_key: str | None) -> VoiceLimit:
        """The voice window the page would allow on *provider*, with or without the visitor's own key."""
        spec = providers.spec(provider or self.ui.settings.default_provider)
        cap = self.ui.services.policy.voice_cap(spec, user_key=(api_key or "").strip() or None)
        return VoiceLimit.of(spec, self.ui.settings.max_audio_s, cap)

    def window(self, audio: str | None, start: float | None, length: float | None, provider: str, mode: str,
               api_key: str | None = None, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """The voice window that will be used and its cost estimate, before anything is prepared."""
        lang = language_of(request)
        try:
            spec = providers.spec(provider or self.ui.settings.default_provider)
            limit = self.limit(provider, api_key)
        except AvatarDemoError as exc:
            return render(exc.text, lang)
        if not audio:
            return render(Text("ui.window.none", seconds=limit.seconds), lang)
        span = voice_window(audio, start, length, limit)
        estimate = spec.estimate(mode or "std", span.used)
        cost = Text("ui.window.cost", cost=cost_text(estimate, about=True)) if estimate else Text("ui.window.free")
        return render(Text("ui.window", start=span.start, end=span.end, used=span.used,
                           of=Text("ui.window.of", total=span.total) if span.total is not None else "",
                           pad=Text("ui.window.padded") if span.padded else "", cost=cost), lang)

    async def check_photo(self, image: str | None, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Look at an upload as soon as it arrives, so a bad file is named before anything is pressed."""
        lang = language_of(request)
        if not image:
            return render(Text("ui.ready"), lang)
        try:
            with tempfile.TemporaryDirectory(prefix="photo-check-") as folder:
                prepared = await asyncio.to_thread(prepare_image, image, folder)
                face = await asyncio.to_thread(find_face, prepared.path)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the page says it in words
            return refusal_markdown(as_refusal(exc).text, lang)
        notes: list[Any] = [Text("ui.photo_ready", w=prepared.width, h=prepared.height), *prepared.changes,
                            face.describe() if face is not None else Text("face.not_found")]
        notes += [Text("ui.check_before_paying", warning=w) for w in prepared.warnings]
        return " · ".join(render(note, lang) for note in notes)

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
        """Lay out the tab and wire its events (inside the Blocks being built)."""
        settings = self.ui.settings
        max_s = min(settings.max_audio_s, 300.0)
        with gr.Tab(t("ui.tab.generate")):
            with gr.Row():
                with gr.Column():
                    self.image = PhotoInput(elem_id="portrait", label=t("ui.gen.photo"), type="filepath",
                                            image_mode=None, sources=["upload", "webcam", "clipboard"], height=320)
                    self.audio = gr.Audio(elem_id="voice", label=t("ui.gen.voice"), sources=["upload", "microphone"],
                                          type="filepath")
                    with gr.Row():
                        self.start = gr.Number(0, label=t("ui.gen.start"), minimum=0, precision=1)
                        self.length = gr.Slider(2, max_s, value=max_s, step=0.5, label=t("ui.gen.length"))
                    window = gr.Markdown(elem_id="window")
                    with gr.Accordion(t("ui.gen.tts"), open=False):
                        tts_text = gr.Textbox(label=t("ui.gen.tts_text"), lines=2, max_length=1000)
                        with gr.Row():
                            voice = gr.Dropdown(VOICES, value=VOICES[0], label=t("ui.gen.voice_id"),
                                                allow_custom_value=True)
                            language_choice = gr.Radio(["en", "zh"], value="en", label=t("ui.gen.language"))
                            speed = gr.Slider(0.8, 2.0, value=1.0, step=0.1, label=t("ui.gen.speed"))
                        tts_button = gr.Button(t("ui.gen.make_speech"))
                        audio_id = gr.Textbox("", label=t("ui.gen.audio_id"))
                        tts_note = gr.Markdown()
                    prompt = gr.Textbox("", label=t("ui.gen.prompt"), lines=3, max_length=2500)
                    count = gr.Markdown(elem_id="prompt-count")
                    with gr.Row():
                        mode = gr.Radio(["std", "pro"], value="std", label=t("ui.gen.mode"))
                        self.provider = gr.Dropdown(provider_choices(settings), value=settings.default_provider,
                                                    label=t("ui.gen.provider"), elem_id="provider")
                    with gr.Accordion(t("ui.gen.own_key"), open=False):
                        self.api_key = gr.Textbox("", label=t("ui.gen.api_key"), type="password",
                                                  placeholder=t("ui.gen.api_key.placeholder"),
                                                  info=t("ui.gen.api_key.info"))
                    with gr.Accordion(t("ui.gen.advanced"), open=False):
                        watermark = gr.Checkbox(False, label=t("ui.gen.watermark"))
                        callback_url = gr.Textbox("", label=t("ui.gen.callback"))
                        external_task_id = gr.Textbox("", label=t("ui.gen.external_id"))
                    self.send_anyway = gr.Checkbox(False, label=t("ui.gen.send_anyway"), elem_id="send-anyway")
                    with gr.Row():
                        go = gr.Button(t("ui.gen.go"), variant="primary", elem_id="generate")
                        stop = gr.Button(t("ui.gen.cancel"), variant="stop")
                with gr.Column():
                    status = gr.Markdown(t("ui.ready"), elem_id="status")
                    changes = gr.Markdown(elem_id="changes")
                    video = gr.Video(label=t("ui.gen.result"), buttons=["download"], elem_id="result")
            with gr.Row(elem_id="examples"):
                gr.Markdown(t("ui.examples"))
                examples = [gr.Button(t(f"ui.example.{name}"), size="sm", elem_id=f"example-{name}")
                            for name in EXAMPLES]
        page, account = self.page, self.account
        self.run = RunView(self.ui, account, status=status, changes=changes, video=video, history=page.history,
                           current=page.current)
        self.window_inputs = [self.audio, self.start, self.length, self.provider, mode, self.api_key]
        self.window_output = window
        self.prompt_outputs = ([prompt], count)

        prompt.change(self.prompt_count, prompt, count, queue=False, **HIDDEN)
        for name, button in zip(EXAMPLES, examples):
            button.click(functools.partial(self.example, name), None, [self.image, self.audio, prompt], queue=False,
                         **HIDDEN)
        # One event for every trigger: separate events could answer out of order and leave a stale line.
        gr.on([self.audio.change, self.start.change, self.length.change, self.provider.change, mode.change,
               self.api_key.change], self.window, self.window_inputs, window, trigger_mode="always_last",
              **self.ui.media_checks, **HIDDEN)
        self.image.upload(self.check_photo, self.image, status, **self.ui.media_checks, **HIDDEN)
        tts_button.click(account.speak, [tts_text, voice, language_choice, speed, self.provider, self.api_key],
                         [audio_id, tts_note], api_visibility="private", concurrency_limit=SPEECH_AT_ONCE).then(
            account.allowance, None, page.allowance, **HIDDEN)
        # Waiting on a gateway holds no slot: only preparation is bounded (AVATAR_CONCURRENCY, by the cores).
        self.event = go.click(
            self.generate,
            [self.image, self.audio, prompt, mode, self.provider, self.start, self.length, audio_id, self.api_key,
             watermark, callback_url, external_task_id, page.owner, self.send_anyway],
            self.run.outputs, api_name="generate", concurrency_limit=None, show_progress_on=[video],
        )
        self.event.then(account.allowance, None, page.allowance, **HIDDEN)
        stop.click(self.cancel, page.current, status, cancels=[self.event], queue=False, api_visibility="private")
