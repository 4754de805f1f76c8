"""Event handlers: turn form values into service calls and service events into page updates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ..errors import AvatarDemoError, InputError
from ..jobs import Failed, Progress, Submitted, Succeeded
from ..providers import KLING_FAMILY, AvatarRequest, TtsRequest
from .present import changes_markdown, estimate_units, history_html, status_markdown
from .service import AppService

__all__ = ["Handlers"]

MAX_LAB_VARIANTS = 8


def _scrub(message: str, key: str | None) -> str:
    # Belt and braces: no gateway echoes keys, but a message must never carry one to the page.
    return message.replace(key, "***") if key and len(key) >= 4 else message


class Handlers:
    """Bound to one AppService; every method is an event handler."""

    def __init__(self, service: AppService) -> None:
        self.service = service

    # -- small live helpers ----------------------------------------------------------------------
    @staticmethod
    def prompt_count(prompt: str | None) -> str:
        """Live character count under the prompt."""
        n = len(prompt or "")
        return f"{n} / 2500 characters" + (" — too long" if n > 2500 else "")

    def window(self, audio: str | None, start: float | None, length: float | None, provider: str, mode: str) -> str:
        """The effective voice window and the cost estimate for it."""
        if not audio:
            limit = self.service.max_seconds(provider)
            return f"Upload or record 2–{limit:.0f} s of speech; longer clips are trimmed to the window you choose."
        span = self.service.voice_window(audio, start, length, provider)
        units = estimate_units(provider, mode, span.used)
        of = f" of the {span.total:.1f} s clip" if span.total is not None else ""
        pad = " (padded to 2.0 s)" if span.padded else ""
        cost = f" · estimated cost about {units:g} units" if units else " · free offline preview"
        return f"Using **{span.start:.1f}–{span.end:.1f} s**{of} = {span.used:.1f} s of video{pad}{cost}"

    # -- generation ---------------------------------------------------------------------------------
    def _provider(self, name: str, api_key: str | None):  # type: ignore[no-untyped-def]
        try:
            return self.service.provider(name or self.service.settings.default_provider, (api_key or "").strip() or None)
        except AvatarDemoError as exc:
            raise gr.Error(_scrub(str(exc), api_key), title="Provider not ready") from None

    async def generate(
        self, image: str | None, audio: str | None, prompt: str = "", mode: str = "std", provider: str = "local",
        start: float = 0.0, length: float = 60.0, audio_id: str = "", api_key: str = "", watermark: bool = False,
        callback_url: str = "", external_task_id: str = "", owner: str | None = None,
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Prepare, submit, follow and show the video; yields (status, changes, video, history, current task)."""
        key = (api_key or "").strip() or None
        name = provider or self.service.settings.default_provider
        use_audio_id = bool((audio_id or "").strip()) and name in KLING_FAMILY
        if not image:
            raise gr.Error("Add a portrait photo first (upload, webcam or paste).", title="Missing photo")
        if not audio and not use_audio_id:
            raise gr.Error("Add a voice clip (upload or record), or make one with text to speech.", title="Missing voice")
        gateway = self._provider(name, key)
        try:
            yield (status_markdown(provider=name, status="preparing inputs…"), gr.skip(), None, gr.skip(), None)
            limit = self.service.max_seconds(name)
            length = min(float(length or limit), limit)
            if use_audio_id:
                from ..media import prepare_image

                prepared_image = await asyncio.to_thread(prepare_image, image, self.service.jobs_dir / uuid.uuid4().hex)
                image_path, audio_path, seconds = prepared_image.path, None, None
                changes = [f"Photo: {c}" for c in prepared_image.changes]
            else:
                media = await self.service.prepare(image, audio, start=float(start or 0), length=length)
                image_path, audio_path, seconds, changes = media.image.path, media.audio.path, media.audio.duration_s, media.changes
            request = AvatarRequest(
                image=image_path, audio=audio_path, audio_id=(audio_id or "").strip() if use_audio_id else None,
                prompt=(prompt or "").strip(), mode=mode or "std", audio_duration_s=seconds,
                watermark=bool(watermark) if name == "kling" else None,
                callback_url=(callback_url or "").strip() or None,
                external_task_id=(external_task_id or "").strip() or None,
            )
            estimate = estimate_units(name, request.mode, seconds)
            # The video stays None until it exists rather than gr.skip(): Gradio rebuilds a component and its
            # API schema for every skip, and those milliseconds pile up on the event loop with many users.
            yield (status_markdown(provider=name, status="submitting…", estimate=estimate),
                   changes_markdown(changes), None, gr.skip(), None)
            task: dict[str, str] | None = None
            async for event in self.service.run(gateway, request, owner=owner or None, changes=changes):
                if isinstance(event, Submitted):
                    task = {"provider": name, "task_id": event.task_id}
                    yield (status_markdown(provider=name, status="submitted", task_id=event.task_id, estimate=estimate),
                           gr.skip(), None, self.history(owner), task)
                elif isinstance(event, Progress):
                    yield (status_markdown(provider=name, status=event.raw_status, elapsed_s=event.elapsed_s,
                                           task_id=event.task_id, estimate=estimate, note=event.note),
                           gr.skip(), None, gr.skip(), task)
                elif isinstance(event, Succeeded):
                    yield (status_markdown(provider=name, status="done ✓", elapsed_s=event.elapsed_s,
                                           task_id=event.task_id, units=event.units if event.units is not None else estimate),
                           gr.skip(), str(event.video_path), self.history(owner), None)
                elif isinstance(event, Failed):
                    reason = _scrub(event.reason, key)
                    yield (status_markdown(provider=name, status="failed", task_id=event.task_id, note=reason),
                           gr.skip(), None, self.history(owner), None)
                    raise gr.Error(reason, title="Generation failed")
        except InputError as exc:
            raise gr.Error(_scrub(str(exc), key), title="Input refused") from None
        except AvatarDemoError as exc:
            raise gr.Error(_scrub(str(exc), key), title="Generation failed") from None
        finally:
            if gateway is not self.service.local:
                await gateway.aclose()

    @staticmethod
    def cancel(task: dict[str, str] | None) -> str:
        """Shown when the user stops following a task."""
        if not task:
            return "Stopped. Nothing had been submitted, so nothing was charged."
        return status_markdown(
            provider=task["provider"], status="stopped following", task_id=task["task_id"],
            note=(f"The remote task **{task['task_id']}** may still finish and be charged. It stays in your "
                  "history below and is picked up again when you reload this page."),
        )

    # -- text to speech -------------------------------------------------------------------------------
    async def tts(self, text: str, voice_id: str, language: str, speed: float, provider: str, api_key: str) -> tuple[str, str]:
        """Synthesize speech on a Kling-family gateway; returns (audio id, note)."""
        if provider not in KLING_FAMILY:
            raise gr.Error("Text to speech needs Kling, CometAPI or KKIAI: choose one of them as provider.")
        gateway = self._provider(provider, api_key)
        try:
            result = await gateway.tts(TtsRequest(text=text or "", voice_id=(voice_id or "").strip(),
                                                  voice_language=language or "en", voice_speed=float(speed or 1.0)))
        except AvatarDemoError as exc:
            raise gr.Error(_scrub(str(exc), api_key), title="Text to speech failed") from None
        finally:
            await gateway.aclose()
        length = f" ({result.duration_s:.1f} s)" if result.duration_s else ""
        return result.audio_id, f"Speech ready{length}: generation will use audio id `{result.audio_id}` instead of the clip."

    # -- history ----------------------------------------------------------------------------------------
    def history(self, owner: str | None) -> str:
        """This browser's history table."""
        return history_html(self.service.history.for_owner(owner) if owner else [])

    def load(self, owner: str | None) -> tuple[str, str]:
        """Give a new browser its id and show its history."""
        owner = owner or uuid.uuid4().hex
        return owner, self.history(owner)

    async def resume(self, owner: str | None) -> AsyncIterator[str]:
        """Follow this browser's unfinished tasks again, refreshing the history as they progress."""
        if not owner:
            return
        job = asyncio.create_task(self.service.resume(owner))
        while not job.done():
            yield self.history(owner)
            await asyncio.wait({job}, timeout=2.0)
        yield self.history(owner)

    # -- prompt lab ---------------------------------------------------------------------------------------
    def lab_plan(self, prompts: str, modes: list[str], provider: str, audio: str | None,
                 start: float, length: float) -> tuple[list[tuple[str, str]], str]:
        """The variants and the total estimate, shown before anything is sent."""
        lines = [p.strip() for p in (prompts or "").splitlines() if p.strip()] or [""]
        variants = [(p, m) for p in lines for m in (modes or ["std"])]
        seconds = self.service.voice_window(audio, start, length, provider).used if audio else None
        total_units = sum(estimate_units(provider, m, seconds) for _, m in variants)
        cost = f"estimated total about **{total_units:g} units**" if total_units else "free (offline preview)"
        return variants, f"{len(variants)} variant(s): {cost}."

    def lab_summary(self, prompts: str, modes: list[str], provider: str, audio: str | None,
                    start: float, length: float) -> str:
        """The plan line shown under the lab inputs."""
        return self.lab_plan(prompts, modes, provider, audio, start, length)[1]

    async def lab(self, image: str | None, audio: str | None, prompts: str, modes: list[str], provider: str,
                  start: float, length: float, api_key: str, owner: str | None) -> AsyncIterator[tuple[str, list]]:
        """Run every prompt × mode on the same prepared inputs; results side by side with captions."""
        if not image or not audio:
            raise gr.Error("The prompt lab uses the photo and voice clip of the Generate tab: add both first.")
        variants, plan = self.lab_plan(prompts, modes, provider, audio, start, length)
        if len(variants) > MAX_LAB_VARIANTS:
            raise gr.Error(f"{len(variants)} variants; the lab runs at most {MAX_LAB_VARIANTS} at once.")
        try:
            probe = self._provider(provider, api_key)
            limit = self.service.max_seconds(provider)
            media = await self.service.prepare(image, audio, start=float(start or 0),
                                               length=min(float(length or limit), limit))
        except AvatarDemoError as exc:
            raise gr.Error(_scrub(str(exc), api_key)) from None
        states = ["waiting"] * len(variants)
        videos: list[tuple[str, str] | None] = [None] * len(variants)

        async def one(index: int, prompt: str, mode: str) -> None:
            gateway = probe if index == 0 else self._provider(provider, api_key)
            request = AvatarRequest(image=media.image.path, audio=media.audio.path, prompt=prompt, mode=mode,
                                    audio_duration_s=media.audio.duration_s)
            try:
                async for event in self.service.run(gateway, request, owner=owner or None, changes=media.changes):
                    if isinstance(event, Progress):
                        states[index] = event.raw_status
                    elif isinstance(event, Succeeded):
                        states[index] = "done ✓"
                        videos[index] = (str(event.video_path), f"{mode} · {prompt or '(no prompt)'}")
                    elif isinstance(event, Failed):
                        states[index] = "failed: " + _scrub(event.reason, api_key)
            finally:
                if gateway is not self.service.local:
                    await gateway.aclose()

        def table() -> str:
            rows = "\n".join(f"| {i + 1} | {m} | {p or '(no prompt)'} | {s} |" for i, ((p, m), s) in enumerate(zip(variants, states)))
            return f"{plan}\n\n| # | Mode | Prompt | Status |\n|---|---|---|---|\n{rows}"

        runs = [asyncio.create_task(one(i, p, m)) for i, (p, m) in enumerate(variants)]
        try:
            yield table(), []
            while not all(r.done() for r in runs):
                await asyncio.wait(runs, timeout=0.5)
                yield table(), [v for v in videos if v]
            yield table(), [v for v in videos if v]
        finally:
            for run in runs:
                run.cancel()
