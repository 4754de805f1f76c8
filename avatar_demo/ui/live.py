"""What the page says as inputs change, before anything is pressed: voice window and cost, photo check, prompt."""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

import gradio as gr

from .. import providers
from ..core.errors import AvatarDemoError
from ..core.text import Text, render
from ..jobs.plan import VoiceLimit, voice_window
from ..media import prepare_image
from ..media.face import find_face
from ..providers.base import MAX_PROMPT
from .changes import plain_line
from .context import UIContext, as_refusal
from .i18n import language_of
from .present import cost_text, refusal_markdown

__all__ = ["LiveNotes"]


class LiveNotes:
    """Bound to one page."""

    def __init__(self, ui: UIContext) -> None:
        self.ui = ui

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
        cost = (Text("ui.window.cost", cost=cost_text(estimate, spec.pricing, about=True)) if estimate
                else Text("ui.window.free"))
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
        line = plain_line(notes, lang)
        warnings = [render(Text("ui.check_before_paying", warning=w), lang) for w in prepared.warnings]
        return "\n\n".join([*warnings, line])

    def options(self, provider: str) -> tuple[Any, Any]:
        """The mode picker and the *Send anyway* box, shown only for a gateway that charges (the preview has
        one mode and animates any photo)."""
        try:
            free = providers.spec(provider or self.ui.settings.default_provider).free
        except AvatarDemoError:
            free = False
        return gr.update(visible=not free), gr.update(visible=not free)
