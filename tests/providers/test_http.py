"""GatewayHTTP against httpx.MockTransport: typed errors, what was sent, retried reads and never-retried creates."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina
from stamina.instrumentation import RetryDetails, get_on_retry_hooks, set_on_retry_hooks

from avatar_demo.core.errors import (
    AuthError,
    ConfigError,
    GatewayError,
    GatewayUnreachable,
    NotFound,
    RateLimited,
    RequestRejected,
    ServerError,
    UnclearReply,
    UnexpectedReply,
)
from avatar_demo.providers.http import GatewayHTTP, ReadRetry, retry_after_seconds, status_error

pytestmark = pytest.mark.anyio

#: Tiny waits so that retried reads take milliseconds; the backoff without Retry-After is exactly 1 ms.
FAST = ReadRetry(attempts=4, timeout_s=30.0, wait_initial_s=0.001, wait_max_s=0.001, wait_jitter_s=0.0,
                 max_retry_after_s=5.0)


def mapper(response: httpx.Response, body: Any) -> GatewayError | None:
    """A gateway's error mapping: the body's own refusal first, else the HTTP status."""
    if response.status_code == 401:
        return AuthError("gw", "bad key", status_code=401)
    if response.status_code == 404:
        return NotFound("gw", "no such task", status_code=404)
    if isinstance(body, dict) and body.get("error"):
        return RequestRejected("gw", str(body["error"]), status_code=response.status_code)
    if response.status_code >= 400:
        return status_error("gw", response)
    return None


class Gateway:
    """A MockTransport handler that plays a script of replies per path and counts the requests it saw."""

    def __init__(self, script: dict[str, list[httpx.Response | Exception]]) -> None:
        self.script = script
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        replies = self.script[request.url.path]
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(reply, Exception):
            raise type(reply)(str(reply), request=request)
        return reply

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.seen if r.method == method and r.url.path == path)


def client(gateway: Gateway, *, read_retry: ReadRetry = FAST, headers: Callable[[], dict[str, str]] | None = None,
           error_mapper=mapper) -> GatewayHTTP:  # type: ignore[no-untyped-def]
    return GatewayHTTP("gw", "https://gw.example", headers=headers or (lambda: {"authorization": "Bearer k"}),
                       error_mapper=error_mapper, read_retry=read_retry, transport=httpx.MockTransport(gateway))


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json={"ok": True} if body is None else body)


@pytest.fixture
def waits() -> Iterator[list[float]]:
    """The wait stamina schedules before each retry (read from its retry hook, never from a clock).

    A wait over 10 s aborts the retry loop at once, so a broken cap fails the test instead of hanging it.
    """
    seen: list[float] = []

    def hook(details: RetryDetails) -> None:
        seen.append(details.wait_for)
        if details.wait_for > 10:
            raise AssertionError(f"retry would wait {details.wait_for} s")

    before = get_on_retry_hooks()
    set_on_retry_hooks([hook])
    yield seen
    set_on_retry_hooks(before)


async def test_send_returns_the_decoded_json_body_and_fresh_headers() -> None:
    """A success returns the JSON body; the headers callable is asked again for every request."""
    gateway = Gateway({"/v1/tasks": [ok({"id": "t1"})]})
    calls: list[int] = []

    def headers() -> dict[str, str]:
        calls.append(1)
        return {"authorization": f"Bearer token-{len(calls)}"}

    http = client(gateway, headers=headers)
    assert await http.send("POST", "/v1/tasks", json={"a": 1}) == {"id": "t1"}
    assert await http.send("POST", "/v1/tasks", json={"a": 2}) == {"id": "t1"}
    assert [r.headers["authorization"] for r in gateway.seen] == ["Bearer token-1", "Bearer token-2"]
    assert gateway.seen[0].read() == b'{"a":1}'
    await http.aclose()


async def test_send_passes_reply_and_decoded_body_to_the_error_mapper() -> None:
    """The mapper sees the response and its decoded JSON, and the error it returns is raised as is."""
    gateway = Gateway({"/v1/tasks": [httpx.Response(400, json={"error": "prompt too long"})]})
    seen: list[tuple[int, Any]] = []

    def recording(response: httpx.Response, body: Any) -> GatewayError | None:
        seen.append((response.status_code, body))
        return mapper(response, body)

    http = client(gateway, error_mapper=recording)
    with pytest.raises(RequestRejected, match="prompt too long"):
        await http.send("POST", "/v1/tasks", json={})
    assert seen == [(400, {"error": "prompt too long"})]
    await http.aclose()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (httpx.Response(401, json={}), AuthError),
        (httpx.Response(404, json={}), NotFound),
        (httpx.Response(429, json={}), RateLimited),
        (httpx.Response(503, text="down"), ServerError),
        (httpx.Response(418, json={}), UnexpectedReply),
        (httpx.Response(200, text="<html>not json</html>"), UnclearReply),
        (httpx.Response(200, json=[1, 2]), UnclearReply),
    ],
)
async def test_send_maps_replies_to_typed_errors(reply: httpx.Response, error: type[Exception]) -> None:
    """Refusals become the mapped typed error; a success that is not a JSON object is unclear, never a refusal."""
    http = client(Gateway({"/x": [reply]}))
    with pytest.raises(error):
        await http.send("POST", "/x")
    await http.aclose()


@pytest.mark.parametrize(
    ("failure", "sent"),
    [
        (httpx.ConnectError, False),
        (httpx.ConnectTimeout, False),
        (httpx.PoolTimeout, False),
        (httpx.ReadTimeout, True),
        (httpx.WriteTimeout, True),
        (httpx.ReadError, True),
        (httpx.RemoteProtocolError, True),
    ],
)
async def test_send_transport_failures_say_whether_anything_was_sent(failure: type[Exception], sent: bool) -> None:
    """Connection failures are GatewayUnreachable(sent=False); timeouts and dropped replies sent=True."""
    gateway = Gateway({"/v1/tasks": [failure("boom")]})
    http = client(gateway)
    with pytest.raises(GatewayUnreachable) as caught:
        await http.send("POST", "/v1/tasks", json={})
    assert caught.value.sent is sent
    assert caught.value.provider == "gw"
    assert gateway.count("POST", "/v1/tasks") == 1
    await http.aclose()


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503, json={}), httpx.Response(429, json={}), httpx.ReadTimeout("t"), httpx.ConnectError("c")],
    ids=["503", "429", "read-timeout", "connect-error"],
)
async def test_send_is_never_retried(failure: httpx.Response | Exception) -> None:
    """A create (send) that fails, even retryably, is tried exactly once."""
    gateway = Gateway({"/v1/tasks": [failure, ok()]})
    http = client(gateway)
    with pytest.raises((ServerError, RateLimited, GatewayUnreachable)):
        await http.send("POST", "/v1/tasks", json={})
    assert gateway.count("POST", "/v1/tasks") == 1
    await http.aclose()


@pytest.mark.parametrize(
    "failures",
    [
        [httpx.Response(503, json={})],
        [httpx.Response(500, json={}), httpx.Response(502, json={})],
        [httpx.Response(429, json={}), httpx.Response(429, json={}), httpx.Response(504, json={})],
        [httpx.ReadTimeout("t")],
        [httpx.ConnectError("c"), httpx.RemoteProtocolError("dropped")],
        [httpx.Response(200, text="not json")],
    ],
    ids=["503", "500-502", "429-429-504", "read-timeout", "connect-then-dropped", "unreadable-200"],
)
async def test_read_retries_retryable_failures_then_succeeds(failures: list[httpx.Response | Exception]) -> None:
    """A GET retries 429, 5xx and transport errors and returns the first success."""
    gateway = Gateway({"/v1/tasks/t1": [*failures, ok({"status": "done"})]})
    http = client(gateway)
    assert await http.read("/v1/tasks/t1") == {"status": "done"}
    assert gateway.count("GET", "/v1/tasks/t1") == len(failures) + 1
    await http.aclose()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (httpx.Response(404, json={}), NotFound),
        (httpx.Response(401, json={}), AuthError),
        (httpx.Response(500, json={"error": "bad task id"}), RequestRejected),  # mapped as a refusal, not a 5xx
        (httpx.Response(418, json={}), UnexpectedReply),
    ],
)
async def test_read_never_retries_a_non_retryable_error(reply: httpx.Response, error: type[Exception]) -> None:
    """A GET whose mapped error is not retryable is raised after one attempt."""
    gateway = Gateway({"/v1/tasks/t1": [reply, ok()]})
    http = client(gateway)
    with pytest.raises(error):
        await http.read("/v1/tasks/t1")
    assert gateway.count("GET", "/v1/tasks/t1") == 1
    await http.aclose()


async def test_read_gives_up_after_the_configured_attempts() -> None:
    """A GET that keeps failing is tried ReadRetry.attempts times, then the last error is raised."""
    gateway = Gateway({"/v1/tasks/t1": [httpx.Response(503, json={})]})
    http = client(gateway, read_retry=ReadRetry(**{**FAST.__dict__, "attempts": 3}))
    with pytest.raises(ServerError):
        await http.read("/v1/tasks/t1")
    assert gateway.count("GET", "/v1/tasks/t1") == 3
    await http.aclose()


async def test_read_in_stamina_testing_mode_counts_attempts() -> None:
    """Under stamina's testing mode (no waits) the retry count is the one testing mode sets."""
    gateway = Gateway({"/v1/tasks/t1": [httpx.Response(502, json={})]})
    http = client(gateway, read_retry=ReadRetry())
    with stamina.set_testing(True, attempts=2), pytest.raises(ServerError):
        await http.read("/v1/tasks/t1")
    assert gateway.count("GET", "/v1/tasks/t1") == 2
    await http.aclose()


async def test_read_waits_for_retry_after(waits: list[float]) -> None:
    """A Retry-After on a 429 or 503 replaces the backoff for that wait; without one the backoff is used."""
    gateway = Gateway({"/t": [
        httpx.Response(429, json={}, headers={"Retry-After": "0.02"}),
        httpx.Response(503, json={}),
        httpx.Response(503, json={}, headers={"Retry-After": "0.03"}),
        ok(),
    ]})
    http = client(gateway)
    assert await http.read("/t") == {"ok": True}
    assert waits == pytest.approx([0.02, 0.001, 0.03])
    await http.aclose()


async def test_read_caps_a_long_retry_after(waits: list[float]) -> None:
    """A Retry-After longer than max_retry_after_s is cut to it (a poll is cheap to repeat)."""
    gateway = Gateway({"/t": [httpx.Response(503, json={}, headers={"Retry-After": "3600"}), ok()]})
    http = client(gateway, read_retry=ReadRetry(**{**FAST.__dict__, "max_retry_after_s": 0.04}))
    assert await http.read("/t") == {"ok": True}
    assert waits == pytest.approx([0.04])
    assert gateway.count("GET", "/t") == 2
    await http.aclose()


async def test_read_sends_query_parameters() -> None:
    """read() passes its params as the query string of a GET."""
    gateway = Gateway({"/v1/tasks": [ok()]})
    http = client(gateway)
    await http.read("/v1/tasks", params={"external_task_id": "abc"})
    assert gateway.seen[0].method == "GET"
    assert gateway.seen[0].url.params["external_task_id"] == "abc"
    await http.aclose()


def _http_date(offset_s: float) -> str:
    return email.utils.formatdate(time.time() + offset_s, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: now
    ],
)
def test_retry_after_seconds_table(headers: dict[str, str], expected: float | None) -> None:
    """Delta-seconds are read as is (never negative); a past HTTP date is 0; garbage or absence is None."""
    assert retry_after_seconds(httpx.Headers(headers)) == expected


def test_retry_after_seconds_reads_a_future_http_date() -> None:
    """An HTTP date an hour ahead is read as about 3600 seconds."""
    value = retry_after_seconds(httpx.Headers({"Retry-After": _http_date(3600)}))
    assert value is not None and 3500 < value <= 3601


@pytest.mark.parametrize(
    ("code", "error", "retryable"),
    [(429, RateLimited, True), (500, ServerError, True), (503, ServerError, True), (400, UnexpectedReply, False),
     (404, UnexpectedReply, False)],
)
def test_status_error_table(code: int, error: type[GatewayError], retryable: bool) -> None:
    """status_error maps 429 and 5xx to retryable errors carrying Retry-After, the rest to UnexpectedReply."""
    found = status_error("gw", httpx.Response(code, headers={"Retry-After": "4"}))
    assert type(found) is error
    assert found.retryable is retryable
    assert found.status_code == code
    if retryable:
        assert found.retry_after == 4.0


@pytest.mark.parametrize("value", ["Bearer é-key", "Bearer a\nb", "Bearer a\x00b", "Bearer a\rb", "Bearer \x7f",
                                   "Bearer key ", "Key \u200bk"])
async def test_a_header_that_cannot_be_sent_is_refused_before_anything_leaves(value: str) -> None:
    """Attack: a key with a character no header may carry failed inside httpx (a traceback, or an "unclear"
    create that held the visitor's slots for 20 minutes). Now it is a ConfigError, and nothing is sent."""
    gateway = Gateway({"/x": [ok()]})
    http = client(gateway, headers=lambda: {"authorization": value})
    with pytest.raises(ConfigError, match="nothing was sent"):
        await http.send("POST", "/x")
    assert gateway.seen == []
    await http.aclose()
