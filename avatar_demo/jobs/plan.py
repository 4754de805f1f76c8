"""The one pre-job flow: a user's inputs become a prepared request (the page, the lab, the MCP tool, the CLI)."""

from __future__ import annotations

import math
import re
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path

from ..core.errors import InputError
from ..core.text import Text
from ..media.audio import MIN_AUDIO_S
from ..media.face import Face
from ..media.ffmpeg import media_duration
from ..providers.base import MODES, AvatarRequest
from ..providers.spec import Cost, ProviderSpec
from .inputs import Inputs, Lease

__all__ = ["JobInput", "JobPlan", "VoiceLimit", "VoiceWindow", "plan_job", "voice_window"]

_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class JobInput:
    """What a user asks for, as the page, the API or the CLI received it."""

    image: str | Path | None
    audio: str | Path | None = None
    audio_id: str | None = None
    prompt: str = ""
    mode: str = "std"
    start: float = 0.0
    length: float | None = None
    watermark: bool | None = None
    callback_url: str | None = None
    external_task_id: str | None = None
    #: Send to a paid gateway even when no face, or several faces, are found on the photo (cartoons,
    #: animals, groups: the person's call).
    allow_no_face: bool = False
    #: The language of the page that asked ("en", "zh"): the offline preview's banner is written in it.
    language: str = "en"
    #: How long the text-to-speech voice *audio_id* names is, when the app made it (it is billed like a clip).
    audio_id_seconds: float | None = None


@dataclass(frozen=True)
class VoiceLimit:
    """The longest voice window a job may use, and why it is shorter than the gateway allows (if it is)."""

    seconds: float
    reason: str | None = None

    @classmethod
    def of(cls, spec: ProviderSpec, app_cap: float, allowance: tuple[float, str] | None = None) -> VoiceLimit:
        """The provider's limit under the app's cap (AVATAR_MAX_AUDIO_S), and under an allowance if one applies."""
        limit = cls(min(app_cap, spec.max_audio_s))
        if allowance is not None and allowance[0] < limit.seconds:
            return cls(allowance[0], allowance[1])
        return limit

    def clamp(self, length: float | None) -> float:
        """A requested window length, within [2 s, the limit]; no length means the whole limit."""
        if length is None or not math.isfinite(float(length)) or float(length) <= 0:
            return self.seconds
        return max(MIN_AUDIO_S, min(float(length), self.seconds))


@dataclass(frozen=True)
class VoiceWindow:
    """The part of a clip a job will use, known before anything is decoded."""

    start: float
    end: float
    total: float | None
    #: Seconds of video it makes (a window under 2 s is padded to 2 s).
    used: float

    @property
    def padded(self) -> bool:
        """Whether the window is shorter than the 2 s minimum."""
        return self.end - self.start < MIN_AUDIO_S


def voice_window(audio: str | Path, start: float | None, length: float | None, limit: VoiceLimit) -> VoiceWindow:
    """Where [start, start + length) falls in *audio* (its duration read from the header)."""
    begin = max(0.0, float(start or 0))
    span = limit.clamp(length)
    total = media_duration(audio)
    end = begin + span if total is None else min(total, begin + span)
    return VoiceWindow(begin, end, total, max(MIN_AUDIO_S, end - begin))


@dataclass(frozen=True)
class JobPlan:
    """A prepared job: the request to send and what the user should know before it is sent."""

    spec: ProviderSpec
    request: AvatarRequest
    changes: list[str]
    warnings: list[str]
    seconds: float | None
    estimate: Cost | None
    lease: Lease
    face: Face | None = None

    def variant(self, prompt: str, mode: str) -> JobPlan:
        """The same inputs with another prompt and mode (the prompt lab); holds the inputs once more."""
        request = replace(self.request, prompt=prompt.strip(), mode=mode)  # type: ignore[arg-type]
        return replace(self, request=request, estimate=self.spec.estimate(mode, self.seconds), lease=self.lease.hold())


def _check_url(url: str | None) -> str | None:
    url = (url or "").strip()
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(Text("input.callback_url"))
    return url


def _external_id(value: str | None, prefix: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not _EXTERNAL_ID.fullmatch(value):
        raise InputError(Text("input.external_id"))
    # Namespaced per visitor, so one visitor's id can never name another visitor's task.
    return f"{prefix}-{value}" if prefix else value


async def plan_job(spec: ProviderSpec, job: JobInput, *, inputs: Inputs, limit: VoiceLimit,
                   external_prefix: str | None = None) -> JobPlan:
    """Validate, clamp the voice window to *limit*, prepare the media (shared through *inputs*), build the request."""
    if not job.image:
        raise InputError(Text("input.no_photo"))
    audio_id = (job.audio_id or "").strip() if spec.tts else ""
    if not job.audio and not audio_id:
        raise InputError(Text("input.no_voice"))
    if job.mode not in MODES:
        raise InputError(Text("input.mode", mode=repr(job.mode)))
    callback_url = _check_url(job.callback_url)
    external_id = _external_id(job.external_task_id, external_prefix)
    start = float(job.start or 0)
    if not math.isfinite(start) or start < 0:
        raise InputError(Text("input.start_negative"))
    length = limit.clamp(job.length)
    lease = await inputs.prepare(job.image, None if audio_id else job.audio, start=start, length=length)
    try:
        warnings = list(lease.image.warnings)
        if lease.face is None and not spec.free:
            if not job.allow_no_face:
                # The avatar models animate a face: without one the run is paid for and fails, or worse.
                raise InputError(Text("face.none", name=Path(str(job.image)).name))
            warnings.append(Text("face.none.sent_anyway"))
        elif lease.face is not None and lease.face.count > 1 and not spec.free:
            if not job.allow_no_face:
                # With several faces the model picks one, perhaps not the one meant: paid for either way.
                raise InputError(Text("face.several.refused", count=lease.face.count, name=Path(str(job.image)).name))
            warnings.append(Text("face.several.sent_anyway", count=lease.face.count))
        found = lease.face.describe() if lease.face is not None else Text("face.not_found")
        changes = [Text("change.photo", change=c) for c in (*lease.image.changes, found)]
        seconds: float | None = job.audio_id_seconds if audio_id else None
        if lease.media is not None:
            audio = lease.media.audio
            seconds = audio.duration_s
            changes += [Text("change.voice", change=c) for c in audio.changes]
            source = getattr(audio, "source_duration_s", None)
            if limit.reason and source is not None and source - start > limit.seconds + 0.05:
                changes.append(Text("change.voice", change=Text("change.voice_capped", seconds=limit.seconds,
                                                                 reason=limit.reason)))
        request = AvatarRequest(
            image=lease.image.path, audio=None if audio_id else lease.media.audio.path if lease.media else None,
            audio_id=audio_id or None, prompt=(job.prompt or "").strip(), mode=job.mode,  # type: ignore[arg-type]
            audio_duration_s=seconds, watermark=bool(job.watermark) if spec.watermark else None,
            callback_url=callback_url, external_task_id=external_id, language=job.language,
        )
    except BaseException:
        lease.release()
        raise
    return JobPlan(spec, request, changes, warnings, seconds, spec.estimate(job.mode, seconds), lease, lease.face)
