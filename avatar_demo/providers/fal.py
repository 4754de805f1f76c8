"""fal.ai's queue API for Kling AI Avatar v2: submit, then poll the request's status and fetch its result."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

import httpx

from ..core.errors import (
    AuthError,
    GatewayError,
    NotFound,
    QuotaError,
    RateLimited,
    RequestRejected,
    UnclearReply,
    UnexpectedReply,
)
from ..core.status import Status
from ..core.text import Text
from .base import AvatarRequest, TaskState, parse_status, raw_word
from .http import GatewayHTTP, retry_after_seconds, status_error
from .spec import KLING_UNIT_USD, Pricing, ProviderConfig, ProviderOptions, ProviderSpec

__all__ = ["FAL_STATUS", "MODELS", "SPEC", "FalProvider", "fal_error", "parse_fal_status"]

SPEC = ProviderSpec(
    name="fal", label="fal.ai", implementation="fal:FalProvider", key_groups=(("FAL_KEY",),),
    default_base_url="https://queue.fal.run",
    # fal publishes no audio limit for this model; Kling's resellers document 2-60 s, and a refused
    # request may still be billed on fal, so stay inside the documented range.
    max_audio_s=60.0,
    pricing=Pricing({"std": 0.0562, "pro": 0.115}, currency="USD", units_per_currency=1 / KLING_UNIT_USD),
    callbacks=True, public_media=True, cancel=True, contract="fal",
    # fal's documentation: new accounts run 2 requests at once (more as credits are bought); fal queues the rest.
    max_parallel=2,
    # "Navigate to fal.ai/dashboard/keys … Create Key" (fal's authentication docs).
    key_url="https://fal.ai/dashboard/keys",
)
#: The model per mode; fal's per-request URLs use only the owner/app part (APP).
MODELS = {"std": "fal-ai/kling-video/ai-avatar/v2/standard", "pro": "fal-ai/kling-video/ai-avatar/v2/pro"}
APP = "fal-ai/kling-video"
FAL_STATUS = {"IN_QUEUE": Status.QUEUED, "IN_PROGRESS": Status.RUNNING, "COMPLETED": Status.DONE}
LABEL = SPEC.label


def fal_error(response: httpx.Response, body: Any) -> GatewayError | None:
    """Map a fal reply to an error, or None for a success (any 2xx; 202 means still running).

    fal sends no business codes, so an unknown one cannot arise; the other rule holds as everywhere: a 2xx
    submit that names a request is a created task whatever its status word (FalProvider.create; a 2xx that
    cannot be read is UnclearReply, in GatewayHTTP), and any 5xx is a server error (unclear), never a refusal.
    """
    if response.is_success:
        return None
    detail = _detail(body) or response.headers.get("x-fal-error-type") or ""
    code = response.status_code
    if code in (401, 403):
        # fal locks an account whose balance is exhausted with a 403 that says so.
        if "balance" in detail.lower():
            return QuotaError(LABEL, detail, status_code=code, hint=Text("hint.top_up_fal_or_switch"))
        return AuthError(LABEL, detail or Text("fal.key_refused"), status_code=code, hint=Text("hint.check_fal_key"))
    if code == 402:
        return QuotaError(LABEL, detail or Text("fal.payment_required"), status_code=code, hint=Text("hint.top_up_fal"))
    if code == 404:
        return NotFound(LABEL, detail or Text("fal.no_request"), status_code=code)
    if code in (400, 422):
        return RequestRejected(LABEL, detail or Text("gw.refused"), status_code=code)
    if code == 429:
        return RateLimited(LABEL, detail or Text("gw.too_many"), status_code=code,
                           retry_after=retry_after_seconds(response.headers))
    return status_error(LABEL, response, detail or None)


def _detail(body: Any) -> str:
    """fal's `detail`: a string, or a list of {loc, msg} validation errors."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc") or () if p != "body")
                parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
        return "; ".join(parts)
    return ""


def parse_fal_status(request_id: str, data: Any) -> TaskState:
    """A status reply as a TaskState; a COMPLETED request that carries an error has failed."""
    if not isinstance(data, dict):
        raise UnexpectedReply(LABEL, Text("gw.not_an_object"))
    word = data.get("status")
    status = parse_status(word, FAL_STATUS)
    error = data.get("error")
    if status is Status.DONE and error:
        return TaskState(request_id, Status.FAILED, raw_word(word), message=str(error))
    return TaskState(request_id, status, raw_word(word))


def _data_uri(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


class FalProvider:
    """Kling AI Avatar v2 through fal.ai; a submit has no idempotency key, so it is never re-sent."""

    spec = SPEC

    def __init__(self, config: ProviderConfig, options: ProviderOptions) -> None:
        config.require_key()
        key = config.credential("FAL_KEY")
        self.http = GatewayHTTP(
            LABEL,
            config.base_url,
            headers=lambda: {"Authorization": f"Key {key}"},
            error_mapper=fal_error,
            read_retry=options.read_retry,
            transport=options.transport,
        )

    async def create(self, request: AvatarRequest) -> TaskState:
        """Submit to the queue; media go as the published URLs, else as data URIs."""
        if request.audio is None:
            raise RequestRejected(LABEL, Text("fal.no_audio_id"))
        body: dict[str, Any] = {
            "image_url": request.image_url or _data_uri(request.image),
            "audio_url": request.audio_url or _data_uri(request.audio),
        }
        if request.prompt.strip():
            body["prompt"] = request.prompt.strip()
        params = {"fal_webhook": request.callback_url} if request.callback_url else None
        reply = await self.http.send("POST", f"/{MODELS[request.mode]}", json=body, params=params)
        request_id = reply.get("request_id")
        if not request_id:
            # Accepted, yet no request named: it may exist all the same (its webhook will say).
            raise UnclearReply(LABEL, Text("gw.no_task_id"))
        word = reply.get("status")
        # A known word as it reads; any other (or none) is a request made and waiting in the queue.
        status = FAL_STATUS[word] if isinstance(word, str) and word in FAL_STATUS else Status.QUEUED
        return TaskState(str(request_id), status, raw_word(word))

    async def get(self, task_id: str) -> TaskState:
        """The request's status, and once it has completed, its result."""
        # These are the status and response URLs the submit returns; fal's own client builds them the same way.
        state = parse_fal_status(task_id, await self.http.read(f"/{APP}/requests/{task_id}/status",
                                                               params={"logs": "0"}))
        if state.status is not Status.DONE:
            return state
        try:
            result = await self.http.read(f"/{APP}/requests/{task_id}")
        except RequestRejected as exc:
            return TaskState(task_id, Status.FAILED, "COMPLETED", message=exc.message)
        video = result.get("video") if isinstance(result, dict) else None
        if not isinstance(video, dict) or not video.get("url"):
            raise UnexpectedReply(LABEL, Text("gw.no_video", task=task_id))
        duration = result.get("duration")
        return TaskState(task_id, Status.DONE, "COMPLETED", video_url=str(video["url"]),
                         duration_s=float(duration) if isinstance(duration, (int, float)) else None)

    def callback_status(self, payload: Any) -> Status | None:
        """fal's webhook says OK or ERROR once the request has ended."""
        word = payload.get("status") if isinstance(payload, dict) else None
        return {"OK": Status.DONE, "ERROR": Status.FAILED}.get(word) if isinstance(word, str) else None

    def callback_task_id(self, payload: Any) -> str | None:
        """The webhook's `request_id`."""
        found = payload.get("request_id") if isinstance(payload, dict) else None
        return str(found) if found else None

    async def cancel(self, task_id: str) -> bool:
        """Ask fal to cancel a queued or running request; False when it had already completed."""
        try:
            reply = await self.http.send("PUT", f"/{APP}/requests/{task_id}/cancel")
        except RequestRejected:
            return False
        return isinstance(reply, dict) and reply.get("status") in ("CANCELLATION_REQUESTED", "OK")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()
