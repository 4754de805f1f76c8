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
    UnclearReply,
    UnexpectedReply,
)
from avatar_demo.core.status import Status
from avatar_demo.providers.crun import crun_error, parse_crun_task
from avatar_demo.providers.fal import fal_error, parse_fal_status
from avatar_demo.providers.kling_replies import KLING_CODES, kling_error, parse_kling_task
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
@pytest.mark.parametrize(("word", "raw"), [("waiting", "waiting"), ("succeeded", "succeeded"), ("", ""),
                                           (None, ""), (7, "")])
def test_unknown_status_word_reads_as_still_running(parse, word, raw) -> None:
    """A reply that names a task proves it exists: an unknown word is "running (the gateway said …)", never an
    error that would end the run as failed (and refund it) while the task may bill."""
    state = parse(word)
    assert state.status is Status.RUNNING and state.task_id == "1"
    assert state.raw_status == raw


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


#: A business code no table names, on each gateway: a refusal only on a 4xx; on a 2xx or 5xx the gateway may
#: have acted, so the answer is unclear (a create is looked up, never refunded) — ServerError's UnclearReply.
UNKNOWN_CODES = [
    ("kling", kling_error, 500, {"code": 7777, "message": "odd"}, UnclearReply),
    ("kling", kling_error, 502, {"code": 7777, "message": "odd"}, UnclearReply),
    ("kling", kling_error, 200, {"code": 7777, "message": "odd"}, UnclearReply),
    ("kling", kling_error, 400, {"code": 7777, "message": "odd"}, RequestRejected),
    ("kling", kling_error, 418, {"code": 7777, "message": "odd"}, UnexpectedReply),
    ("modellix", modellix_error, 500, {"code": 418, "message": "odd"}, UnclearReply),
    ("modellix", modellix_error, 500, {"code": 9, "message": "odd"}, UnclearReply),
    ("modellix", modellix_error, 200, {"code": 7, "message": "odd"}, UnclearReply),
    ("modellix", modellix_error, 200, {"message": "no code"}, UnclearReply),
    ("modellix", modellix_error, 418, {"code": 418, "message": "odd"}, UnexpectedReply),
    ("crun", crun_error, 501, {"code": 777, "message": "odd"}, UnclearReply),
    ("crun", crun_error, 500, {"code": 777, "message": "odd"}, UnclearReply),
    ("crun", crun_error, 200, {"code": 777, "message": "odd"}, UnclearReply),
    ("crun", crun_error, 200, {"message": "no code"}, UnclearReply),
    ("crun", crun_error, 418, {"code": 777, "message": "odd"}, UnexpectedReply),
    ("fal", fal_error, 500, {"detail": "odd", "code": "strange"}, ServerError),
    ("fal", fal_error, 503, None, ServerError),
]


@pytest.mark.parametrize(("gateway", "mapper", "http", "body", "cls"), UNKNOWN_CODES,
                         ids=[f"{row[0]}-{row[2]}-{i}" for i, row in enumerate(UNKNOWN_CODES)])
def test_an_unknown_code_is_a_refusal_only_on_a_4xx(gateway, mapper, http: int, body: object, cls: type) -> None:
    response = reply(http, body) if body is not None else httpx.Response(http, text="<html>")
    error = mapper("Kling", response, body) if gateway == "kling" else mapper(response, body)
    assert type(error) is cls, error
    # Whatever the class, the app's create path reads ServerError as "may exist", anything else as refused.
    assert isinstance(error, ServerError) == (http >= 500 or 200 <= http < 300)


def _create_body(gateway: str, word: object) -> dict:
    """A 2xx create reply naming task "t-1" with status word *word* (None: no word at all), in each shape."""
    status = {} if word is None else {"task_status" if gateway == "kling" else "status": word}
    if gateway == "kling":
        return {"code": 0, "message": "SUCCEED", "data": {"task_id": "t-1", **status}}
    if gateway == "modellix":
        return {"code": 0, "message": "success", "data": {"task_id": "t-1", **status}}
    if gateway == "crun":
        return {"code": 200, "message": "success", "data": {"task_id": "t-1", **status}}
    return {"request_id": "t-1", **status}


async def _create(gateway: str, response: httpx.Response, tmp_path) -> object:
    from avatar_demo import providers
    from avatar_demo.providers import AvatarRequest, ProviderConfig, ProviderOptions
    from tests.conftest import KEYS

    (tmp_path / "p.jpg").write_bytes(b"\xff\xd8 jpeg")
    (tmp_path / "v.wav").write_bytes(b"RIFF wav")
    spec = providers.spec(gateway)
    config = ProviderConfig.from_env(spec, {**KEYS, "KLING_ACCESS_KEY": "", "KLING_API_KEY": "k"})
    provider = providers.make_provider(config, ProviderOptions(transport=httpx.MockTransport(lambda _: response)))
    request = AvatarRequest(image=tmp_path / "p.jpg", audio=tmp_path / "v.wav", image_url="https://m/p.jpg",
                            audio_url="https://m/v.wav")
    try:
        return await provider.create(request)
    except Exception as exc:  # noqa: BLE001 - the table says which
        return exc
    finally:
        await provider.aclose()


CREATED_GATEWAYS = ["kling", "cometapi", "modellix", "crun", "fal"]


@pytest.mark.anyio
@pytest.mark.parametrize("gateway", CREATED_GATEWAYS)
@pytest.mark.parametrize("word", ["pending", "SOMETHING_NEW", "", None])
async def test_a_2xx_create_that_names_a_task_is_a_created_task(gateway: str, word: object, tmp_path) -> None:
    """Attack: a create reply carrying "pending" (a word the table lacked) ended the run FAILED with no task id and
    refunded it, while the gateway billed the task. Now the task is taken, and followed."""
    shape = "kling" if gateway == "cometapi" else gateway
    state = await _create(gateway, httpx.Response(200, json=_create_body(shape, word)), tmp_path)
    assert not isinstance(state, Exception), state
    assert state.task_id == "t-1"
    assert state.status in (Status.QUEUED, Status.RUNNING)
    assert state.raw_status == (word or "")


@pytest.mark.anyio
@pytest.mark.parametrize("gateway", CREATED_GATEWAYS)
@pytest.mark.parametrize("response", [
    httpx.Response(200, text="<html>upstream hiccup</html>"),
    httpx.Response(201, text=""),
    httpx.Response(200, json=["a", "list"]),
    httpx.Response(200, json={"code": 0, "data": {}}),
    httpx.Response(502, json={"code": 424242, "message": "what is this"}),
], ids=["html-200", "empty-201", "list-200", "no-task-200", "unknown-code-502"])
async def test_a_create_answered_unreadably_is_unclear_never_refused(gateway: str, response: httpx.Response,
                                                                      tmp_path) -> None:
    """Attack: a 2xx create whose body was not JSON was read as a refusal (FAILED, refunded, retried: paid twice)."""
    outcome = await _create(gateway, response, tmp_path)
    assert isinstance(outcome, ServerError), outcome
    if response.is_success:
        assert isinstance(outcome, UnclearReply), outcome
