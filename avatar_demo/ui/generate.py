"""The Generate tab's handlers: they translate between the page's components and the generation path."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from .. import providers
from ..core.errors import AvatarDemoError
from ..core.status import Status
from ..jobs import Failed, Progress, Submitted, Succeeded, Unresolved
from ..jobs.plan import JobInput, VoiceLimit, voice_window
from ..media import prepare_image
from ..providers.base import MAX_PROMPT
from .context import Outputs, UIContext, as_refusal, refusal, scrub
from .present import changes_markdown, history_html, refusal_markdown, status_markdown

__all__ = ["GenerateHandlers"]


class GenerateHandlers:
    """Bound to one page: *out* lists the components /generate writes, in order."""

    def __init__(self, ui: UIContext, *, status: Any, changes: Any, video: Any, history: Any, current: Any) -> None:
        self.ui = ui
        self.status, self.changes, self.video, self.history, self.current = status, changes, video, history, current
        self.outputs = [status, changes, video, history, current]

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
        view = Outputs(self.outputs, {self.status: status_markdown("preparing inputs", provider=name),
                                      self.changes: "", self.history: ""})
        try:
            browser = self.ui.owner(owner)
            view({self.history: history_html(self.ui.services.history.for_owner(browser) if browser else [])})
            yield view()
            started = await self.ui.generations.start(
                self.ui.visitor(request, profile), name,
                JobInput(image=image, audio=audio, audio_id=audio_id, prompt=prompt or "", mode=mode or "std",
                         start=float(start or 0), length=length, watermark=bool(watermark),
                         callback_url=callback_url, external_task_id=external_task_id),
                user_key=key, owner=browser)
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            failure = as_refusal(exc, key)
            yield view({self.status: refusal_markdown(scrub(str(failure), key))})
            raise refusal(failure, key) from None
        plan, tracked = started.plan, started.tracked
        estimate = plan.estimate
        current = {"row": tracked.row, "provider": name}
        view({self.changes: changes_markdown(plan.changes, plan.warnings), self.current: current,
              self.status: status_markdown(Status.SUBMITTING, provider=name, estimate=estimate)})
        yield view()
        async for event in self.ui.services.followers.watch(tracked):
            if isinstance(event, Submitted):
                current = {**current, "task_id": event.task_id}
                note = "" if event.recorded else (f"The history could not record task {event.task_id} yet (the data "
                                                  "folder refused the write); it is kept and will be recorded.")
                yield view({self.current: current, self.history: self._history(browser),
                            self.status: status_markdown(event.status, provider=name, task_id=event.task_id,
                                                         estimate=estimate, note=note)})
            elif isinstance(event, Progress):
                yield view({self.status: status_markdown(event.status, provider=name, detail=event.detail,
                                                         elapsed_s=event.elapsed_s, task_id=event.task_id,
                                                         estimate=estimate, note=event.note)})
            elif isinstance(event, Succeeded):
                yield view({self.video: str(event.video_path), self.history: self._history(browser),
                            self.current: None,
                            self.status: status_markdown(Status.DONE, provider=name, elapsed_s=event.elapsed_s,
                                                         task_id=event.task_id, estimate=estimate,
                                                         charged=event.charged)})
            elif isinstance(event, (Failed, Unresolved)):
                reason = scrub(event.reason, key)
                yield view({self.history: self._history(browser), self.current: None,
                            self.status: status_markdown(event.status, provider=name, task_id=event.task_id,
                                                         note=reason)})
                if isinstance(event, Failed):
                    raise refusal(reason, title="Generation failed")
                gr.Warning(reason)

    def _history(self, owner: str | None) -> str:
        return history_html(self.ui.services.history.for_owner(owner) if owner else [])

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
