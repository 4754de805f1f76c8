"""Gateway status callbacks as a wake-up signal: a callback makes the runner poll now, never decides an outcome."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["CallbackHub", "Wakeup", "callback_ids", "callback_says_running"]

#: Where the callback route lives on the app's web server.
ROUTE_PREFIX = "/avatar-demo/callback"
#: The largest callback body read; real ones are a few hundred bytes.
MAX_BODY = 64 * 1024
#: A callback that arrives before its task is being listened for still counts for this long.
EARLY_S = 120.0
#: Status words (every gateway's) that mean "still going": such a callback needs no poll.
RUNNING_WORDS = frozenset({"submitted", "processing", "pending", "running", "queued", "queueing", "in_progress"})


def _levels(payload: Any) -> Iterator[dict[str, Any]]:
    # Kling puts the task at the top level; crun sends it bare or wrapped in "data".
    if isinstance(payload, dict):
        yield payload
        if isinstance(payload.get("data"), dict):
            yield payload["data"]


def callback_ids(payload: Any) -> set[str]:
    """Task ids and external ids named by a callback body (Kling legacy and new shapes, crun)."""
    found: set[str] = set()
    for level in _levels(payload):
        for key in ("task_id", "id", "external_id", "external_task_id"):
            if isinstance(level.get(key), str | int) and str(level[key]):
                found.add(str(level[key]))
        info = level.get("task_info")
        if isinstance(info, dict) and isinstance(info.get("external_task_id"), str) and info["external_task_id"]:
            found.add(info["external_task_id"])
    return found


def callback_says_running(payload: Any) -> bool:
    """Whether a callback only reports progress; anything else (done, failed, unknown) is worth a poll."""
    for level in _levels(payload):
        word = level.get("task_status") or level.get("status")
        if isinstance(word, str):
            return word.strip().lower() in RUNNING_WORDS
    return False


class Wakeup:
    """One followed task's signal; rung by every callback that names it."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self.keys: set[str] = set()
        #: Callbacks heard so far: one proves the gateway can reach us, so polls may relax.
        self.heard = 0

    def ring(self, *, poll: bool = True) -> None:
        """Count a callback and, when *poll*, end the current wait. Safe from any thread."""
        self._loop.call_soon_threadsafe(self._rung, poll)

    def _rung(self, poll: bool) -> None:
        self.heard += 1
        if poll:
            self._event.set()

    async def pause(self, seconds: float) -> bool:
        """Wait up to *seconds*; True when a callback cut the wait short."""
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
            woke = True
        except TimeoutError:
            woke = False
        self._event.clear()
        return woke


class CallbackHub:
    """Hands out this app's callback URL and rings the runners whose task a callback names.

    The URL carries a token derived from the app's stable secret, so it survives restarts (a resumed
    task still wakes) and a stranger cannot guess it. Even a forged callback only causes one early
    poll: the outcome always comes from the gateway's own task record.
    """

    def __init__(self, public_url: str | None, secret: str) -> None:
        self.token = hmac.new(secret.encode(), b"avatar-demo-callback", hashlib.sha256).hexdigest()[:32]
        self.path = f"{ROUTE_PREFIX}/{self.token}"
        self.url = f"{public_url.rstrip('/')}{self.path}" if public_url else None
        self._listeners: dict[str, set[Wakeup]] = {}
        self._early: dict[str, tuple[float, bool]] = {}
        self.received = 0

    @contextmanager
    def listen(self, *ids: str | None) -> Iterator[Wakeup]:
        """A Wakeup rung by callbacks naming any of *ids* (more can be attached), for the length of the block."""
        wake = Wakeup()
        self.attach(wake, *ids)
        try:
            yield wake
        finally:
            for key in wake.keys:
                waiting = self._listeners.get(key)
                if waiting is not None:
                    waiting.discard(wake)
                    if not waiting:
                        del self._listeners[key]

    def attach(self, wake: Wakeup, *ids: str | None) -> None:
        """Ring *wake* for callbacks naming any of *ids* too (a task id learnt after the create)."""
        for key in {i for i in ids if i} - wake.keys:
            wake.keys.add(key)
            self._listeners.setdefault(key, set()).add(wake)
            at, poll = self._early.pop(key, (0.0, False))
            if at > time.monotonic() - EARLY_S:
                wake.ring(poll=poll)

    def deliver(self, payload: Any) -> int:
        """Ring every runner a callback names; returns how many were rung.

        The status word in the body only decides whether to poll at once: a forged "succeed" costs
        one early poll, a forged "processing" nothing.
        """
        self.received += 1
        now = time.monotonic()
        poll = not callback_says_running(payload)
        self._early = {k: v for k, v in self._early.items() if v[0] > now - EARLY_S}
        rung = 0
        for key in callback_ids(payload):
            waiting = self._listeners.get(key)
            if waiting:
                for wake in list(waiting):
                    wake.ring(poll=poll)
                    rung += 1
            else:
                self._early[key] = (now, poll)
        return rung

    def route(self) -> Route:
        """The POST route gateways call; mount it on the app's web server."""

        async def receive(request: Request) -> JSONResponse:
            if not hmac.compare_digest(request.path_params["token"], self.token):
                return JSONResponse({"error": "not found"}, status_code=404)
            # Read at most MAX_BODY bytes: this route is public and must not buffer whatever it is sent.
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    return JSONResponse({"error": "too large"}, status_code=413)
            try:
                payload = json.loads(body)
            except ValueError:
                return JSONResponse({"error": "not JSON"}, status_code=400)
            self.deliver(payload)
            # Gateways retry anything but 200; whether the task is known here is nobody's business.
            return JSONResponse({"ok": True})

        return Route(ROUTE_PREFIX + "/{token}", receive, methods=["POST"])
