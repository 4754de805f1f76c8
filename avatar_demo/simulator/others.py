"""Simulated Modellix and crun.ai: their own routes, statuses and error envelopes."""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..providers.base import MODES
from ..providers.spec import ProviderSpec
from .common import apply_latency, base_of, bearer, odd_create_reply, video_response
from .media import MediaProblem
from .state import SimTask, SimulatorState

__all__ = ["crun_app", "modellix_app"]

_MODELLIX_WORDS = {"queued": "pending", "running": "pending", "succeeded": "success", "failed": "failed"}
_CRUN_WORDS = {"queued": "pending", "running": "running", "succeeded": "success", "failed": "failed"}
#: Modellix's documentation shows three create paths; all are accepted.
MODELLIX_CREATE_PATHS = (
    "/api/v1/image-to-video/kling/kling-avatar/async",
    "/api/v1/kling/kling-avatar/async",
    "/api/v1/kling/kling-avatar",
)


def modellix_app(state: SimulatorState, spec: ProviderSpec) -> Starlette:
    """Modellix: {code: 0} successes, {code: <HTTP status>, message: "Category: detail"} errors."""

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)

    def task_json(task: SimTask, base: str) -> dict[str, Any]:
        phase = task.phase(time.monotonic())
        data: dict[str, Any] = {"status": _MODELLIX_WORDS[phase], "task_id": task.task_id, "model_id": "kling-avatar",
                                "duration": int((time.monotonic() - task.created) * 1000)}
        if phase == "succeeded":
            data["result"] = {"resources": [{"url": f"{base}/videos/{task.task_id}.mp4", "type": "video",
                                             "format": "mp4", "role": "primary", "duration": round(task.audio_s, 2)}],
                              "metadata": {"request_id": task.task_id}}
        if phase == "failed":
            data["error"] = "Generation failed: content moderation"
        return data

    async def create(request: Request) -> Response:
        await apply_latency(state)
        if not state.key_ok(spec.name, bearer(request)):
            return error(401, "Unauthorized: invalid API key")
        body = await request.json()
        image, sound, audio_id = body.get("image") or "", body.get("sound_file") or "", body.get("audio_id") or ""
        if not image or bool(sound) == bool(audio_id):
            return error(400, "Invalid parameters: image and exactly one of audio_id or sound_file are required")
        prompt = body.get("prompt")
        if prompt is not None and not 1 <= len(prompt) <= 2500:
            return error(400, "Invalid parameters: parameter 'prompt' must be 1-2500 characters")
        if audio_id:
            return error(400, "Invalid parameters: audio_id not found")
        try:
            state.media.check_image(await state.media.fetch(image, "image"))
            audio = await state.media.fetch(sound, "sound_file")
            seconds = await state.media.check_audio(audio, spec.max_audio_s)
        except MediaProblem as exc:
            return error(400, f"Invalid parameters: {exc}")
        if state.over_capacity(spec.name):
            return error(429, "Too many requests: concurrency limit reached", {"Retry-After": "1"})
        if state.take("refused_creates"):
            return error(400, "Invalid parameters: content moderation")
        task = state.add_task(spec.name, audio=audio, audio_s=seconds, mode=body.get("mode") or "std", prompt=prompt or "",
                              id_style="task-hex")
        accepted = {"code": 0, "message": "success", "data": {
            "status": "pending", "task_id": task.task_id, "model_id": "kling-avatar",
            "get_result": {"method": "GET", "url": f"{base_of(request)}/api/v1/tasks/{task.task_id}"}}}
        if state.take("ambiguous_creates"):
            return odd_create_reply(state, accepted=accepted, word_at=("data", "status"),
                                    timeout=error(500, "Internal error"),
                                    unknown_code=JSONResponse({"code": 422, "message": "Upstream: busy"},
                                                              status_code=500))
        return JSONResponse(accepted)

    async def query(request: Request) -> Response:
        await apply_latency(state)
        if not state.key_ok(spec.name, bearer(request)):
            return error(401, "Unauthorized: invalid API key")
        fault = state.poll_fault()
        if fault == "429":
            return error(429, "Too many requests", {"Retry-After": f"{state.faults.retry_after_s:g}"})
        if fault == "5xx":
            return error(500, "Internal error: please retry")
        task = state.find(spec.name, request.path_params["task_id"])
        if task is None:
            return error(404, "Not found: task does not exist")
        state.count_poll(task)
        return JSONResponse({"code": 0, "message": "success", "data": task_json(task, base_of(request))})

    async def video(request: Request) -> Response:
        return await video_response(state, request)

    return Starlette(routes=[
        *(Route(path, create, methods=["POST"]) for path in MODELLIX_CREATE_PATHS),
        Route("/api/v1/tasks/{task_id}", query, methods=["GET"]),
        Route("/videos/{task_id}.mp4", video, methods=["GET"]),
    ])


def crun_app(state: SimulatorState, spec: ProviderSpec) -> Starlette:
    """crun.ai: x-api-key, URL-only media, {code, message, data} with business codes."""

    def error(code: int, message: str, http: int | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"code": code, "message": message, "data": None}, status_code=http or code, headers=headers)

    def task_json(task: SimTask, base: str) -> dict[str, Any]:
        phase = task.phase(time.monotonic())
        terminal = phase in ("succeeded", "failed")
        result = None
        if phase == "succeeded":
            result = {"code": 200, "message": "success", "media_urls": [f"{base}/videos/{task.task_id}.mp4"], "usage": {}}
        elif phase == "failed":
            result = {"code": 501, "message": "Generation failed: content moderation", "media_urls": [], "usage": {}}
        return {"task_id": task.task_id, "provider": "kling", "model_version": "kling/avatar",
                "status": _CRUN_WORDS[phase], "param": {"model": "kling/avatar", "callback_url": task.callback_url, "input": {}},
                "create_at": task.created_ms // 1000, "result": result,
                "credits": spec.pricing.estimate(task.mode, task.audio_s).amount if spec.pricing else 0,
                "duration_s": int(time.monotonic() - task.created),
                "complete_at": int(time.time()) if terminal else None, "source": "api"}

    def key_error(request: Request) -> Response | None:
        key = request.headers.get("x-api-key")
        if not key:
            return error(401, "API key missing")
        if not state.key_ok(spec.name, key):
            return error(401, "API key invalid")
        return None

    async def create(request: Request) -> Response:
        await apply_latency(state)
        if (denied := key_error(request)) is not None:
            return denied
        body = await request.json()
        if body.get("model") != "kling/avatar":
            return error(422, "model must be kling/avatar")
        inputs = body.get("input") or {}
        image_url, audio_url = inputs.get("image_url") or "", inputs.get("audio_url") or ""
        if not image_url.startswith(("http://", "https://")) or not audio_url.startswith(("http://", "https://")):
            return error(422, "input.image_url and input.audio_url must be URLs")
        if (inputs.get("mode") or "std") not in MODES:
            return error(422, "input.mode must be std or pro")
        try:
            state.media.check_image(await state.media.fetch(image_url, "image_url"))
            audio = await state.media.fetch(audio_url, "audio_url")
            seconds = await state.media.check_audio(audio, spec.max_audio_s)
        except MediaProblem as exc:
            return error(422, str(exc))
        if state.over_capacity(spec.name):
            return error(429, "Rate limited: too many running tasks", headers={"Retry-After": "1"})
        if state.take("refused_creates"):
            return error(422, "content moderation")
        task = state.add_task(spec.name, audio=audio, audio_s=seconds, mode=inputs.get("mode") or "std",
                              prompt=inputs.get("prompt") or "", callback_url=body.get("callback_url") or None,
                              id_style="task_n")
        base = base_of(request)
        if task.callback_url:
            state.spawn(state.send_callbacks(
                task, lambda t: task_json(t, base) if t.phase(time.monotonic()) in ("succeeded", "failed") else None))
        accepted = {"code": 200, "message": "success", "data": {"task_id": task.task_id}}
        if state.take("ambiguous_creates"):
            return odd_create_reply(state, accepted=accepted, word_at=("data", "status"),
                                    timeout=error(500, "Server error"), unknown_code=error(888, "Upstream busy", 501))
        return JSONResponse(accepted)

    async def info(request: Request) -> Response:
        await apply_latency(state)
        if (denied := key_error(request)) is not None:
            return denied
        fault = state.poll_fault()
        if fault == "429":
            return error(429, "Rate limited", headers={"Retry-After": f"{state.faults.retry_after_s:g}"})
        if fault == "5xx":
            return error(500, "Server error")
        task = state.find(spec.name, request.query_params.get("task_id", ""))
        if task is None:
            return error(404, "Task not found")
        state.count_poll(task)
        return JSONResponse({"code": 200, "message": "success", "data": task_json(task, base_of(request))})

    async def video(request: Request) -> Response:
        return await video_response(state, request)

    return Starlette(routes=[
        Route("/api/v1/client/job/CreateTask", create, methods=["POST"]),
        Route("/api/v1/client/job/TaskInfo", info, methods=["GET"]),
        Route("/videos/{task_id}.mp4", video, methods=["GET"]),
    ])
