"""Modellix: its own create path, a generic task endpoint, and {code: <HTTP status>} errors."""

from __future__ import annotations

from typing import Any

import httpx

from ..core.errors import (
    AuthError,
    CapacityError,
    GatewayError,
    NotFound,
    QuotaError,
    RequestRejected,
    UnclearReply,
    UnexpectedReply,
)
from ..core.status import Status
from ..core.text import Text
from .base import AvatarRequest, TaskState, parse_status, raw_word
from .http import GatewayHTTP, retry_after_seconds, status_error, unknown_code
from .kling_family import b64
from .spec import KLING_LIST_PRICE, ProviderConfig, ProviderOptions, ProviderSpec

__all__ = ["MODELLIX_STATUS", "SPEC", "ModellixProvider", "modellix_error", "parse_modellix_task"]

SPEC = ProviderSpec(
    name="modellix", label="Modellix", implementation="modellix:ModellixProvider",
    key_groups=(("MODELLIX_API_KEY",),), default_base_url="https://api.modellix.ai", max_audio_s=300.0,
    # Modellix publishes no avatar price; estimates use Kling's list price.
    pricing=KLING_LIST_PRICE, contract="modellix",
    # Modellix publishes no parallel limit (it answers 429 past it): a conservative figure.
    max_parallel=3,
    # "In the Modellix console, go to API Key and create an API Key" (docs.modellix.ai, REST API steps).
    key_url="https://modellix.ai/console/api-key",
)
MODELLIX_STATUS = {"pending": Status.RUNNING, "success": Status.DONE, "failed": Status.FAILED}
LABEL = SPEC.label

_CODES: dict[int, tuple[type[GatewayError], Text | None]] = {
    400: (RequestRejected, None),
    401: (AuthError, Text("hint.check_the_api_key")),
    402: (QuotaError, Text("hint.top_up_modellix")),
    403: (AuthError, Text("hint.check_key_permissions")),
    404: (NotFound, None),
    # Modellix asks clients to back off on 429 and 503; on a create both are refusals, waited out.
    429: (CapacityError, Text("hint.wait_then_retry")),
    503: (CapacityError, Text("hint.wait_then_retry")),
}


def modellix_error(response: httpx.Response, body: Any) -> GatewayError | None:
    """Map a Modellix reply to an error, or None for a success.

    Modellix's body `code` repeats an HTTP status. Two rules beside the table: a 2xx create that names a task is
    a created task whatever its status word (parse_modellix_task; a 2xx that cannot be read is UnclearReply, in
    GatewayHTTP), and a code the table does not know is a refusal only on a 4xx: on a 2xx or 5xx it is unclear.
    """
    code = body.get("code") if isinstance(body, dict) else None
    if response.is_success and code == 0:
        return None
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    # A code that repeats the HTTP status says nothing more than the status does.
    known = isinstance(code, int) and (code in _CODES or code == response.status_code)
    if not known and (response.is_success or (code is not None and response.status_code >= 500)):
        return unknown_code(LABEL, response, message or None, code)
    status = code if isinstance(code, int) and code >= 400 else response.status_code
    if status in _CODES:
        cls, hint = _CODES[status]
        return cls(LABEL, message or Text("gw.http", status=status), status_code=response.status_code, code=status, hint=hint,
                   retry_after=retry_after_seconds(response.headers))
    if status >= 500:
        return status_error(LABEL, response, message or None)
    return UnexpectedReply(LABEL, message or Text("gw.unexpected", status=response.status_code),
                           status_code=response.status_code)


def parse_modellix_task(data: Any) -> TaskState:
    """Turn a Modellix task object into a TaskState."""
    if not isinstance(data, dict) or not data.get("task_id"):
        raise UnexpectedReply(LABEL, Text("gw.no_task"))
    word = data.get("status")
    status = parse_status(word, MODELLIX_STATUS)
    resources = (data.get("result") or {}).get("resources") or []
    videos = [r for r in resources if isinstance(r, dict) and r.get("type") == "video"] or resources
    url = videos[0].get("url") if videos else None
    if status is Status.DONE and not url:
        raise UnexpectedReply(LABEL, Text("gw.no_video", task=str(data["task_id"])))
    duration = videos[0].get("duration") if videos else None
    return TaskState(
        task_id=str(data["task_id"]),
        status=status,
        raw_status=raw_word(word),
        video_url=url,
        duration_s=float(duration) if isinstance(duration, (int, float)) else None,
        message=data.get("error") or data.get("message") or None,
    )


class ModellixProvider:
    """Kling Avatar through Modellix (no external ids, no callbacks: a create is never re-sent)."""

    spec = SPEC
    create_path = "/api/v1/image-to-video/kling/kling-avatar/async"

    def __init__(self, config: ProviderConfig, options: ProviderOptions) -> None:
        config.require_key()
        key = config.credential("MODELLIX_API_KEY")
        self.http = GatewayHTTP(
            LABEL,
            config.base_url,
            headers=lambda: {"Authorization": f"Bearer {key}"},
            error_mapper=modellix_error,
            read_retry=options.read_retry,
            transport=options.transport,
        )

    async def create(self, request: AvatarRequest) -> TaskState:
        """Send one create (Modellix has no idempotency key: never re-sent after an unclear answer)."""
        body: dict[str, Any] = {"image": b64(request.image), "mode": request.mode}
        if request.audio is not None:
            body["sound_file"] = b64(request.audio)
        else:
            body["audio_id"] = request.audio_id
        if request.prompt.strip():
            # Modellix wants 1-2500 characters when present: omit rather than send "".
            body["prompt"] = request.prompt.strip()
        reply = await self.http.send("POST", self.create_path, json=body)
        data = reply.get("data")
        if not isinstance(data, dict) or not data.get("task_id"):
            raise UnclearReply(LABEL, Text("gw.no_task_id"))
        return parse_modellix_task(data)

    async def get(self, task_id: str) -> TaskState:
        """Read one task."""
        reply = await self.http.read(f"/api/v1/tasks/{task_id}")
        return parse_modellix_task(reply.get("data"))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
