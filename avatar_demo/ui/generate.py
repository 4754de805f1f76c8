"""The Generate tab: its components, their wiring, and the handlers that start one run and show it to its end."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
from gradio import media as bundled

from .. import providers
from ..app.generations import Started
from ..core.errors import AvatarDemoError
from ..core.status import Status
from ..jobs import Failed, Progress, Submitted, Succeeded, Unresolved
from ..jobs.plan import JobInput, VoiceLimit, voice_window
from ..media import prepare_image
from ..providers.base import MAX_PROMPT
from .account import AccountHandlers
from .components import PhotoInput
from .context import Outputs, UIContext, as_refusal, refusal, scrub
from .page import HIDDEN, Page
from .present import changes_markdown, provider_choices, refusal_markdown, status_markdown
from .tables import origin_text

__all__ = ["GenerateTab", "RunView"]

#: Official TTS voices for the Kling family (any other id can be typed).
VOICES = ["oversea_male1", "genshin_vindi2", "genshin_klee2", "genshin_kirara", "chinese_female1"]


class RunView:
    """The outputs one run streams into, in /generate's order: status, changes, video, history, current task."""

    def __init__(self, ui: UIContext, account: AccountHandlers, *, status: Any, changes: Any, video: Any,
                 history: Any, current: Any) -> None:
        self.ui, self.account = ui, account
        self.status, self.changes, self.video, self.history, self.current = status, changes, video, history, current
        self.outputs = [status, changes, video, history, current]

    def start(self, provider: str, browser: str | None) -> Outputs:
        """The outputs' values while the inputs are prepared."""
        return Outputs(self.outputs, {self.status: status_markdown("preparing inputs", provider=provider),
                                      self.changes: "", self.history: self.account.own_history(browser)})

    @staticmethod
    def refused(view: Outputs, status: Any, exc: BaseException, key: str | None) -> tuple[dict[Any, Any], gr.Error]:
        """The last values and the error for a run refused before anything was sent."""
        failure = as_refusal(exc, key)
        return view({status: refusal_markdown(scrub(str(failure), key))}), refusal(failure, key)

    async def follow(self, view: Outputs, started: Started, provider: str, key: str | None,
                     browser: str | None) -> AsyncIterator[dict[Any, Any]]:
        """Show a started run until it ends: its status after every event, then its video (or why there is none)."""
        plan, tracked = started.plan, started.tracked
        estimate = plan.estimate
        current = {"row": tracked.row, "provider": provider}
        record = self.ui.services.recorder.get(tracked.row)
        origin = origin_text(record) if record is not None else ""
        heading = f"**Run {tracked.row}**" + (f" ({origin})" if origin else "")
        yield view({self.changes: f"{heading}\n\n{changes_markdown(plan.changes, plan.warnings)}",
                    self.current: current,
                    self.status: status_markdown(Status.SUBMITTING, provider=provider, estimate=estimate)})
        async for event in self.ui.services.followers.watch(tracked):
            if isinstance(event, Submitted):
                current = {**current, "task_id": event.task_id}
                note = "" if event.recorded else (f"The history could not record task {event.task_id} yet (the data "
                                                  "folder refused the write); it is kept and will be recorded.")
                yield view({self.current: current, self.history: self.account.own_history(browser),
                            self.status: status_markdown(event.status, provider=provider, task_id=event.task_id,
                                                         estimate=estimate, note=note)})
            elif isinstance(event, Progress):
                yield view({self.status: status_markdown(event.status, provider=provider, detail=event.detail,
                                                         elapsed_s=event.elapsed_s, task_id=event.task_id,
                                                         estimate=estimate, note=event.note)})
            elif isinstance(event, Succeeded):
                yield view({self.video: str(event.video_path), self.history: self.account.own_history(browser),
                            self.current: None,
                            self.status: status_markdown(Status.DONE, provider=provider, elapsed_s=event.elapsed_s,
                                                         task_id=event.task_id, estimate=estimate,
                                                         charged=event.charged)})
            elif isinstance(event, (Failed, Unresolved)):
                reason = scrub(event.reason, key)
                yield view({self.history: self.account.own_history(browser), self.current: None,
                            self.status: status_markdown(event.status, provider=provider, task_id=event.task_id,
                                                         note=reason)})
                if isinstance(event, Failed):
                    raise refusal(reason, title="Generation failed")
                gr.Warning(reason)


class GenerateTab:
    """One photo, one voice, one run; its inputs are also the prompt lab's."""

    def __init__(self, ui: UIContext, page: Page, account: AccountHandlers) -> None:
        self.ui, self.page, self.account = ui, page, account

    # -- live helpers ------------------------------------------------------------------------------------------
    @staticmethod
    def prompt_count(prompt: str | None) -> str:
        """Live character count under the prompt."""
        n = len(prompt or "")
        return f"{n} / {MAX_PROMPT} characters" + (" — too long" if n > MAX_PROMPT else "")

    def limit(self, provider: str, api_key: str | None) -> VoiceLimit:
        """The voice window the page would allow on *provider*, with or without the visitor's own key."""
        spec = providers.spec(provider or self.ui.settings.default_provider)
        cap = self.ui.services.policy.voice_cap(spec, user_key=(api_key or "").strip() or None)
        return VoiceLimit.of(spec, self.ui.settings.max_audio_s, cap)

    def window(self, audio: str | None, start: float | None, length: float | None, provider: str, mode: str,
               api_key: str | None = None) -> str:
        """The voice window that will be used and its cost estimate, before anything is prepared."""
        try:
            spec = providers.spec(provider or self.ui.settings.default_provider)
            limit = self.limit(provider, api_key)
        except AvatarDemoError as exc:
            return str(exc)
        if not audio:
            return f"Upload or record 2–{limit.seconds:g} s of speech; longer clips are trimmed to the window you choose."
        span = voice_window(audio, start, length, limit)
        estimate = spec.estimate(mode or "std", span.used)
        of = f" of the {span.total:.1f} s clip" if span.total is not None else ""
        pad = " (padded to 2.0 s)" if span.padded else ""
        cost = f" · estimated cost about {estimate}" if estimate else " · free offline preview"
        return f"Using **{span.start:.1f}–{span.end:.1f} s**{of} = {span.used:.1f} s of video{pad}{cost}"

    async def check_photo(self, image: str | None) -> str:
        """Look at an upload as soon as it arrives, so a bad file is named before anything is pressed."""
        if not image:
            return "Ready."
        try:
            with tempfile.TemporaryDirectory(prefix="photo-check-") as folder:
                prepared = await asyncio.to_thread(prepare_image, image, folder)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the page says it in words
            return refusal_markdown(str(as_refusal(exc)))
        notes = [f"Photo ready: {prepared.width}×{prepared.height}"] + list(prepared.changes)
        notes += [f"**Check before you pay:** {w}" for w in getattr(prepared, "warnings", [])]
        return " · ".join(notes)

    # -- generation --------------------------------------------------------------------------------------------
    async def generate(
        self, image: str | None, audio: str | None, prompt: str = "", mode: str = "std", provider: str = "",
        start: float = 0.0, length: float | None = None, audio_id: str = "", api_key: str = "",
        watermark: bool = False, callback_url: str = "", external_task_id: str = "", owner: Any = None,
        request: gr.Request = None, profile: gr.OAuthProfile | None = None,  # type: ignore[assignment]
    ) -> AsyncIterator[dict[Any, Any]]:
        """Make a talking-avatar video from a portrait photo and a voice clip (or a text-to-speech audio id).

        Yields the status, the changes made to the inputs, the video and the history; ends with the video.
        """
        key = (api_key or "").strip() or None
        name = provider or self.ui.settings.default_provider
        browser = self.account.owner_or_none(owner)
        view = self.run.start(name, browser)
        try:
            self.ui.owner(owner)  # a forged browser id is refused, not silently ignored
            yield view()
            started = await self.ui.generations.start(
                self.ui.visitor(request, profile), name,
                JobInput(image=image, audio=audio, audio_id=audio_id, prompt=prompt or "", mode=mode or "std",
                         start=float(start or 0), length=length, watermark=bool(watermark),
                         callback_url=callback_url, external_task_id=external_task_id),
                user_key=key, owner=browser)
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            last, error = self.run.refused(view, self.run.status, exc, key)
            yield last
            raise error from None
        async for values in self.run.follow(view, started, name, key, browser):
            yield values

    async def cancel(self, current: dict[str, Any] | None) -> str:
        """Stop following this page's task (the user's cancel); the gateway may still finish and bill it."""
        if not current:
            return "Stopped. Nothing had been sent, so nothing was charged."
        if "task_id" not in current:
            await self.ui.services.followers.stop(current["row"])
            return ("Stopped. If the gateway accepts the create that was being sent, that task may still finish and "
                    "be charged; it stays in your history below.")
        await self.ui.services.followers.stop(current["row"])
        return status_markdown(Status.STOPPED, provider=current["provider"], task_id=current["task_id"], note=(
            f"The remote task **{current['task_id']}** may still finish and be charged. It stays in your history "
            "below, which checks it again when you reopen this page."))

    # -- the tab -----------------------------------------------------------------------------------------------
    def build(self) -> None:
        """Lay out the tab and wire its events (inside the Blocks being built)."""
        settings = self.ui.settings
        max_s = min(settings.max_audio_s, 300.0)
        with gr.Tab("Generate"):
            with gr.Row():
                with gr.Column():
                    self.image = PhotoInput(elem_id="portrait", label="Portrait photo (jpg, png, heic, webp…; fixed up "
                                            "automatically)", type="filepath", image_mode=None,
                                            sources=["upload", "webcam", "clipboard"], height=320)
                    self.audio = gr.Audio(elem_id="voice", label="Voice clip (upload or record)",
                                          sources=["upload", "microphone"], type="filepath")
                    with gr.Row():
                        self.start = gr.Number(0, label="Start at (s)", minimum=0, precision=1)
                        self.length = gr.Slider(2, max_s, value=max_s, step=0.5, label="Length (s)")
                    window = gr.Markdown(elem_id="window")
                    with gr.Accordion("…or text to speech (Kling, CometAPI, KKIAI)", open=False):
                        tts_text = gr.Textbox(label="Text to speak", lines=2, max_length=1000)
                        with gr.Row():
                            voice = gr.Dropdown(VOICES, value=VOICES[0], label="Voice id", allow_custom_value=True)
                            language = gr.Radio(["en", "zh"], value="en", label="Language")
                            speed = gr.Slider(0.8, 2.0, value=1.0, step=0.1, label="Speed")
                        tts_button = gr.Button("Make speech")
                        audio_id = gr.Textbox("", label="Audio id (used instead of the clip when set)")
                        tts_note = gr.Markdown()
                    prompt = gr.Textbox("", label="Prompt (optional): actions, emotions, camera", lines=3, max_length=2500)
                    count = gr.Markdown(self.prompt_count(""), elem_id="prompt-count")
                    with gr.Row():
                        mode = gr.Radio(["std", "pro"], value="std", label="Mode (pro: 1080p, twice the price)")
                        self.provider = gr.Dropdown(provider_choices(settings), value=settings.default_provider,
                                                    label="Provider")
                    with gr.Accordion("Your own API key", open=False):
                        self.api_key = gr.Textbox("", label="API key", type="password",
                                                  placeholder="used for this request only",
                                                  info="Never stored or logged. For Kling JWT auth enter "
                                                       "ACCESS_KEY:SECRET_KEY.")
                    with gr.Accordion("Advanced", open=False):
                        watermark = gr.Checkbox(False, label="Also make a watermarked copy (Kling)")
                        callback_url = gr.Textbox("", label="Callback URL (the gateway calls it on every status change)")
                        external_task_id = gr.Textbox("", label="External task id (unique per account; one is made for "
                                                                "you)")
                    with gr.Row():
                        go = gr.Button("Generate", variant="primary")
                        stop = gr.Button("Cancel", variant="stop")
                with gr.Column():
                    status = gr.Markdown("Ready.", elem_id="status")
                    changes = gr.Markdown(elem_id="changes")
                    video = gr.Video(label="Result", buttons=["download"], elem_id="result")
            gr.Examples(
                examples=[[bundled.get_image("groot.jpeg"), bundled.get_audio("cate_blanch.mp3"),
                           "Speaking warmly, a slow nod, camera slowly pushes in"],
                          [bundled.get_image("cheetah1.jpg"), bundled.get_audio("audio_sample.wav"),
                           "A short greeting with a smile"]],
                inputs=[self.image, self.audio, prompt], cache_examples=False,
                example_labels=["Portrait and speech", "Small photo and 1 s clip (fixed automatically)"],
            )
        page, account = self.page, self.account
        self.run = RunView(self.ui, account, status=status, changes=changes, video=video, history=page.history,
                           current=page.current)
        self.window_inputs = [self.audio, self.start, self.length, self.provider, mode, self.api_key]
        self.window_output = window

        prompt.change(self.prompt_count, prompt, count, queue=False, **HIDDEN)
        for trigger in (self.audio.change, self.start.change, self.length.change, self.provider.change, mode.change,
                        self.api_key.change):
            trigger(self.window, self.window_inputs, window, concurrency_limit=None, **HIDDEN)
        self.image.upload(self.check_photo, self.image, status, concurrency_limit=None, **HIDDEN)
        tts_button.click(account.speak, [tts_text, voice, language, speed, self.provider, self.api_key],
                         [audio_id, tts_note], api_visibility="private").then(
            account.allowance, None, page.allowance, **HIDDEN)
        # Waiting on a gateway holds no slot: only preparation is bounded (AVATAR_CONCURRENCY, by the cores).
        self.event = go.click(
            self.generate,
            [self.image, self.audio, prompt, mode, self.provider, self.start, self.length, audio_id, self.api_key,
             watermark, callback_url, external_task_id, page.owner],
            self.run.outputs, api_name="generate", concurrency_limit=None, show_progress_on=[video],
        )
        self.event.then(account.allowance, None, page.allowance, **HIDDEN)
        stop.click(self.cancel, page.current, status, cancels=[self.event], queue=False, api_visibility="private")
