"""Names the replica that answered in every response's `X-Avatar-Replica` header (which replica a sticky proxy chose)."""

from __future__ import annotations

from typing import Any

__all__ = ["ReplicaHeader"]

Scope = dict[str, Any]


class ReplicaHeader:
    """Pure ASGI middleware: adds the header to HTTP responses, leaves bodies (and streams) untouched."""

    def __init__(self, app: Any, *, replica: str) -> None:
        self.app = app
        self.header = (b"x-avatar-replica", replica.encode("latin-1", "replace"))

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, named)
