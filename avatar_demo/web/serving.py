"""Serve an ASGI app with uvicorn on a loopback port from a background thread (simulator, callback receiver)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["ThreadedServer", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThreadedServer:
    """One ASGI app on 127.0.0.1:*port* (a free one when 0), started and stopped from the calling thread."""

    def __init__(self, app: Any, *, port: int = 0, name: str = "asgi-server") -> None:
        port = port or free_port()
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                                     lifespan="auto", timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self) -> ThreadedServer:
        """Start serving and wait until the port answers."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self._thread.name} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
