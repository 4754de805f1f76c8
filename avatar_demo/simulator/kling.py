"""Simulated Kling-contract gateways: the official API (JWT or key), CometAPI and KKIAI."""

from __future__ import annotations

import time
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import providers
from ..providers.base import MODES
from ..providers.spec import ProviderSpec
from .common import apply_latency, base_of, bearer, odd_create_reply, request_id, video_response
from .media import MediaProblem
from .state import SimTask, SimulatorState

__all__ = ["kling_app"]

_HTTP_FOR_CODE = {1000: 401, 1001: 401, 1002: 401, 1003: 401, 1004: 401, 1102: 429, 1201: 400, 1301: 400,
                  1303: 429, 5000: 500, 5002: 504}
_WORDS = {"queued": "submitted", "running": "processing", "succeeded": "succeed", "failed": "failed"}


def _error(code: int, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "request_id": request_id()},
                        status_code=_HTTP_FOR_CODE.get(code, 400), headers=headers)


class _KlingGateway:
    def __init__(self, state: SimulatorState, spec: ProviderSpec) -> None:
        self.state = state
        self.spec = spec
        self.gateway = spec.name
        self.audio_limit_s = spec.max_audio_s
        self.envelope = providers.implementation(spec).refusal_envelope
        # Only the gateway that takes an access/secret key pair signs its own tokens (JWT).
        self.jwt = any(len(group) == 2 for group in spec.key_groups)

    # -- auth ------------------------------------------------------------------------------------
    def auth(self, request: Request) -> Response | None:
        token = bearer(request)
        if not token:
            return self._auth_error(1001, "Authorization is empty")
        if self.jwt and token.count(".") == 2:
            return self._jwt(token)
        if not self.state.key_ok(self.gateway, token):
            return self._auth_error(1000, "Authentication failed")
        return None

    def _auth_error(self, code: int, message: str) -> Response:
        if self.envelope == "error-object":
            # CometAPI answers bad keys in its own envelope, before anything reaches Kling.
            return JSONResponse({"error": {"message": f"invalid token (request id: {request_id()})",
                                           "type": "comet_api_error", "param": "", "code": ""}}, status_code=401)
        return _error(code, message)

    def _jwt(self, token: str) -> Response | None:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return _error(1002, "Authorization is invalid")
        secret = self.state.config.jwt_secrets.get(str(issuer))
        if secret is None:
            return _error(1002, "Authorization is invalid")
        try:
            jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["iss", "exp", "nbf"]})
        except jwt.ImmatureSignatureError:
            return _error(1003, "Authorization is not yet valid")
        except jwt.ExpiredSignatureError:
            return _error(1004, "Authorization has expired")
        except jwt.PyJWTError:
            return _error(1002, "Authorization is invalid")
        return None

    # -- shapes ------------------------------------------------------------------------------------
    def task_json(self, task: SimTask) -> dict[str, Any]:
        phase = task.phase(time.monotonic())
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "task_status": _WORDS[phase],
            "task_status_msg": "Failure to pass the risk control system" if phase == "failed" else "",
            "task_info": {"external_task_id": task.external_task_id or ""},
            "created_at": task.created_ms,
            "updated_at": int(time.time() * 1000),
            "watermark_info": {"enabled": False},
        }
        if phase == "succeeded":
            data["task_result"] = {"videos": [{
                "id": f"v{task.task_id}", "url": f"{self.base}/videos/{task.task_id}.mp4",
                "watermark_url": f"{self.base}/videos/{task.task_id}.mp4", "duration": f"{task.audio_s:.1f}"}]}
            assert self.spec.pricing is not None
            data["final_unit_deduction"] = f"{self.spec.pricing.estimate(task.mode, task.audio_s).amount:.2f}"
        return data

    def callback_json(self, task: SimTask) -> dict[str, Any]:
        data = self.task_json(task)
        data.pop("watermark_info", None)
        return data

    # -- routes --------------------------------------------------------------------------------------
    async def create(self, request: Request) -> Response:
        await apply_latency(self.state)
        if (denied := self.auth(request)) is not None:
            return denied
        self.base = base_of(request)
        try:
            body = await request.json()
        except ValueError:
            return _error(1200, "Request body is not JSON")
        if not isinstance(body, dict):
            return _error(1200, "Request body is not an object")
        problem = await self._validate(body)
        if isinstance(problem, Response):
            return problem
        audio, audio_s = problem
        ext = body.get("external_task_id") or None
        if ext and self.state.find(self.gateway, ext) is not None:
            return _error(1201, f"external_task_id {ext} already exists")
        if self.state.over_capacity(self.gateway):
            return _error(1303, "parallel task over resource pack limit", headers={"Retry-After": "1"})
        if self.state.take("refused_creates"):
            return _error(1301, "Failure to pass the risk control system")
        task = self.state.add_task(self.gateway, audio=audio, audio_s=audio_s, mode=body.get("mode") or "std",
                                   prompt=body.get("prompt") or "", external_task_id=ext,
                                   callback_url=body.get("callback_url") or None)
        if task.callback_url:
            self.state.spawn(self.state.send_callbacks(task, self.callback_json))
        data = self.task_json(task)
        accepted = {"code": 0, "message": "SUCCEED", "request_id": request_id(),
                    "data": {k: data[k] for k in ("task_id", "task_status", "task_info", "created_at", "updated_at")}}
        if self.state.take("ambiguous_creates"):
            return odd_create_reply(self.state, accepted=accepted, word_at=("data", "task_status"),
                                    timeout=_error(5002, "Server timeout"),
                                    unknown_code=JSONResponse({"code": 7777, "message": "upstream busy",
                                                               "request_id": request_id()}, status_code=503))
        return JSONResponse(accepted)

    async def _validate(self, body: dict[str, Any]) -> Response | tuple[bytes | None, float]:
        image, sound, audio_id = body.get("image") or "", body.get("sound_file") or "", body.get("audio_id") or ""
        if not image:
            return _error(1201, "image is required")
        if bool(sound) == bool(audio_id):
            return _error(1201, "exactly one of audio_id and sound_file is required")
        if len(body.get("prompt") or "") > 2500:
            return _error(1201, "prompt exceeds 2500 characters")
        if (body.get("mode") or "std") not in MODES:
            return _error(1201, "mode must be std or pro")
        try:
            self.state.media.check_image(await self.state.media.fetch(image, "image"))
            if sound:
                audio = await self.state.media.fetch(sound, "sound_file")
                return audio, await self.state.media.check_audio(audio, self.audio_limit_s)
        except MediaProblem as exc:
            return _error(1201, str(exc))
        seconds = self.state.tts_audio.get(audio_id)
        if seconds is None:
            return _error(1201, "audio_id not found or expired")
        if seconds > self.audio_limit_s:
            return _error(1201, f"audio duration {seconds:.1f}s exceeds {self.audio_limit_s:.0f}s")
        return None, seconds

    async def query(self, request: Request) -> Response:
        await apply_latency(self.state)
        if (denied := self.auth(request)) is not None:
            return denied
        self.base = base_of(request)
        fault = self.state.poll_fault()
        if fault == "429":
            return _error(1302, "Rate limit exceeded", headers={"Retry-After": f"{self.state.faults.retry_after_s:g}"})
        if fault == "5xx":
            return _error(5000, "Internal error")
        task = self.state.find(self.gateway, request.path_params["task_id"])
        if task is None:
            return _error(1201, "Task not found by id/external id")
        self.state.count_poll(task)
        return JSONResponse({"code": 0, "message": "SUCCEED", "request_id": request_id(), "data": self.task_json(task)})

    async def list(self, request: Request) -> Response:
        if (denied := self.auth(request)) is not None:
            return denied
        self.base = base_of(request)
        try:
            page = int(request.query_params.get("pageNum", 1))
            size = int(request.query_params.get("pageSize", 30))
        except ValueError:
            return _error(1201, "pageNum and pageSize must be integers")
        if not (1 <= page <= 1000 and 1 <= size <= 500):
            return _error(1201, "pageNum must be 1-1000 and pageSize 1-500")
        mine = [t for t in self.state.tasks.values() if t.gateway == self.gateway][::-1]
        chunk = mine[(page - 1) * size : page * size]
        return JSONResponse({"code": 0, "message": "SUCCEED", "request_id": request_id(),
                             "data": [self.task_json(t) for t in chunk]})

    async def tts(self, request: Request) -> Response:
        if (denied := self.auth(request)) is not None:
            return denied
        body = await request.json()
        text, voice, language = body.get("text") or "", body.get("voice_id") or "", body.get("voice_language") or "zh"
        if not text or len(text) > 1000:
            return _error(1201, "text must be 1-1000 characters")
        if language not in ("zh", "en") or not voice or not voice.startswith(("oversea_", "genshin_", "chinese_", "en_", "zh_")):
            return _error(1201, "Voice id not found")
        speed = min(2.0, max(0.8, float(body.get("voice_speed") or 1.0)))
        seconds = max(2.0, round(len(text.split()) * 0.4 / speed, 1))
        audio_id = self.state.new_id()
        self.state.tts_audio[audio_id] = seconds
        return JSONResponse({"code": 0, "message": "SUCCEED", "request_id": request_id(), "data": {
            "task_id": self.state.new_id(), "task_status": "succeed", "task_status_msg": "",
            "task_result": {"audios": [{"id": audio_id, "url": f"{base_of(request)}/tts/{audio_id}.mp3",
                                        "duration": f"{seconds:.1f}"}]},
            "final_unit_deduction": "0.05", "created_at": int(time.time() * 1000), "updated_at": int(time.time() * 1000)}})


def kling_app(state: SimulatorState, spec: ProviderSpec) -> Starlette:
    """The routes of one Kling-contract gateway (its path prefix and audio limit from its provider), mounted at /<name>."""
    gw = _KlingGateway(state, spec)
    prefix = providers.implementation(spec).prefix
    tasks = f"{prefix}/v1/videos/avatar/image2video"

    async def video(request: Request) -> Response:
        return await video_response(state, request)

    return Starlette(routes=[
        Route(tasks, gw.create, methods=["POST"]),
        Route(tasks, gw.list, methods=["GET"]),
        Route(tasks + "/{task_id}", gw.query, methods=["GET"]),
        Route(f"{prefix}/v1/audio/tts", gw.tts, methods=["POST"]),
        Route("/videos/{task_id}.mp4", video, methods=["GET"]),
    ])
