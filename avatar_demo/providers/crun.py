"""crun.ai: a generic job API that takes media by URL only, with x-api-key auth."""

from __future__ import annotations

from typing import Any

import httpx

from ..config import ProviderConfig
from ..errors import (
    AuthError,
    CapacityError,
    ConfigError,
    GatewayError,
    InputError,
    NotFound,
    QuotaError,
    RequestRejected,
    ServerError,
    UnexpectedReply,
)
from ..hosting import MediaHost
from .base import AvatarRequest, Status, TaskState, TtsRequest, TtsResult, parse_status
from .http import GatewayHTTP, ReadRetry, retry_after_seconds, status_error

__all__ = ["CRUN_CODES", "CRUN_STATUS", "CrunProvider", "crun_error", "parse_crun_task"]

CRUN_STATUS = {"pending": Status.QUEUED, "running": Status.RUNNING, "success": Status.SUCCEEDED, "failed": Status.FAILED}
LABEL = "crun.ai"

CRUN_CODES: dict[int, tuple[type[GatewayError], str, str | None]] = {
    401: (AuthError, "unauthorized: the API key is missing or invalid", "check CRUN_API_KEY"),
    402: (QuotaError, "insufficient credits", "top up crun.ai credits or switch provider"),
    403: (AuthError, "the API key is disabled", "enable or replace the key"),
    404: (NotFound, "not found", None),
    422: (RequestRejected, "validation error", None),
    429: (CapacityError, "rate limited", "wait, then try again"),
    455: (ServerError, "under maintenance", "try again later"),
    500: (ServerError, "server error", "try again later"),
    501: (RequestRejected, "generation failed", "try another photo, voice or prompt"),
    505: (RequestRejected, "the feature is disabled", "switch provider"),
}


def crun_error(response: httpx.Response, body: Any) -> GatewayError | None:
    """Map a crun reply to an error, or None for a success (code 200)."""
    code = body.get("code") if isinstance(body, dict) else None
    if response.is_success and code == 200:
        return None
    key = code if isinstance(code, int) and code in CRUN_CODES else response.status_code
    if key in CRUN_CODES:
        cls, summary, hint = CRUN_CODES[key]
        detail = str(body.get("message") or "") if isinstance(body, dict) else ""
        if detail and detail.lower() not in summary:
            summary = f"{summary}: {detail}"
        return cls(LABEL, summary, status_code=response.status_code, code=key,
                   retry_after=retry_after_seconds(response.headers), hint=hint)
    return status_error(LABEL, response)


def parse_crun_task(data: Any) -> TaskState:
    """Turn crun's TaskInfo data into a TaskState; `status`, not result.code, decides."""
    if not isinstance(data, dict) or not data.get("task_id"):
        raise UnexpectedReply(LABEL, "reply has no task")
    word = data.get("status")
    status = parse_status(LABEL, word, CRUN_STATUS)
    result = data.get("result") or {}
    urls = result.get("media_urls") or []
    if status is Status.SUCCEEDED and not urls:
        raise UnexpectedReply(LABEL, f"task {data['task_id']} succeeded but names no video")
    credits = data.get("credits")
    return TaskState(
        task_id=str(data["task_id"]),
        status=status,
        raw_status=str(word),
        video_url=urls[0] if urls else None,
        units=float(credits) if isinstance(credits, (int, float)) and status.terminal else None,
        message=result.get("message") if status is Status.FAILED else None,
    )


class CrunProvider:
    """Kling Avatar through crun.ai; prepared media are published to a URL first."""

    name = "crun"
    label = LABEL
    max_audio_s = 300.0
    supports_external_id = False
    supports_callback = True
    supports_tts = False

    def __init__(
        self,
        config: ProviderConfig,
        *,
        media_host: MediaHost | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        read_retry: ReadRetry | None = None,
    ) -> None:
        config.require_key()
        if media_host is None:
            raise ConfigError(
                "crun.ai fetches media by URL: set AVATAR_PUBLIC_URL to this app's public address, "
                "or AVATAR_HF_DATASET (with HF_TOKEN) to publish through a Hugging Face dataset"
            )
        self.config = config
        self.media_host = media_host
        self.http = GatewayHTTP(
            LABEL,
            config.base_url,
            headers=lambda: {"x-api-key": config.api_key or ""},
            error_mapper=crun_error,
            read_retry=read_retry,
            transport=transport,
        )

    async def create(self, request: AvatarRequest) -> TaskState:
        """Publish the media, then send one create (crun has no idempotency key: never re-sent)."""
        if request.audio is None:
            raise InputError("crun.ai takes an audio file, not a text-to-speech audio id")
        inputs: dict[str, Any] = {
            "mode": request.mode,
            "image_url": await self.media_host.publish(request.image),
            "audio_url": await self.media_host.publish(request.audio),
        }
        if request.prompt.strip():
            inputs["prompt"] = request.prompt.strip()
        body: dict[str, Any] = {"model": "kling/avatar", "input": inputs}
        if request.callback_url:
            body["callback_url"] = request.callback_url
        reply = await self.http.send("POST", "/api/v1/client/job/CreateTask", json=body)
        task_id = (reply.get("data") or {}).get("task_id")
        if not task_id:
            raise UnexpectedReply(LABEL, "create reply has no task id")
        return TaskState(task_id=str(task_id), status=Status.QUEUED, raw_status="pending")

    async def get(self, task_id: str) -> TaskState:
        """Read one task."""
        reply = await self.http.read("/api/v1/client/job/TaskInfo", params={"task_id": task_id})
        return parse_crun_task(reply.get("data"))

    async def find_external(self, external_task_id: str) -> TaskState | None:
        """crun has no external ids."""
        return None

    async def list_tasks(self, page: int = 1, size: int = 30) -> list[TaskState]:
        """crun documents no task list."""
        raise ConfigError("crun.ai does not offer a task list; see the app's history instead")

    async def tts(self, request: TtsRequest) -> TtsResult:
        """crun has no text-to-speech for avatars."""
        raise ConfigError("Text to speech is available on Kling, CometAPI and KKIAI, not crun.ai")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
