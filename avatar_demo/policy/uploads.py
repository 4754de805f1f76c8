"""Bound what one visitor may send per hour in public mode: Gradio's upload route needs no session at all, and
a file can also ride inside an event's body as a data: URL, so every POST to Gradio's API counts."""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from typing import Any

from .visitor import client_address

__all__ = ["UploadLimiter"]

#: Every route of Gradio's own API lives under this prefix (uploads, queue joins, MCP calls).
GRADIO_API = "/gradio_api/"
#: Visitors remembered at once; the oldest are forgotten first (their hour has usually passed).
MAX_VISITORS = 10_000
WINDOW_S = 3600.0


class UploadLimiter:
    """ASGI middleware: every POST to Gradio's API (uploads, event joins, MCP calls) counts against the sender's
    hourly budget by its declared size, and no single body may exceed *max_body* bytes.

    A request without a Content-Length is refused (411): its size could only be learnt after reading it.
    """

    def __init__(self, app: Any, *, mb_per_hour: float, hops: int, max_body: int, enabled: bool = True) -> None:
        self.app = app
        self.budget = int(mb_per_hour * 1024 * 1024)
        self.hops = hops
        self.max_body = max_body
        self.enabled = enabled
        self._spent: OrderedDict[str, deque[tuple[float, int]]] = OrderedDict()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if not (self.enabled and scope["type"] == "http" and scope.get("method") == "POST"
                and (path.startswith(GRADIO_API) or path.rstrip("/").endswith("/upload"))):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = scope.get("client")
        who = client_address(headers, client[0] if client else None, self.hops)
        declared = headers.get("content-length", "")
        if not declared.isdigit():
            await _refuse(send, 411, "Uploads must declare their size (Content-Length).")
            return
        size = int(declared)
        if size > self.max_body:
            await _refuse(send, 413, f"A request may carry at most {self.max_body // (1024 * 1024)} MB.")
            return
        left = self._left(who)
        if size > left:
            await _refuse(send, 429, f"Upload limit reached: {self.budget // (1024 * 1024)} MB per hour per visitor "
                                     f"({left // (1024 * 1024)} MB left). Try again later.")
            return
        self._spend(who, size)
        await self.app(scope, receive, send)

    def _left(self, who: str) -> int:
        history = self._spent.get(who)
        if not history:
            return self.budget
        cutoff = time.monotonic() - WINDOW_S
        while history and history[0][0] < cutoff:
            history.popleft()
        return self.budget - sum(size for _, size in history)

    def _spend(self, who: str, size: int) -> None:
        self._spent.setdefault(who, deque()).append((time.monotonic(), size))
        self._spent.move_to_end(who)
        while len(self._spent) > MAX_VISITORS:
            self._spent.popitem(last=False)


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
