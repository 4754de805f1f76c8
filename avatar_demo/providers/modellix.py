"""Modellix: its own create path, a generic task endpoint, and {code: <HTTP status>} errors."""

from __future__ import annotations

from typing import Any

import httpx

from ..config import ProviderConfig
from ..errors import AuthError, ConfigError, GatewayError, NotFound, QuotaError, RequestRejected, UnexpectedReply
from .base import AvatarRequest, Status, TaskState, TtsRequest, TtsResult, parse_status
from .http import GatewayHTTP, ReadRetry, status_error
from .kling_family import b64

__all__ = ["MODELLIX_STATUS", "ModellixProvider", "modellix_error", "parse_modellix_task"]

MODELLIX_STATUS = {"pending": Status.RUNNING, "success": Status.SUCCEEDED, "failed": Status.FAILED}
LABEL = "Modellix"

_CODES: dict[int, tuple[type[GatewayError], str | None]] = {
    400: (RequestRejected, None),
    401: (AuthError, "check the API key"),
    402: (QuotaError, "top up the Modellix balance or switch provider"),
    403: (AuthError, "check the API key's permissions"),
    404: (NotFound, None),
}


def modellix_error(response: httpx.Response, body: Any) -> GatewayError | None:
    """Map a Modellix reply to an error, or None for a success."""
    code = body.get("code") if isinstance(body, dict) else None
    if response.is_success and code == 0:
        return None
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    status = code if isinstance(code, int) and code >= 400 else response.status_code
    if status in _CODES:
        cls, hint = _CODES[status]
        return cls(LABEL, message or f"HTTP {status}", status_code=response.status_code, code=status, hint=hint)
    if status == 429 or status >= 500:
        return status_error(LABEL, response, message or None)
    return UnexpectedReply(LABEL, message or f"unexpected reply (HTTP {response.status_code})", status_code=response.status_code)


def parse_modellix_task(data: Any) -> TaskState:
    """Turn a Modellix task object into a TaskState."""
    if not isinstance(data, dict) or not data.get("task_id"):
        raise UnexpectedReply(LABEL, "reply has no task")
    word = data.get("status")
    status = parse_status(LABEL, word, MODELLIX_STATUS)
    resources = (data.get("result") or {}).get("resources") or []
    videos = [r for r in resources if isinstance(r, dict) and r.get("type") == "video"] or resources
    url = videos[0].get("url") if videos else None
    if status is Status.SUCCEEDED and not url:
        raise UnexpectedReply(LABEL, f"task {data['task_id']} succeeded but names no video")
    duration = videos[0].get("duration") if videos else None
    return TaskState(
        task_id=str(data["task_id"]),
        status=status,
        raw_status=str(word),
        video_url=url,
        duration_s=float(duration) if isinstance(duration, (int, float)) else None,
        message=data.get("error") or data.get("message") or None,
    )


class ModellixProvider:
    """Kling Avatar through Modellix."""

    name = "modellix"
    label = LABEL
    max_audio_s = 300.0
    supports_external_id = False
    supports_callback = False
    supports_tts = False
    create_path = "/api/v1/image-to-video/kling/kling-avatar/async"

    def __init__(
        self,
        config: ProviderConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        read_retry: ReadRetry | None = None,
    ) -> None:
        config.require_key()
        self.config = config
        self.http = GatewayHTTP(
            LABEL,
            config.base_url,
            headers=lambda: {"Authorization": f"Bearer {config.api_key}"},
            error_mapper=modellix_error,
            read_retry=read_retry,
            transport=transport,
        )

    async def create(self, request: AvatarRequest) -> TaskState:
        """Send one create (Modellix has no idempotency key: never re-sent)."""
        body: dict[str, Any] = {"image": b64(request.image), "mode": request.mode}
        if request.audio is not None:
            body["sound_file"] = b64(request.audio)
        else:
            body["audio_id"] = request.audio_id
        if request.prompt.strip():
            # Modellix wants 1-2500 characters when present: omit rather than send "".
            body["prompt"] = request.prompt.strip()
        reply = await self.http.send("POST", self.create_path, json=body)
        return parse_modellix_task(reply.get("data"))

    async def get(self, task_id: str) -> TaskState:
        """Read one task."""
        reply = await self.http.read(f"/api/v1/tasks/{task_id}")
        return parse_modellix_task(reply.get("data"))

    async def find_external(self, external_task_id: str) -> TaskState | None:
        """Modellix has no external ids."""
        return None

    async def list_tasks(self, page: int = 1, size: int = 30) -> list[TaskState]:
        """Modellix documents no task list."""
        raise ConfigError("Modellix does not offer a task list; see the app's history instead")

    async def tts(self, request: TtsRequest) -> TtsResult:
        """Modellix has no text-to-speech for avatars."""
        raise ConfigError("Text to speech is available on Kling, CometAPI and KKIAI, not Modellix")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
