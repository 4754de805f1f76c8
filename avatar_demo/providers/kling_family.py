"""What the official Kling API and its pass-through resellers (CometAPI, KKIAI) share."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ..core.errors import NotFound, RequestRejected, UnclearReply, UnexpectedReply
from ..core.status import Status
from ..core.text import Text
from .base import AvatarRequest, TaskState, TtsRequest, TtsResult
from .http import GatewayHTTP
from .kling_replies import KLING_STATUS, kling_error, parse_kling_speech, parse_kling_task
from .spec import KLING_LIST_PRICE, Pricing, ProviderConfig, ProviderOptions, ProviderSpec

__all__ = ["KlingFamily", "b64", "kling_spec"]


def kling_spec(name: str, label: str, implementation: str, *, key_groups: tuple[tuple[str, ...], ...],
               base_url: str, key_url: str, max_audio_s: float = 300.0, watermark: bool = False,
               pricing: Pricing = KLING_LIST_PRICE) -> ProviderSpec:
    """The spec of a gateway speaking Kling's legacy avatar contract (the official API or a pass-through)."""
    return ProviderSpec(
        name=name, label=label, implementation=implementation, key_groups=key_groups, default_base_url=base_url,
        max_audio_s=max_audio_s, pricing=pricing, tts=True, watermark=watermark, callbacks=True,
        external_ids=True, contract="kling", key_url=key_url,
        # Kling limits unfinished tasks per account and resource pack (code 1303 beyond it) without publishing a
        # figure; a pack's name shows its slots. Five is a modest pack: set <NAME>_MAX_PARALLEL to yours.
        max_parallel=5,
    )


def b64(path: Path) -> str:
    """Raw base64 of a file: the Kling family refuses a data: prefix."""
    return base64.b64encode(path.read_bytes()).decode("ascii")


class KlingFamily:
    """A gateway speaking Kling's legacy avatar contract under a path prefix; subclasses set spec and prefix."""

    spec: ProviderSpec
    prefix = ""
    #: A prompt to send when the user gave none, for gateways that refuse an empty one.
    fallback_prompt: str | None = None
    #: How the gateway refuses a request itself: Kling's {code, message} or CometAPI's {"error": {...}}.
    refusal_envelope = "code"

    def __init__(self, config: ProviderConfig, options: ProviderOptions) -> None:
        config.require_key()
        self.config = config
        self.label = self.spec.label
        self.http = GatewayHTTP(
            self.label,
            config.base_url,
            headers=self._headers,
            error_mapper=lambda response, body: kling_error(self.label, response, body),
            read_retry=options.read_retry,
            transport=options.transport,
        )

    def _authorization(self) -> str:
        # A plain key: the one credential the config holds.
        return f"Bearer {next(iter(self.config.credentials.values()), '')}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization(), "Content-Type": "application/json"}

    @property
    def _tasks(self) -> str:
        return f"{self.prefix}/v1/videos/avatar/image2video"

    def payload(self, request: AvatarRequest) -> dict[str, Any]:
        """The JSON body of a create."""
        body: dict[str, Any] = {"image": b64(request.image), "mode": request.mode}
        if request.audio is not None:
            body["sound_file"] = b64(request.audio)
        else:
            body["audio_id"] = request.audio_id
        prompt = request.prompt.strip() or self.fallback_prompt
        if prompt:
            body["prompt"] = prompt
        if self.spec.watermark and request.watermark is not None:
            body["watermark_info"] = {"enabled": bool(request.watermark)}
        if request.callback_url:
            body["callback_url"] = request.callback_url
        if request.external_task_id:
            body["external_task_id"] = request.external_task_id
        return body

    async def create(self, request: AvatarRequest) -> TaskState:
        """Send one create; an ambiguous outcome is the job runner's to resolve."""
        reply = await self.http.send("POST", self._tasks, json=self.payload(request))
        data = reply.get("data")
        if not isinstance(data, dict) or not data.get("task_id"):
            # Accepted, yet no task named: it may exist all the same (looked up by its external id).
            raise UnclearReply(self.label, Text("gw.no_task_id"))
        return parse_kling_task(self.label, data)

    async def get(self, task_id: str) -> TaskState:
        """Read a task by task id or external id."""
        reply = await self.http.read(f"{self._tasks}/{task_id}")
        return parse_kling_task(self.label, reply.get("data"))

    async def find_external(self, external_task_id: str) -> TaskState | None:
        """The task created with *external_task_id*, or None when there is none."""
        try:
            return await self.get(external_task_id)
        except NotFound:
            return None
        except RequestRejected as exc:
            if "not found" in exc.message.lower():
                return None
            raise

    def callback_status(self, payload: Any) -> Status | None:
        """The status word of a callback body, legacy shape (`task_status`) or new (`status`)."""
        if not isinstance(payload, dict):
            return None
        word = payload.get("task_status") or payload.get("status")
        if word == "succeeded":  # the new design's word for the legacy "succeed"
            word = "succeed"
        return KLING_STATUS.get(word) if isinstance(word, str) else None

    def callback_task_id(self, payload: Any) -> str | None:
        """The legacy body's `task_id`, or the new design's `id`."""
        found = payload.get("task_id") or payload.get("id") if isinstance(payload, dict) else None
        return str(found) if found else None

    async def list_tasks(self, page: int = 1, size: int = 30) -> list[TaskState]:
        """One page of the account's avatar tasks."""
        reply = await self.http.read(self._tasks, params={"pageNum": page, "pageSize": size})
        items = reply.get("data")
        if not isinstance(items, list):
            raise UnexpectedReply(self.label, Text("gw.no_list"))
        return [parse_kling_task(self.label, item) for item in items]

    async def tts(self, request: TtsRequest) -> TtsResult:
        """Synthesize speech; the returned audio_id can replace a sound file for 30 days."""
        reply = await self.http.send(
            "POST",
            f"{self.prefix}/v1/audio/tts",
            json={
                "text": request.text,
                "voice_id": request.voice_id,
                "voice_language": request.voice_language,
                "voice_speed": round(request.voice_speed, 1),
            },
        )
        return parse_kling_speech(self.label, reply)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
