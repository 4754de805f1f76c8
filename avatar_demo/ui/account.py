"""Per-browser handlers: the browser id, picking its tasks up again, the allowance line, text to speech."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ..core.errors import AvatarDemoError, InputError
from ..core.text import Text, render
from ..providers.base import TtsRequest
from .context import UIContext, refusal, refused_words
from .i18n import language_of
from .present import refusal_markdown
from .tables import history_html

__all__ = ["AccountHandlers"]

#: How long a returning page refreshes its history while the runs it had left are looked at again.
LOOK_S = 10.0


class AccountHandlers:
    """Bound to one page."""

    def __init__(self, ui: UIContext) -> None:
        self.ui = ui

    def owner_or_none(self, owner: Any) -> str | None:
        """The browser id if this server signed it, else None (a forged id reads as no id at all)."""
        try:
            return self.ui.owner(owner)
        except InputError:
            return None

    def own_history(self, owner: Any, lang: str = "en") -> str:
        """This browser's history table, unfiltered (nothing for an id this server did not give out)."""
        return history_html(self.ui.workbench.runs(self.owner_or_none(owner), limit=50), lang)

    def history_page(self, owner: Any, request: gr.Request = None) -> str:  # type: ignore[assignment]
        """own_history() in the request's language (an event of its own)."""
        return self.own_history(owner, language_of(request))

    def load(self, owner: Any, request: gr.Request = None) -> tuple[str, str]:  # type: ignore[assignment]
        """Give a new browser (or one holding an id this server did not sign) its id, and show its history."""
        browser = self.owner_or_none(owner) or self.ui.services.keys.new_owner()
        return browser, self.own_history(browser, language_of(request))

    def allowance(self, request: gr.Request = None,  # type: ignore[assignment]
                  profile: gr.OAuthProfile | None = None) -> str:
        """The allowance line ("2 of 3 free runs left today · resets 00:00 UTC"), in public mode."""
        return render(self.ui.services.policy.allowance_line(self.ui.visitor(request, profile)), language_of(request))

    async def resume(self, owner: Any, request: gr.Request = None) -> AsyncIterator[str]:  # type: ignore[assignment]
        """Look again at this browser's runs that may still finish, refreshing the history while any is active."""
        browser = self.owner_or_none(owner)
        if browser is None:
            return
        lang = language_of(request)
        looked = await self.ui.services.runs.look_again(browser)
        # The looks take a moment; runs still in line or running change as they go.
        until = time.monotonic() + (LOOK_S if looked else 0.0)
        yield self.own_history(browser, lang)
        while time.monotonic() < until or any(r.status.active for r in self.ui.workbench.runs(browser, limit=50)):
            await asyncio.sleep(2.0)
            yield self.own_history(browser, lang)

    async def speak(self, text: str, voice_id: str, language: str, speed: float, provider: str, api_key: str,
                    request: gr.Request = None,  # type: ignore[assignment]
                    profile: gr.OAuthProfile | None = None) -> AsyncIterator[tuple[Any, str]]:
        """Synthesize speech; the audio id it returns is used instead of a clip. Yields (audio id, note).

        A refusal is said in the note, where the speech would have been announced, and is also the call's error.
        """
        key = (api_key or "").strip() or None
        lang = language_of(request)
        try:
            result = await self.ui.generations.speak(
                self.ui.visitor(request, profile), provider or self.ui.settings.default_provider,
                TtsRequest(text=text or "", voice_id=(voice_id or "").strip(), voice_language=language or "en",
                           voice_speed=float(speed or 1.0)), user_key=key)
        except AvatarDemoError as exc:
            yield gr.skip(), refusal_markdown(refused_words(exc, key, lang=lang), lang)
            raise refusal(exc, key, lang=lang) from None
        length = Text("ui.speech_ready.length", seconds=result.duration_s) if result.duration_s else ""
        yield result.audio_id, render(Text("ui.speech_ready", length=length, id=result.audio_id), lang)
