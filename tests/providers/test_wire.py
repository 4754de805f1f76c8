"""Wire formats as tables: every documented status word and error envelope maps to one internal meaning."""

from __future__ import annotations

import httpx
import pytest

from avatar_demo.core.errors import (
    AuthError,
    CapacityError,
    NotFound,
    QuotaError,
    RateLimited,
    RequestRejected,
    ServerError,
    UnexpectedReply,
)
from avatar_demo.core.status import Status
from avatar_demo.providers.crun import crun_error, parse_crun_task
from avatar_demo.providers.fal import fal_error, parse_fal_status
from avatar_demo.providers.kling_family import KLING_CODES, kling_error, parse_kling_task
from avatar_demo.providers.modellix import modellix_error, parse_modellix_task


def reply(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("word", "status"),
    [("submitted", Status.QUEUED), ("processing", Status.RUNNING), ("succeed", Status.DONE), ("failed", Status.FAILED)],
)
def test_kling_status_words(word: str, status: Status) -> None:
    data = {"task_id": "1", "task_status": word, "task_result": {"videos": [{"url": "https://v/1.mp4", "duration": "5.2"}]}}
    state = parse_kling_task("Kling", data)
    assert state.status is status
    assert state.raw_status == word


@pytest.mark.parametrize(("word", "status"), [("pending", Status.RUNNING), ("success", Status.DONE), ("failed", Status.FAILED)])
def test_modellix_status_words(word: str, status: Status) -> None:
    data = {"task_id": "t", "status": word, "result": {"resources": [{"url": "https://v.mp4", "type": "video"}]}}
    assert parse_modellix_task(data).status is status


@pytest.mark.parametrize(
    ("word", "status"),
    [("pending", Status.QUEUED), ("running", Status.RUNNING), ("success", Status.DONE), ("failed", Status.FAILED)],
)
def test_crun_status_words(word: str, status: Status) -> None:
    data = {"task_id": "t", "status": word, "result": {"code": 200, "media_urls": ["https://v.mp4"]}}
    assert parse_crun_task(data).status is status


@pytest.mark.parametrize(
    "parse",
    [
        lambda w: parse_kling_task("Kling", {"task_id": "1", "task_status": w}),
        lambda w: parse_modellix_task({"task_id": "1", "status": w}),
        lambda w: parse_crun_task({"task_id": "1", "status": w}),
        lambda w: parse_fal_status("1", {"status": w}),
    ],
    ids=["kling", "modellix", "crun", "fal"],
)
@pytest.mark.parametrize("word", ["succeeded", "queued", "", None])
def test_unknown_status_word_is_an_error_never_still_running(parse, word) -> None:
    with pytest.raises(UnexpectedReply, match="unknown task status"):
        parse(word)


def test_kling_success_fields() -> None:
    """Duration arrives as a string; units and the external id are kept."""
    state = parse_kling_task("Kling", {
        "task_id": "88", "task_status": "succeed", "final_unit_deduction": "2.4",
        "task_info": {"external_task_id": "ext-1"},
        "task_result": {"videos": [{"id": "v", "url": "https://cdn/v.mp4", "duration": "6.0"}]}})
    assert (state.video_url, state.duration_s, state.charged, state.external_task_id) == ("https://cdn/v.mp4", 6.0, 2.4, "ext-1")


def test_success_without_a_video_is_an_error() -> None:
    with pytest.raises(UnexpectedReply, match="names no video"):
        parse_kling_task("Kling", {"task_id": "1", "task_status": "succeed", "task_result": {"videos": []}})


KLING_TABLE = [
    (401, 1000, AuthError, "authentication failed (1000) — check the API key"),
    (401, 1001, AuthError, "Authorization header is empty (1001)"),
    (401, 1002, AuthError, "the key or token is invalid (1002)"),
    (401, 1003, AuthError, "not yet valid (1003) — check this machine's clock"),
    (401, 1004, AuthError, "the token has expired (1004)"),
    (429, 1100, QuotaError, "account exception (1100)"),
    (429, 1101, QuotaError, "account in arrears (1101)"),
    (429, 1102, QuotaError, "Kling: resource pack exhausted (1102) — top up or switch provider"),
    (403, 1103, QuotaError, "no access to the Avatar API (1103)"),
    (400, 1200, RequestRejected, "invalid request parameters: bad body (1200)"),
    (400, 1201, RequestRejected, "invalid parameter: bad body (1201)"),
    (404, 1202, NotFound, "invalid request method (1202)"),
    (404, 1203, NotFound, "does not exist (1203)"),
    (400, 1300, RequestRejected, "platform policy (1300)"),
    (400, 1301, RequestRejected, "content security policy triggered (1301)"),
    (429, 1302, RateLimited, "rate limit exceeded (1302)"),
    (429, 1303, CapacityError, "too many tasks in flight for the resource pack (1303)"),
    (429, 1304, AuthError, "whitelist (1304)"),
    (500, 5000, ServerError, "internal server error (5000)"),
    (503, 5001, ServerError, "maintenance (5001)"),
    (504, 5002, ServerError, "internal timeout (5002)"),
]


def test_the_table_covers_every_documented_kling_code() -> None:
    assert {row[1] for row in KLING_TABLE} == set(KLING_CODES)


@pytest.mark.parametrize(("http", "code", "cls", "text"), KLING_TABLE)
def test_kling_error_codes(http: int, code: int, cls: type, text: str) -> None:
    error = kling_error("Kling", reply(http, {"code": code, "message": "bad body", "request_id": "r"}),
                        {"code": code, "message": "bad body", "request_id": "r"})
    assert type(error) is cls
    assert text in str(error)
    assert error.request_id == "r"


def test_http_200_with_a_nonzero_code_is_an_error() -> None:
    body = {"code": 1102, "message": "pack exhausted", "request_id": "r"}
    assert isinstance(kling_error("Kling", reply(200, body), body), QuotaError)


def test_capacity_refusal_carries_retry_after() -> None:
    body = {"code": 1303, "message": "parallel task over resource pack limit"}
    error = kling_error("Kling", reply(429, body, {"Retry-After": "7"}), body)
    assert error.retry_after == 7.0 and error.retryable


@pytest.mark.parametrize(
    ("http", "body", "cls", "text"),
    [
        (401, {"error": {"message": "invalid token (request id: x)", "type": "comet_api_error", "code": ""}}, AuthError, "CometAPI: invalid token"),
        (400, {"error": {"message": "bad image", "type": "comet_api_error", "code": "invalid_request"}}, RequestRejected, "bad image"),
        (500, {"error": {"message": "upstream rejected", "type": "comet_api_error", "code": "invalid_request"}}, RequestRejected, "upstream rejected"),
        (503, {"error": {"message": "busy", "type": "comet_api_error", "code": ""}}, ServerError, "busy"),
        (429, {"error": {"message": "slow down", "type": "comet_api_error", "code": ""}}, RateLimited, "slow down"),
        (400, {"message": "Voice id not found", "data": {"data": {"code": 1201, "message": "Voice id not found"}}}, RequestRejected, "invalid parameter: Voice id not found (1201)"),
        (502, None, ServerError, "HTTP 502"),
        (301, None, UnexpectedReply, "HTTP 301"),
    ],
)
def test_cometapi_envelopes(http: int, body: object, cls: type, text: str) -> None:
    response = httpx.Response(http, json=body) if body is not None else httpx.Response(http, text="<html>")
    error = kling_error("CometAPI", response, body)
    assert type(error) is cls
    assert text in str(error)


@pytest.mark.parametrize(
    ("http", "cls", "text"),
    [
        (400, RequestRejected, "Invalid parameters: parameter 'prompt' is required"),
        (401, AuthError, "check the API key"),
        (402, QuotaError, "top up the Modellix balance"),
        (404, NotFound, "Modellix"),
        # Modellix asks for backoff on 429 and 503: on a create, both are refusals that are waited out.
        (429, CapacityError, "wait, then try again"),
        (500, ServerError, "Modellix"),
        (503, CapacityError, "wait, then try again"),
    ],
)
def test_modellix_envelope(http: int, cls: type, text: str) -> None:
    body = {"code": http, "message": "Invalid parameters: parameter 'prompt' is required" if http == 400 else "x"}
    error = modellix_error(reply(http, body), body)
    assert type(error) is cls
    assert text in str(error)
    assert modellix_error(reply(200, {"code": 0, "data": {}}), {"code": 0, "data": {}}) is None


@pytest.mark.parametrize(
    ("code", "cls", "text"),
    [
        (401, AuthError, "unauthorized"),
        (402, QuotaError, "insufficient credits (402) — top up"),
        (404, NotFound, "not found"),
        (422, RequestRejected, "validation error"),
        (429, CapacityError, "rate limited"),
        (455, CapacityError, "maintenance"),
        (500, ServerError, "server error"),
        (501, RequestRejected, "generation failed"),
        (505, RequestRejected, "feature is disabled"),
    ],
)
@pytest.mark.parametrize("http", [200, None], ids=["business-code", "http-status"])
def test_crun_codes(code: int, cls: type, text: str, http: int | None) -> None:
    body = {"code": code, "message": "", "data": None}
    error = crun_error(reply(http or code, body), body)
    assert type(error) is cls
    assert text in str(error)
    assert str(error).startswith("crun.ai: ")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"status": "IN_QUEUE", "queue_position": 0}, Status.QUEUED, None),
        ({"status": "IN_PROGRESS", "logs": None}, Status.RUNNING, None),
        ({"status": "COMPLETED", "logs": None, "metrics": {}}, Status.DONE, None),
        ({"status": "COMPLETED", "logs": None, "error": "moderation", "error_type": "content"}, Status.FAILED,
         "moderation"),
    ],
)
def test_fal_status_replies(body: dict, status: Status, message: str | None) -> None:
    """IN_QUEUE / IN_PROGRESS / COMPLETED, and a COMPLETED request that carries an error has failed."""
    state = parse_fal_status("req-1", body)
    assert (state.status, state.message) == (status, message)


@pytest.mark.parametrize(
    ("http", "body", "cls", "text"),
    [
        (401, {"detail": "Authentication is required"}, AuthError, "check FAL_KEY"),
        (402, {"detail": "Payment required"}, QuotaError, "top up the fal.ai balance"),
        (402, None, QuotaError, "payment required"),
        (403, {"detail": "User is locked. Reason: Exhausted balance"}, QuotaError, "top up"),
        (404, {"detail": "Request not found"}, NotFound, "Request not found"),
        (422, {"detail": [{"loc": ["body", "image_url"], "msg": "field required", "type": "missing"}]},
         RequestRejected, "image_url: field required"),
        (422, {"detail": "plain words"}, RequestRejected, "plain words"),
        (429, {"detail": "slow down"}, RateLimited, "slow down"),
        (500, {"detail": "boom"}, ServerError, "boom"),
        (504, None, ServerError, "HTTP 504"),
    ],
)
def test_fal_errors(http: int, body: object, cls: type, text: str) -> None:
    response = httpx.Response(http, json=body) if body is not None else httpx.Response(http, text="<html>")
    error = fal_error(response, body)
    assert type(error) is cls
    assert text in str(error)
    assert fal_error(httpx.Response(202, json={"status": "IN_QUEUE"}), {"status": "IN_QUEUE"}) is None
