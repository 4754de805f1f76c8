"""Gateway status callbacks as a wake-up signal: a callback makes a follower poll now, never decides an outcome.

Each task gets its own callback URL, `<public>/avatar-demo/callback/<row>/<token>`, whose token is an
HMAC of the history row under the server-only secret. So a callback names its task by its URL, a
stranger cannot make one up, and nothing the body says is trusted: the outcome always comes from
the gateway's own task record. Even a genuine URL causes at most one early poll per task per
MIN_GAP_S, and nothing a caller sends is kept beyond a small, fixed number of rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..core.status import Status

__all__ = ["CallbackHub", "Wakeup"]

ROUTE_PREFIX = "/avatar-demo/callback"
#: The largest callback body read; real ones are a few hundred bytes.
MAX_BODY = 16 * 1024
#: A callback that arrives before its follower listens (it can beat the create's reply) counts this long.
EARLY_S = 120.0
#: At most this many such early callbacks are remembered (only rows with a valid token get here), and
#: only bodies up to EARLY_BODY bytes are kept with them: at most about 2 MB in all.
EARLY_MAX = 1024
EARLY_BODY = 2048
#: Callbacks cut a task's wait at most once per this many seconds.
MIN_GAP_S = 3.0
# Gateway status bodies nest a few levels; the parser's own limit differs between Pythons.
MAX_DEPTH = 32
_TOKEN = re.compile(r"[0-9a-f]{32}")
_ROW = re.compile(r"[0-9]{1,12}")

Interpret = Callable[[Any], Status | None]
Identify = Callable[[Any], "str | None"]


class Wakeup:
    """One followed task's signal: rung by its callbacks, it ends the follower's current wait early."""

    def __init__(self, min_gap_s: float = MIN_GAP_S) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._min_gap_s = min_gap_s
        self._last_early = float("-inf")
        #: Callbacks heard so far: one proves the gateway can reach us, so polls may relax.
        self.heard = 0
        #: Task ids the callbacks named (they arrive at this task's own URL, which only the gateway has).
        self.named: list[str] = []

    def ring(self, *, poll: bool = True, task_id: str | None = None) -> None:
        """Count a callback and, when *poll*, end the current wait. Safe from any thread."""
        self._loop.call_soon_threadsafe(self._rung, poll, task_id)

    def _rung(self, poll: bool, task_id: str | None) -> None:
        self.heard += 1
        if task_id and task_id not in self.named:
            self.named.append(task_id)
        if poll:
            self._event.set()

    async def pause(self, seconds: float) -> bool:
        """Wait up to *seconds*; True when a callback cut the wait short (never twice within the gap)."""
        loop = self._loop
        end = loop.time() + seconds
        try:
            # asyncio.TimeoutError, not TimeoutError: on Python 3.10 they are different classes.
            await asyncio.wait_for(self._event.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        earliest = self._last_early + self._min_gap_s
        if loop.time() < earliest:
            await asyncio.sleep(max(0.0, min(earliest, end) - loop.time()))
        self._event.clear()
        self._last_early = loop.time()
        return True


class CallbackHub:
    """Hands out per-task callback URLs and rings the follower of the task a callback names."""

    def __init__(self, public_url: str | None, secret: str) -> None:
        self._key = hashlib.sha256(f"avatar-demo-callbacks:{secret}".encode()).digest()
        self.base = f"{public_url.rstrip('/')}{ROUTE_PREFIX}" if public_url else None
        self._listeners: dict[int, tuple[Wakeup, Interpret, Identify | None]] = {}
        self._early: OrderedDict[int, tuple[float, Any]] = OrderedDict()
        #: Callbacks with a valid token received so far.
        self.received = 0

    def token(self, row: int) -> str:
        """The secret part of row *row*'s callback URL."""
        return hmac.new(self._key, str(row).encode(), hashlib.sha256).hexdigest()[:32]

    def url_for(self, row: int) -> str | None:
        """Row *row*'s callback URL, or None when the app has no public address."""
        return f"{self.base}/{row}/{self.token(row)}" if self.base else None

    @contextmanager
    def listen(self, row: int, interpret: Interpret, identify: Identify | None = None) -> Iterator[Wakeup]:
        """A Wakeup rung by row *row*'s callbacks for the length of the block.

        *interpret* reads a body's status (does it need a poll now?), *identify* the task id it names.
        """
        wake = Wakeup()
        self._listeners[row] = (wake, interpret, identify)
        early = self._early.pop(row, None)
        if early is not None and early[0] > time.monotonic() - EARLY_S:
            wake.ring(poll=_worth_a_poll(interpret, early[1]), task_id=_named(identify, early[1]))
        try:
            yield wake
        finally:
            if self._listeners.get(row, (None,))[0] is wake:
                del self._listeners[row]

    def deliver(self, row: int, payload: Any, *, size: int = 0) -> bool:
        """Ring row *row*'s follower; True when one was listening. The body only decides whether to poll now."""
        self.received += 1
        listener = self._listeners.get(row)
        if listener is None:
            # A large body is not kept: its follower simply polls when it starts listening.
            self._early[row] = (time.monotonic(), payload if size <= EARLY_BODY else None)
            self._early.move_to_end(row)
            while len(self._early) > EARLY_MAX:
                self._early.popitem(last=False)
            return False
        wake, interpret, identify = listener
        wake.ring(poll=_worth_a_poll(interpret, payload), task_id=_named(identify, payload))
        return True

    def route(self) -> Route:
        """The POST route gateways call; mount it on the app's web server. It never answers 5xx."""

        async def receive(request: Request) -> JSONResponse:
            row, token = request.path_params.get("row", ""), request.path_params.get("token", "")
            if not (_ROW.fullmatch(row) and _TOKEN.fullmatch(token)
                    and hmac.compare_digest(token, self.token(int(row)))):
                return JSONResponse({"error": "not found"}, status_code=404)
            # Read at most MAX_BODY bytes: the route is public and must not buffer whatever it is sent.
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    return JSONResponse({"error": "too large"}, status_code=413)
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                return JSONResponse({"error": "not JSON"}, status_code=400)
            if _too_deep(payload):
                return JSONResponse({"error": "nested too deeply"}, status_code=400)
            self.deliver(int(row), payload, size=len(body))
            # Gateways retry anything but 200; whether the task is followed here is nobody's business.
            return JSONResponse({"ok": True})

        return Route(ROUTE_PREFIX + "/{row}/{token}", receive, methods=["POST"])


def _too_deep(payload: Any) -> bool:
    level = [(payload, 1)]
    while level:
        value, depth = level.pop()
        if depth > MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        level.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _named(identify: Identify | None, payload: Any) -> str | None:
    try:
        return identify(payload) if identify is not None and payload is not None else None
    except Exception:  # noqa: BLE001 - a stranger's body must never break the route
        return None


def _worth_a_poll(interpret: Interpret, payload: Any) -> bool:
    """Progress news needs no poll; an end, or anything we cannot read, does."""
    try:
        status = interpret(payload)
    except Exception:  # noqa: BLE001 - a stranger's body must never break the route
        return True
    return status is None or status.terminal
