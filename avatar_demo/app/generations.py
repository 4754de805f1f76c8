"""Start work for a visitor: the house policy, the pre-job flow and the engine's runs, one path for every entry point.

The page, the prompt lab, the API and the MCP tool all start jobs here, so the allowance, the
voice cap, external-id namespacing and the clean-up of inputs hold for each of them alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from .. import providers
from ..core.errors import AvatarDemoError, DiskFull, GatewayError, NotAllowed, ServerError
from ..core.text import Text
from ..jobs import Failed, Submitted, Succeeded, Unresolved
from ..jobs.plan import JobInput, JobPlan, VoiceLimit, plan_job
from ..policy import Visitor
from ..policy.house import TTS_UNITS
from ..providers.base import TextToSpeech, TtsRequest, TtsResult, check_prompt
from ..store.records import RunFacts
from .attach import Starting, same_request
from .services import Services

__all__ = ["Generations", "Origin", "Started"]


@dataclass(frozen=True)
class Origin:
    """A re-run's parent and what was changed from it: {"prompt": [old, new], "mode": [...], "gateway": [...]}."""

    parent: int
    tweak: dict[str, list[str]]


@dataclass(frozen=True)
class Started:
    """A run the engine now has (in its account's line, or already sent), and the plan it was started from."""

    plan: JobPlan
    row: int


class Generations:
    """Every way of starting paid (or free) work goes through here."""

    def __init__(self, services: Services) -> None:
        self.services = services
        #: Each visitor's own preparation slots (public mode).
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}
        #: Requests still starting, so that an identical one is attached instead of paying again.
        self._starting: Starting[list[Started]] = Starting()

    @contextlib.asynccontextmanager
    async def _preparing_for(self, visitor: Visitor) -> AsyncIterator[None]:
        # Preparing is this server's work: in public mode each visitor prepares at most as many requests at once as
        # they may run, so one visitor's burst waits behind itself and never takes everyone's preparation slots.
        if not self.services.policy.public:
            yield
            return
        slots, users = self._slots.get(visitor.key) or (asyncio.Semaphore(self.services.policy.rules.max_jobs), 0)
        self._slots[visitor.key] = (slots, users + 1)
        try:
            async with slots:
                yield
        finally:
            slots, users = self._slots[visitor.key]
            if users <= 1:
                del self._slots[visitor.key]
            else:
                self._slots[visitor.key] = (slots, users - 1)

    def _prefix(self, visitor: Visitor) -> str | None:
        # In public mode a chosen external id is namespaced per visitor: no one can name another's task.
        if not self.services.policy.public:
            return None
        return "v" + hashlib.sha256(visitor.key.encode()).hexdigest()[:10]

    async def start(self, visitor: Visitor, provider: str, job: JobInput, *, user_key: str | None = None,
                    owner: str | None = None, origin: Origin | None = None) -> Started:
        """Plan and start one job; raises AvatarDemoError (InputError, NotAllowed, ConfigError…) when refused."""
        started = await self.start_variants(visitor, provider, job, [(job.prompt, job.mode)], user_key=user_key,
                                            owner=owner, origin=origin)
        return started[0]

    async def start_variants(self, visitor: Visitor, provider: str, job: JobInput, variants: list[tuple[str, str]],
                             *, user_key: str | None = None, owner: str | None = None, batch: str | None = None,
                             origin: Origin | None = None) -> list[Started]:
        """The same photo and voice with several (prompt, mode) pairs: prepared once, each variant a job.

        The prepared inputs are kept (once per distinct content) so that any of these runs can be re-run later.
        A request identical to one still starting (a double click) is attached to it: no second create.
        """
        same = same_request(visitor.key, provider, job, variants, user_key=(user_key or "").strip() or None,
                            owner=owner, origin=origin)
        return await self._starting.once(
            same, lambda: self._start_variants(visitor, provider, job, variants, user_key=user_key, owner=owner,
                                               batch=batch, origin=origin), self._until_sent)

    async def _until_sent(self, started: list[Started]) -> None:
        """Returns once every one of *started* has sent its create (or ended without one)."""
        for one in started:
            async for event in self.services.runs.watch(one.row):
                if isinstance(event, (Submitted, Succeeded, Failed, Unresolved)):
                    break

    async def _start_variants(self, visitor: Visitor, provider: str, job: JobInput, variants: list[tuple[str, str]],
                              *, user_key: str | None, owner: str | None, batch: str | None,
                              origin: Origin | None) -> list[Started]:
        spec = providers.spec(provider)
        for prompt, _ in variants:  # before anything is prepared: the prompts are the cheapest thing to check
            check_prompt(prompt.strip())
        key = (user_key or "").strip() or None
        permit = self.services.policy.permit(visitor, spec, user_key=key, runs=len(variants))
        self.services.settings.provider(provider).with_user_key(key).require_key()
        if spec.tts:
            # A speech made here is as long as its TTS result said: that length is capped, estimated and reserved.
            speech_s = self.services.policy.check_audio_id(visitor, permit, (job.audio_id or "").strip() or None)
            job = replace(job, audio_id_seconds=speech_s) if speech_s is not None else job
        self.services.storage.check_space()
        async with self._preparing_for(visitor):
            # Asked again now that it is this request's turn: a burst that outruns the allowance is not prepared.
            permit = self.services.policy.permit(visitor, spec, user_key=key, runs=len(variants))
            limit = VoiceLimit.of(spec, self.services.settings.max_audio_s, permit.voice_cap)
            base = await plan_job(spec, job, inputs=self.services.inputs, limit=limit,
                                  external_prefix=self._prefix(visitor))
        plans: list[JobPlan] = []
        try:
            plans = [base.variant(prompt, mode) for prompt, mode in variants]
            kept = await asyncio.to_thread(self._keep, base)
        except BaseException as exc:
            for plan in plans:
                plan.lease.release()
            if DiskFull.caused(exc):
                raise DiskFull("the inputs could not be kept") from None
            raise
        finally:
            base.lease.release()
        try:
            reservations = self.services.policy.reserve(visitor, permit, units=[p.estimate.units if p.estimate else 0.0
                                                                       for p in plans])
        except AvatarDemoError:
            for plan in plans:
                plan.lease.release()
            raise
        started: list[Started] = []
        for index, plan in enumerate(plans):
            reservation = reservations[index] if reservations else None
            request = plan.request
            try:
                row = await self.services.runs.begin(
                    provider, owner=owner, prompt=request.prompt, mode=request.mode,
                    external_task_id=request.external_task_id, changes=plan.changes, visitor=visitor.key,
                    user_key=key, facts=RunFacts(
                        batch=batch, parent=origin.parent if origin else None, tweak=origin.tweak if origin else None,
                        image_ref=kept[0], audio_ref=kept[1], audio_id=request.audio_id, seconds=plan.seconds,
                        estimate=plan.estimate.amount if plan.estimate else None,
                        currency=plan.estimate.currency if plan.estimate else None, watermark=request.watermark,
                        callback_url=request.callback_url, language=request.language,
                        reserved_day=reservation.day if reservation else None,
                        reserved_units=reservation.units if reservation else None))
            except AvatarDemoError:
                self.services.policy.refund(reservations[index:])
                for rest in plans[index:]:
                    rest.lease.release()
                raise
            # The run sends its kept copy: the prepared folder is no longer needed for it.
            plan.lease.release()
            try:
                await self.services.runs.queue(row)
            except AvatarDemoError:
                # This run ended and gave its allowance back; the ones after it were never begun.
                self.services.policy.refund(reservations[index + 1:])
                for rest in plans[index + 1:]:
                    rest.lease.release()
                raise
            started.append(Started(plan, row))
        return started

    def _keep(self, plan: JobPlan) -> tuple[str, str | None]:
        """Keep the prepared photo and voice for re-runs; returns their names in the input store."""
        store = self.services.kept
        media = plan.lease.media
        return store.keep(plan.lease.image.path), store.keep(media.audio.path) if media is not None else None

    async def speak(self, visitor: Visitor, provider: str, request: TtsRequest, *,
                    user_key: str | None = None) -> TtsResult:
        """Text to speech on *provider*, within the allowance; the audio id can replace a clip."""
        spec = providers.spec(provider)
        if not spec.tts:
            with_tts = [s.label for s in providers.specs() if s.tts]
            raise NotAllowed(Text("tts.needs_provider", providers=with_tts))
        key = (user_key or "").strip() or None
        permit = self.services.policy.permit(visitor, spec, user_key=key, runs=0)
        gateway = self.services.provider(provider, key)
        reservations = self.services.policy.reserve(visitor, permit, units=[TTS_UNITS], speech=1)
        try:
            assert isinstance(gateway, TextToSpeech)
            result = await gateway.tts(request)
            self.services.policy.remember_speech(visitor, permit, result)
            return result
        except GatewayError as exc:
            # Refused: nothing was made or charged. A server error may have made it (and charged): kept.
            if not isinstance(exc, ServerError):
                self.services.policy.refund(reservations)
            raise
        finally:
            await gateway.aclose()
