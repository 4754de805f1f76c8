"""Helpers every simulated gateway uses: latency, fault replies, video download route."""

from __future__ import annotations

import asyncio
import copy
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from .state import SimulatorState

__all__ = ["apply_latency", "base_of", "bearer", "dropped_reply", "odd_create_reply", "request_id", "video_response"]


def request_id() -> str:
    """A request id like the gateways return."""
    return str(uuid.uuid4())


def base_of(request: Request) -> str:
    """The public URL of the gateway mount this request came through."""
    return str(request.base_url).rstrip("/") + request.scope.get("root_path", "")


def bearer(request: Request) -> str | None:
    """The token after 'Bearer ', or None."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


async def apply_latency(state: SimulatorState) -> None:
    """Sleep the configured latency."""
    if state.faults.latency_s:
        await asyncio.sleep(state.faults.latency_s)


class _DroppedReply(Response):
    """Starts a reply it never finishes: the client sees the connection cut mid-body."""

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"code":0,', "more_body": True})
        raise ConnectionResetError("simulated dropped connection")


def dropped_reply() -> Response:
    """A reply that breaks the connection after the headers."""
    return _DroppedReply()


def odd_create_reply(state: SimulatorState, *, accepted: dict[str, Any], word_at: tuple[str, ...],
                     timeout: Response, unknown_code: Response) -> Response:
    """How a create whose task was stored is answered when a fault asks (Faults.ambiguous_mode).

    *accepted* is the gateway's normal acceptance, *word_at* the path of its status word in it (added when the
    gateway's own acceptance carries none); *timeout* and *unknown_code* are its own 5xx bodies.
    """
    mode = state.faults.ambiguous_mode
    if mode == "drop":
        return dropped_reply()
    if mode == "not_json":
        # What a proxy in front of a gateway sends when the upstream hiccups after taking the request.
        return HTMLResponse("<html><body><h1>upstream hiccup</h1></body></html>", status_code=200)
    if mode == "unknown_status":
        body = copy.deepcopy(accepted)
        inner = body
        for part in word_at[:-1]:
            inner = inner.setdefault(part, {})
        inner[word_at[-1]] = state.faults.odd_status_word
        return JSONResponse(body)
    if mode == "unknown_code":
        return unknown_code
    return timeout


async def video_response(state: SimulatorState, request: Request) -> Response:
    """GET /videos/{task_id}.mp4: the finished task's video."""
    task = state.tasks.get(request.path_params["task_id"])
    if task is None or task.phase(time.monotonic()) != "succeeded":
        return JSONResponse({"message": "not found"}, status_code=404)
    if state.take("video_errors"):
        return JSONResponse({"message": "storage busy"}, status_code=503)
    return FileResponse(await state.media.video(task.audio_s), media_type="video/mp4")
