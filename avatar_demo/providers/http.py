"""HTTP for every gateway: explicit timeouts, typed errors, and retried reads (never retried creates)."""

from __future__ import annotations

import email.utils
import functools
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import stamina

from ..core.errors import (
    ConfigError,
    GatewayError,
    GatewayUnreachable,
    RateLimited,
    ServerError,
    UnclearReply,
    UnexpectedReply,
)
from ..core.text import Text

__all__ = ["DEFAULT_TIMEOUT", "GatewayHTTP", "ReadRetry", "header_safe", "retry_after_seconds", "status_error",
           "tls_context", "unknown_code"]

#: Creates carry base64 media (a few MB): allow a slow upload, but notice a dead peer quickly.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)

#: Failures before any byte of the request left: the gateway cannot have acted on it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

#: Maps a reply that is not a success to an error, or returns None for a success.
ErrorMapper = Callable[[httpx.Response, Any], GatewayError | None]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verified TLS context every client shares.

    Building one loads the whole CA bundle (about 20 ms of CPU on the event loop); with a client per
    request, 20 users pressing Generate at once spent over a second of loop time doing only that.
    """
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class ReadRetry:
    """How reads (GETs) are retried on 429, 5xx and transport errors."""

    attempts: int = 6
    timeout_s: float = 60.0
    wait_initial_s: float = 0.5
    wait_max_s: float = 15.0
    wait_jitter_s: float = 1.0
    #: A Retry-After longer than this is capped: a poll is cheap to repeat.
    max_retry_after_s: float = 60.0


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), if any."""
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def header_safe(value: str) -> bool:
    """Whether *value* can travel as an HTTP header value as it is: visible ASCII and inner spaces only."""
    return value == value.strip() and all(" " <= ch <= "~" for ch in value)


def unknown_code(provider: str, response: httpx.Response, message: str | Text | None, code: object) -> GatewayError:
    """A business code the gateway's table does not name: a refusal only on a 4xx. On a 2xx or 5xx the gateway
    may have acted on the request, so the answer is unclear (a create is looked up, never taken as refused)."""
    status = response.status_code
    if status == 429 or 400 <= status < 500:
        return status_error(provider, response, message)
    return UnclearReply(provider, message or Text("gw.unknown_code", status=status), status_code=status,
                        code=code if isinstance(code, (int, str)) else None,
                        retry_after=retry_after_seconds(response.headers))


def status_error(provider: str, response: httpx.Response, message: str | Text | None = None) -> GatewayError:
    """The error for an HTTP status when the body says nothing more useful."""
    code = response.status_code
    retry_after = retry_after_seconds(response.headers)
    if code == 429:
        return RateLimited(provider, message or Text("gw.too_many"), status_code=code, retry_after=retry_after)
    if code >= 500:
        return ServerError(provider, message or Text("gw.server", status=code), status_code=code, retry_after=retry_after)
    return UnexpectedReply(provider, message or Text("gw.unexpected", status=code), status_code=code)


class GatewayHTTP:
    """An httpx.AsyncClient bound to one gateway, its auth and its error mapping."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Callable[[], dict[str, str]],
        error_mapper: ErrorMapper,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        read_retry: ReadRetry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self._headers = headers
        self._map_error = error_mapper
        self.read_retry = read_retry or ReadRetry()
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport, follow_redirects=False,
                                         verify=tls_context())

    async def send(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """One request; returns the decoded JSON body of a success or raises a typed error."""
        headers = self._headers()
        if not all(header_safe(value) for value in headers.values()):
            # Sending would fail inside httpx (or go out garbled): the key cannot be used, and nothing left.
            raise ConfigError(Text("key.unusable", provider=self.provider))
        try:
            response = await self._client.request(method, path, json=json, params=params, headers=headers)
        except _NOT_SENT as exc:
            raise GatewayUnreachable(self.provider, type(exc).__name__, sent=False) from None
        except httpx.TimeoutException:
            raise GatewayUnreachable(self.provider, Text("gw.timed_out")) from None
        except httpx.TransportError as exc:
            raise GatewayUnreachable(self.provider, type(exc).__name__) from None
        body = _json(response)
        if response.is_success and not isinstance(body, dict):
            # A 2xx we cannot read may still have made a task: unclear, never a refusal.
            raise UnclearReply(self.provider, Text("gw.not_json", status=response.status_code),
                               status_code=response.status_code)
        error = self._map_error(response, body)
        if error is not None:
            raise error
        return body

    async def read(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """A GET, retried with jittered backoff on 429, 5xx and transport errors, honouring Retry-After."""
        policy = self.read_retry

        def backoff(exc: Exception) -> bool | float:
            if not getattr(exc, "retryable", False):
                return False
            after = getattr(exc, "retry_after", None)
            return min(after, policy.max_retry_after_s) if after is not None else True

        async for attempt in stamina.retry_context(
            on=backoff,
            attempts=policy.attempts,
            timeout=policy.timeout_s,
            wait_initial=policy.wait_initial_s,
            wait_max=policy.wait_max_s,
            wait_jitter=policy.wait_jitter_s,
        ):
            with attempt:
                return await self.send("GET", path, params=params)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
