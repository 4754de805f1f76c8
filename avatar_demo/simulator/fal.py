"""Simulated fal.ai queue: submit by model id, then per-request status, result and cancel URLs under owner/app."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..providers.spec import ProviderSpec
from .common import apply_latency, base_of, odd_create_reply, video_response
from .media import MediaProblem
from .state import SimTask, SimulatorState

__all__ = ["fal_app"]

#: fal's model ids for Kling AI Avatar v2, by the mode they render.
MODELS = {"fal-ai/kling-video/ai-avatar/v2/standard": "std", "fal-ai/kling-video/ai-avatar/v2/pro": "pro"}
APP = "fal-ai/kling-video"
_WORDS = {"queued": "IN_QUEUE", "running": "IN_PROGRESS", "succeeded": "COMPLETED", "failed": "COMPLETED"}


def _reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    # fal puts a request id on every reply; its own client treats a 5xx without one as an ingress error.
    return JSONResponse(body, status_code=status, headers={"x-fal-request-id": str(uuid.uuid4()), **(headers or {})})


def _invalid(field: str, message: str) -> JSONResponse:
    return _reply({"detail": [{"loc": ["body", field], "msg": message, "type": "value_error"}]}, 422)


def _data_uri(value: str, field: str) -> bytes:
    head, _, data = value.partition(",")
    if not head.endswith(";base64"):
        raise MediaProblem(f"{field} data URI must be base64")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MediaProblem(f"{field} data URI is not valid base64") from None


def fal_app(state: SimulatorState, spec: ProviderSpec) -> Starlette:
    """fal's queue API for the avatar models, mounted at /<name> (so FAL_BASE_URL=http://host:port/<name>)."""
    def key_ok(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Key ") and state.key_ok(spec.name, header[4:].strip())

    def urls(base: str, request_id: str) -> dict[str, str]:
        root = f"{base}/{APP}/requests/{request_id}"
        return {"response_url": root, "status_url": f"{root}/status", "cancel_url": f"{root}/cancel"}

    def output(task: SimTask, base: str) -> dict[str, Any]:
        return {"video": {"url": f"{base}/videos/{task.task_id}.mp4", "content_type": "video/mp4",
                          "file_name": "output.mp4", "file_size": None},
                "duration": round(task.audio_s, 2)}

    async def fetch(value: Any, field: str) -> bytes:
        if not isinstance(value, str) or not value:
            raise MediaProblem(f"{field}: field required")
        if value.startswith("data:"):
            return _data_uri(value, field)
        if not value.startswith(("http://", "https://")):
            raise MediaProblem(f"{field} must be a URL or a data URI")
        return await state.media.fetch(value, field)

    async def submit(request: Request) -> Response:
        await apply_latency(state)
        if not key_ok(request):
            return _reply({"detail": "Authentication is required to access this application."}, 401)
        mode = MODELS.get(request.path_params["model"])
        if mode is None:
            return _reply({"detail": "Application not found"}, 404)
        try:
            body = await request.json()
        except ValueError:
            return _reply({"detail": "Request body is not JSON"}, 400)
        try:
            image = await fetch(body.get("image_url"), "image_url")
            state.media.check_image(image)
        except MediaProblem as exc:
            return _invalid("image_url", str(exc))
        try:
            audio = await fetch(body.get("audio_url"), "audio_url")
            seconds = await state.media.check_audio(audio, spec.max_audio_s)
        except MediaProblem as exc:
            return _invalid("audio_url", str(exc))
        if state.over_capacity(spec.name):
            return _reply({"detail": "Rate limit exceeded"}, 429, {"Retry-After": "1"})
        if state.take("refused_creates"):
            return _invalid("prompt", "content moderation")
        task = state.add_task(spec.name, audio=audio, audio_s=seconds, mode=mode, prompt=body.get("prompt") or "",
                              callback_url=request.query_params.get("fal_webhook") or None, id_style="uuid")
        base = base_of(request)
        if task.callback_url:
            state.spawn(state.send_callbacks(task, lambda t: webhook(t, base)))
        accepted = {"request_id": task.task_id, **urls(base, task.task_id), "queue_position": 0, "status": "IN_QUEUE"}
        if state.take("ambiguous_creates"):
            return odd_create_reply(state, accepted=accepted, word_at=("status",),
                                    timeout=_reply({"detail": "timeout"}, 504),
                                    unknown_code=_reply({"detail": "upstream busy", "code": "E_UPSTREAM"}, 500))
        return _reply(accepted)

    def webhook(task: SimTask, base: str) -> dict[str, Any] | None:
        phase = task.phase(time.monotonic())
        if phase == "succeeded":
            return {"request_id": task.task_id, "gateway_request_id": task.task_id, "status": "OK",
                    "payload": output(task, base)}
        if phase == "failed":
            return {"request_id": task.task_id, "gateway_request_id": task.task_id, "status": "ERROR",
                    "error": "Invalid status code: 422", "payload": {"detail": [{"msg": "content moderation"}]}}
        return None

    def lookup(request: Request) -> SimTask | None:
        return state.find(spec.name, request.path_params["request_id"])

    async def status(request: Request) -> Response:
        await apply_latency(state)
        if not key_ok(request):
            return _reply({"detail": "Authentication is required to access this application."}, 401)
        fault = state.poll_fault()
        if fault == "429":
            return _reply({"detail": "Rate limit exceeded"}, 429, {"Retry-After": f"{state.faults.retry_after_s:g}"})
        if fault == "5xx":
            return _reply({"detail": "Internal server error"}, 500)
        task = lookup(request)
        if task is None:
            return _reply({"detail": "Request not found"}, 404)
        if request.query_params.get("logs", "0") not in ("0", "1", "true", "false"):
            return _reply({"detail": "logs must be a boolean"}, 422)
        state.count_poll(task)
        phase = task.phase(time.monotonic())
        word = _WORDS[phase]
        body: dict[str, Any] = {"status": word, "request_id": task.task_id, **urls(base_of(request), task.task_id)}
        if word == "IN_QUEUE":
            body["queue_position"] = 0
            return _reply(body, 202)
        body["logs"] = None
        if word == "IN_PROGRESS":
            return _reply(body, 202)
        body["metrics"] = {"inference_time": task.duration_s}
        if phase == "failed":
            body["error"] = "Generation failed: content moderation"
            body["error_type"] = "content_policy_violation"
        return _reply(body)

    async def result(request: Request) -> Response:
        await apply_latency(state)
        if not key_ok(request):
            return _reply({"detail": "Authentication is required to access this application."}, 401)
        task = lookup(request)
        if task is None:
            return _reply({"detail": "Request not found"}, 404)
        phase = task.phase(time.monotonic())
        if phase in ("queued", "running"):
            return _reply({"detail": "Request is still in progress"}, 400)
        if phase == "failed":
            return _reply({"detail": [{"loc": ["body"], "msg": "content moderation", "type": "content_policy"}]}, 422)
        return _reply(output(task, base_of(request)))

    async def cancel(request: Request) -> Response:
        if not key_ok(request):
            return _reply({"detail": "Authentication is required to access this application."}, 401)
        task = lookup(request)
        if task is None:
            return _reply({"status": "NOT_FOUND"}, 404)
        if task.phase(time.monotonic()) in ("succeeded", "failed"):
            return _reply({"status": "ALREADY_COMPLETED"}, 400)
        state.cancelled.add(task.task_id)
        return _reply({"status": "CANCELLATION_REQUESTED"}, 202)

    async def video(request: Request) -> Response:
        return await video_response(state, request)

    return Starlette(routes=[
        Route(f"/{APP}/requests/{{request_id}}/status", status, methods=["GET"]),
        Route(f"/{APP}/requests/{{request_id}}/cancel", cancel, methods=["PUT"]),
        Route(f"/{APP}/requests/{{request_id}}", result, methods=["GET"]),
        Route("/videos/{task_id}.mp4", video, methods=["GET"]),
        Route("/{model:path}", submit, methods=["POST"]),
    ])
