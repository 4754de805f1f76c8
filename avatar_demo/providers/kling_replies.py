"""How the Kling family's replies read: task states, Kling's business codes and the refusals they mean."""

from __future__ import annotations

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
    UnexpectedReply,
)
from ..core.status import Status
from ..core.text import Text
from .base import TaskState, TtsResult, parse_status, raw_word
from .http import retry_after_seconds, status_error, unknown_code

__all__ = ["KLING_CODES", "KLING_STATUS", "kling_error", "parse_kling_speech", "parse_kling_task"]

KLING_STATUS = {
    "submitted": Status.QUEUED,
    "processing": Status.RUNNING,
    "succeed": Status.DONE,
    "failed": Status.FAILED,
}

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


def parse_kling_speech(label: str, reply: dict[str, Any]) -> TtsResult:
    """The speech a text-to-speech reply made; raises UnexpectedReply when it names no audio."""
    data = reply.get("data") or {}
    audios = (data.get("task_result") or {}).get("audios") or []
    if not audios or not audios[0].get("id"):
        raise UnexpectedReply(label, Text("gw.no_audio_id"))
    return TtsResult(audio_id=str(audios[0]["id"]), url=audios[0].get("url"), duration_s=_float(audios[0].get("duration")))
