"""What the official Kling API and its pass-through resellers (CometAPI, KKIAI) share."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

from ..core.errors import (
    AuthError,
    CapacityError,
    GatewayError,
    NotFound,
    QuotaError,
    RateLimited,
    RequestRejected,
    ServerError,
    UnclearReply,
    UnexpectedReply,
)
from ..core.status import Status
from ..core.text import Text
from .base import AvatarRequest, TaskState, TtsRequest, TtsResult, parse_status, raw_word
from .http import GatewayHTTP, retry_after_seconds, status_error, unknown_code
from .spec import KLING_LIST_PRICE, Pricing, ProviderConfig, ProviderOptions, ProviderSpec

__all__ = ["KLING_CODES", "KLING_STATUS", "KlingFamily", "kling_error", "kling_spec", "parse_kling_task"]

KLING_STATUS = {
    "submitted": Status.QUEUED,
    "processing": Status.RUNNING,
    "succeed": Status.DONE,
    "failed": Status.FAILED,
}


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

#: Kling's business codes: (error class, what happened, what the user can do).
KLING_CODES: dict[int, tuple[type[GatewayError], Text, Text | None]] = {
    1000: (AuthError, Text("kling.1000"), Text("hint.check_the_api_key")),
    1001: (AuthError, Text("kling.1001"), Text("hint.set_the_api_key")),
    1002: (AuthError, Text("kling.1002"), Text("hint.check_the_api_key")),
    1003: (AuthError, Text("kling.1003"), Text("hint.check_this_machine_s_clock")),
    1004: (AuthError, Text("kling.1004"), Text("hint.check_this_machine_s_clock")),
    1100: (QuotaError, Text("kling.1100"), Text("hint.check_the_account_in_the_kling_console")),
    1101: (QuotaError, Text("kling.1101"), Text("hint.settle_the_balance_or_switch_provider")),
    1102: (QuotaError, Text("kling.1102"), Text("hint.top_up_or_switch_provider")),
    1103: (QuotaError, Text("kling.1103"), Text("hint.enable_the_model_for_the_account_or_swit")),
    1200: (RequestRejected, Text("kling.1200"), None),
    1201: (RequestRejected, Text("kling.1201"), None),
    1202: (NotFound, Text("kling.1202"), None),
    1203: (NotFound, Text("kling.1203"), None),
    1300: (RequestRejected, Text("kling.1300"), Text("hint.try_another_photo_voice_or_prompt")),
    1301: (RequestRejected, Text("kling.1301"), Text("hint.try_another_photo_voice_or_prompt")),
    1302: (RateLimited, Text("kling.1302"), Text("hint.wait_a_moment_and_try_again")),
    1303: (CapacityError, Text("kling.1303"), Text("hint.wait_for_a_running_task_to_finish")),
    1304: (AuthError, Text("kling.1304"), Text("hint.update_the_ip_whitelist")),
    5000: (ServerError, Text("kling.5000"), Text("hint.try_again_later")),
    5001: (ServerError, Text("kling.5001"), Text("hint.try_again_later")),
    5002: (ServerError, Text("kling.5002"), Text("hint.try_again_later")),
}

_HTTP_CLASSES: dict[int, type[GatewayError]] = {
    400: RequestRejected,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    422: RequestRejected,
}
#: What to do about a refusal that came without a business code of Kling's (an envelope, or a bare HTTP status).
_HINTS: dict[type[GatewayError], Text] = {
    AuthError: Text("hint.check_the_api_key"),
    RequestRejected: Text("hint.check_inputs"),
}


def _refusal(cls: type[GatewayError], label: str, message: str, response: httpx.Response, **extra: object) -> GatewayError:
    return cls(label, message, status_code=response.status_code, hint=_HINTS.get(cls), **extra)  # type: ignore[arg-type]


def _from_code(label: str, response: httpx.Response, code: int, detail: str, request_id: str | None) -> GatewayError:
    cls, summary, hint = KLING_CODES[code]
    # 1200/1201 only say "invalid"; the gateway's own words say which parameter.
    if code in (1200, 1201) and detail:
        summary = Text("gw.with_detail", summary=summary, detail=detail)
    return cls(
        label,
        summary,
        status_code=response.status_code,
        code=code,
        request_id=request_id,
        retry_after=retry_after_seconds(response.headers),
        hint=hint,
    )


def kling_error(label: str, response: httpx.Response, body: Any) -> GatewayError | None:
    """Map a Kling-shaped reply to an error, or None for a success (HTTP 2xx with code 0).

    Two rules beside the tables: a 2xx create that names a task is a created task whatever its status word
    (parse_kling_task; a 2xx that cannot be read is UnclearReply, in GatewayHTTP), and a business code the
    table does not know is a refusal only on a 4xx: on a 2xx or 5xx it is unclear (unknown_code).
    """
    if isinstance(body, dict):
        envelope = body.get("error")
        if isinstance(envelope, dict):
            # CometAPI's own envelope: {"error": {"message", "type", "code"}}.
            message = str(envelope.get("message") or "") or Text("gw.refused")
            if response.status_code >= 500 and envelope.get("code") == "invalid_request":
                return _refusal(RequestRejected, label, message, response)
            cls = _HTTP_CLASSES.get(response.status_code)
            return _refusal(cls, label, message, response) if cls else status_error(label, response, message)
        inner = body.get("data")
        if isinstance(inner, dict) and isinstance(inner.get("data"), dict) and "code" in inner["data"]:
            # CometAPI wraps upstream Kling errors: {"message", "data": {"data": {code, message}}}.
            body = inner["data"]
        code = body.get("code")
        if code == 0 and response.is_success:
            return None
        detail = str(body.get("message") or "")
        if isinstance(code, int) and code in KLING_CODES:
            return _from_code(label, response, code, detail, body.get("request_id"))
        if code not in (None, 0):
            cls = _HTTP_CLASSES.get(response.status_code)
            if cls is None:
                return unknown_code(label, response, detail or None, code)
            return _refusal(cls, label, detail or Text("gw.refused"), response, code=code)
    if not response.is_success:
        cls = _HTTP_CLASSES.get(response.status_code)
        if cls:
            return _refusal(cls, label, Text("gw.http", status=response.status_code), response)
        return status_error(label, response)
    return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_kling_task(label: str, data: Any) -> TaskState:
    """Turn a Kling task object into a TaskState; raises UnexpectedReply when fields are missing."""
    if not isinstance(data, dict) or not data.get("task_id"):
        raise UnexpectedReply(label, Text("gw.no_task"))
    word = data.get("task_status")
    status = parse_status(word, KLING_STATUS)
    videos = (data.get("task_result") or {}).get("videos") or []
    video = videos[0] if videos and isinstance(videos[0], dict) else {}
    if status is Status.DONE and not video.get("url"):
        raise UnexpectedReply(label, Text("gw.no_video", task=str(data["task_id"])))
    created_ms = _float(data.get("created_at"))
    return TaskState(
        task_id=str(data["task_id"]),
        status=status,
        raw_status=raw_word(word),
        video_url=video.get("url"),
        duration_s=_float(video.get("duration")),
        charged=_float(data.get("final_unit_deduction")),
        message=data.get("task_status_msg") or None,
        external_task_id=(data.get("task_info") or {}).get("external_task_id") or None,
        created_at=created_ms / 1000 if created_ms else None,
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
        data = reply.get("data") or {}
        audios = (data.get("task_result") or {}).get("audios") or []
        if not audios or not audios[0].get("id"):
            raise UnexpectedReply(self.label, Text("gw.no_audio_id"))
        return TtsResult(audio_id=str(audios[0]["id"]), url=audios[0].get("url"), duration_s=_float(audios[0].get("duration")))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
