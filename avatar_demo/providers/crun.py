"""crun.ai: a generic job API that takes media by URL only, with x-api-key auth."""

from __future__ import annotations

from typing import Any

import httpx

from ..core.errors import (
    AuthError,
    CapacityError,
    ConfigError,
    GatewayError,
    NotFound,
    QuotaError,
    RequestRejected,
    ServerError,
    UnclearReply,
    UnexpectedReply,
)
from ..core.status import Status
from ..core.text import Text
from .base import AvatarRequest, TaskState, parse_status, raw_word
from .http import GatewayHTTP, retry_after_seconds, status_error, unknown_code
from .spec import KLING_LIST_PRICE, Pricing, ProviderConfig, ProviderOptions, ProviderSpec

__all__ = ["CRUN_CODES", "CRUN_STATUS", "SPEC", "CrunProvider", "crun_error", "parse_crun_task"]

SPEC = ProviderSpec(
    name="crun", label="crun.ai", implementation="crun:CrunProvider", key_groups=(("CRUN_API_KEY",),),
    default_base_url="https://api.crun.ai", max_audio_s=300.0,
    # crun bills in credits and publishes no avatar rate: estimates assume Kling's list price, a credit per unit.
    pricing=Pricing(KLING_LIST_PRICE.per_second, currency="credits", unit_meaning=Text("unit.crun")), callbacks=True,
    public_media=True, contract="crun",
    # The dashboard where API keys are made (its docs only say "your API key").
    key_url="https://crun.ai/dashboard",
    # crun publishes no parallel limit (it answers 429 past it): a conservative figure.
    max_parallel=3,
)
CRUN_STATUS = {"pending": Status.QUEUED, "running": Status.RUNNING, "success": Status.DONE, "failed": Status.FAILED}
LABEL = SPEC.label

CRUN_CODES: dict[int, tuple[type[GatewayError], Text, Text | None]] = {
    401: (AuthError, Text("crun.401"), Text("hint.check_crun_key")),
    402: (QuotaError, Text("crun.402"), Text("hint.top_up_crun")),
    403: (AuthError, Text("crun.403"), Text("hint.replace_key")),
    404: (NotFound, Text("crun.404"), None),
    422: (RequestRejected, Text("crun.422"), None),
    429: (CapacityError, Text("crun.429"), Text("hint.wait_then_retry")),
    # Maintenance is a refusal, not a failure mid-request: wait it out like a capacity refusal.
    455: (CapacityError, Text("crun.455"), Text("hint.try_again_later")),
    500: (ServerError, Text("crun.500"), Text("hint.try_again_later")),
    501: (RequestRejected, Text("crun.501"), Text("hint.try_another_photo_voice_or_prompt")),
    505: (RequestRejected, Text("crun.505"), Text("hint.switch_provider")),
}


def crun_error(response: httpx.Response, body: Any) -> GatewayError | None:
    """Map a crun reply to an error, or None for a success (code 200).

    Two rules beside the table: a 2xx create that names a task is a created task whatever its status word
    (CrunProvider.create; a 2xx that cannot be read is UnclearReply, in GatewayHTTP), and a business code the
    table does not know is a refusal only on a 4xx: on a 2xx or 5xx it is unclear (unknown_code).
    """
    code = body.get("code") if isinstance(body, dict) else None
    if response.is_success and code == 200:
        return None
    detail = str(body.get("message") or "") if isinstance(body, dict) else ""
    known = isinstance(code, int) and code in CRUN_CODES
    if not known and (response.is_success or (code is not None and response.status_code >= 500)):
        return unknown_code(LABEL, response, detail or None, code)
    key = code if isinstance(code, int) and code in CRUN_CODES else response.status_code
    if key in CRUN_CODES:
        cls, summary, hint = CRUN_CODES[key]
        if detail and detail.lower() not in summary.lower():
            summary = Text("gw.with_detail", summary=summary, detail=detail)
        return cls(LABEL, summary, status_code=response.status_code, code=key,
                   retry_after=retry_after_seconds(response.headers), hint=hint)
    return status_error(LABEL, response)


def parse_crun_task(data: Any) -> TaskState:
    """Turn crun's TaskInfo data into a TaskState; `status`, not result.code, decides."""
    if not isinstance(data, dict) or not data.get("task_id"):
        raise UnexpectedReply(LABEL, Text("gw.no_task"))
    word = data.get("status")
    status = parse_status(word, CRUN_STATUS)
    result = data.get("result") or {}
    urls = result.get("media_urls") or []
    if status is Status.DONE and not urls:
        raise UnexpectedReply(LABEL, Text("gw.no_video", task=str(data["task_id"])))
    credits = data.get("credits")
    return TaskState(
        task_id=str(data["task_id"]),
        status=status,
        raw_status=raw_word(word),
        video_url=urls[0] if urls else None,
        charged=float(credits) if isinstance(credits, (int, float)) and status.terminal else None,
        message=result.get("message") if status is Status.FAILED else None,
    )


class CrunProvider:
    """Kling Avatar through crun.ai, which fetches media by URL (the runner publishes them first)."""

    spec = SPEC

    def __init__(self, config: ProviderConfig, options: ProviderOptions) -> None:
        config.require_key()
        key = config.credential("CRUN_API_KEY") or ""
        self.http = GatewayHTTP(
            LABEL,
            config.base_url,
            headers=lambda: {"x-api-key": key},
            error_mapper=crun_error,
            read_retry=options.read_retry,
            transport=options.transport,
        )

    async def create(self, request: AvatarRequest) -> TaskState:
        """Send one create (crun has no idempotency key: never re-sent after an unclear answer)."""
        if not (request.image_url and request.audio_url):
            raise ConfigError(Text("crun.needs_urls"))
        inputs: dict[str, Any] = {"mode": request.mode, "image_url": request.image_url, "audio_url": request.audio_url}
        if request.prompt.strip():
            inputs["prompt"] = request.prompt.strip()
        body: dict[str, Any] = {"model": "kling/avatar", "input": inputs}
        if request.callback_url:
            body["callback_url"] = request.callback_url
        reply = await self.http.send("POST", "/api/v1/client/job/CreateTask", json=body)
        data = reply.get("data")
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if not task_id:
            # Accepted, yet no task named: it may exist all the same (its callback will say).
            raise UnclearReply(LABEL, Text("gw.no_task_id"))
        # Whatever status word came with it (crun's create answers only the id), the task was made.
        return TaskState(task_id=str(task_id), status=Status.QUEUED, raw_status=raw_word(data.get("status")))

    async def get(self, task_id: str) -> TaskState:
        """Read one task."""
        reply = await self.http.read("/api/v1/client/job/TaskInfo", params={"task_id": task_id})
        return parse_crun_task(reply.get("data"))

    def callback_status(self, payload: Any) -> Status | None:
        """crun posts the TaskInfo data, bare or wrapped in "data", when a task completes."""
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
            payload = payload["data"]
        word = payload.get("status") if isinstance(payload, dict) else None
        return CRUN_STATUS.get(word) if isinstance(word, str) else None

    def callback_task_id(self, payload: Any) -> str | None:
        """The `task_id` of the TaskInfo data the callback carries."""
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
            payload = payload["data"]
        found = payload.get("task_id") if isinstance(payload, dict) else None
        return str(found) if found else None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
