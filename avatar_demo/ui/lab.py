"""The prompt lab's handlers: several prompts and modes on one photo and voice, prepared once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from .. import providers
from ..core.errors import AvatarDemoError, InputError
from ..jobs import Failed, Progress, Succeeded, Unresolved
from ..jobs.plan import JobInput, voice_window
from .context import Outputs, UIContext, as_refusal, refusal, scrub
from .generate import GenerateHandlers
from .present import total_cost

__all__ = ["MAX_LAB_VARIANTS", "LabHandlers"]

MAX_LAB_VARIANTS = 8


def variants(prompts: str | None, modes: list[str] | None) -> list[tuple[str, str]]:
    """Every (prompt, mode) pair the lab will run: one prompt per line, each in every chosen mode."""
    lines = [p.strip() for p in (prompts or "").splitlines() if p.strip()] or [""]
    return [(p, m) for p in lines for m in (modes or ["std"])]


class LabHandlers:
    """Bound to one page: the lab's status table and gallery."""

    def __init__(self, ui: UIContext, generate: GenerateHandlers, *, status: Any, gallery: Any) -> None:
        self.ui = ui
        self.generate = generate
        self.status, self.gallery = status, gallery

    def summary(self, prompts: str, modes: list[str], provider: str, audio: str | None, start: float,
                length: float, api_key: str | None = None) -> str:
        """The plan shown before anything is sent: how many variants, and the total estimate."""
        runs = variants(prompts, modes)
        name = provider or self.ui.settings.default_provider
        try:
            spec = providers.spec(name)
            seconds = voice_window(audio, start, length, self.generate.limit(name, api_key)).used if audio else None
        except AvatarDemoError as exc:
            return str(exc)
        if spec.free:
            cost = "free (offline preview)"
        elif seconds is None:
            cost = "the estimate appears once a voice clip is chosen"
        else:
            cost = f"estimated total about **{total_cost([spec.estimate(mode, seconds) for _, mode in runs])}**"
        return f"{len(runs)} variant(s): {cost}."

    async def lab(self, image: str | None, audio: str | None, prompts: str = "", modes: list[str] | None = None,
                  provider: str = "", start: float = 0.0, length: float | None = None, api_key: str = "",
                  owner: Any = None, request: gr.Request = None,  # type: ignore[assignment]
                  profile: gr.OAuthProfile | None = None) -> AsyncIterator[dict[Any, Any]]:
        """Run every prompt × mode on the same photo and voice; results side by side with captions."""
        key = (api_key or "").strip() or None
        name = provider or self.ui.settings.default_provider
        runs = variants(prompts, modes)
        view = Outputs([self.status, self.gallery], {self.status: "Preparing the inputs once…", self.gallery: []})
        try:
            if len(runs) > MAX_LAB_VARIANTS:
                raise InputError(f"That is {len(runs)} variants and the lab runs at most {MAX_LAB_VARIANTS} at once: "
                                 "remove some prompts or modes")
            yield view()
            started = await self.ui.generations.start_variants(
                self.ui.visitor(request, profile), name,
                JobInput(image=image, audio=audio, start=float(start or 0), length=length), runs,
                user_key=key, owner=self.ui.owner(owner))
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            failure = as_refusal(exc, key)
            yield view({self.status: scrub(str(failure), key)})
            raise refusal(failure, key) from None
        states = ["waiting"] * len(started)
        videos: list[tuple[str, str] | None] = [None] * len(started)
        plan = self._plan_line(started)

        async def follow(index: int) -> None:
            prompt, mode = runs[index]
            async for event in self.ui.services.followers.watch(started[index].tracked):
                if isinstance(event, Progress):
                    states[index] = event.status.value + (f" ({event.detail})" if event.detail else "")
                elif isinstance(event, Succeeded):
                    states[index] = "done ✓"
                    videos[index] = (str(event.video_path), f"{mode} · {prompt or '(no prompt)'}")
                elif isinstance(event, (Failed, Unresolved)):
                    states[index] = f"{event.status.value}: {scrub(event.reason, key)}"

        def table() -> str:
            rows = "\n".join(f"| {i + 1} | {m} | {p or '(no prompt)'} | {s} |"
                             for i, ((p, m), s) in enumerate(zip(runs, states)))
            return f"{plan}\n\n| # | Mode | Prompt | Status |\n|---|---|---|---|\n{rows}"

        watchers = [asyncio.create_task(follow(i)) for i in range(len(started))]
        try:
            yield view({self.status: table()})
            while not all(w.done() for w in watchers):
                await asyncio.wait(watchers, timeout=0.5)
                yield view({self.status: table(), self.gallery: [v for v in videos if v]})
            yield view({self.status: table(), self.gallery: [v for v in videos if v]})
        finally:
            # Leaving only stops watching: the server follows every variant to its end.
            for watcher in watchers:
                watcher.cancel()

    @staticmethod
    def _plan_line(started: list[Any]) -> str:
        total = total_cost([s.plan.estimate for s in started])
        return f"{len(started)} variant(s): " + (f"estimated total about **{total}**." if total else
                                                 "free (offline preview).")
