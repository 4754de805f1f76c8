"""An offline simulator of all five gateways, served as one ASGI app (one mount per gateway)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from .kling import kling_app
from .others import crun_app, modellix_app
from .state import Faults, SimulatorConfig, SimulatorState

__all__ = ["Faults", "SimulatorConfig", "SimulatorServer", "SimulatorState", "create_app"]

GATEWAYS = ("kling", "cometapi", "kkiai", "modellix", "crun")


def create_app(config: SimulatorConfig | None = None) -> Starlette:
    """The simulator app; gateway NAME lives under /NAME, so NAME_BASE_URL=http://host:port/NAME."""
    state = SimulatorState(config or SimulatorConfig())

    async def faults(request: Request) -> JSONResponse:
        if request.method == "POST":
            changes = await request.json()
            for key, value in changes.items():
                if hasattr(state.faults, key):
                    setattr(state.faults, key, type(getattr(state.faults, key))(value))
        return JSONResponse(dataclasses.asdict(state.faults))

    app = Starlette(routes=[
        Route("/sim/faults", faults, methods=["GET", "POST"]),
        Mount("/kling", kling_app(state, "kling", prefix="", audio_limit_s=300.0)),
        Mount("/cometapi", kling_app(state, "cometapi", prefix="/kling", audio_limit_s=60.0)),
        Mount("/kkiai", kling_app(state, "kkiai", prefix="/kling", audio_limit_s=300.0)),
        Mount("/modellix", modellix_app(state)),
        Mount("/crun", crun_app(state)),
    ])
    app.state.sim = state
    return app


class SimulatorServer:
    """The simulator as a real uvicorn server on 127.0.0.1, in a background thread."""

    def __init__(self, config: SimulatorConfig | None = None, *, port: int = 0) -> None:
        self.app = create_app(config)
        self.state: SimulatorState = self.app.state.sim
        if port == 0:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="error",
                                                     lifespan="off", timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=self._server.run, name="gateway-simulator", daemon=True)

    def base_url(self, gateway: str) -> str:
        """What to put in <GATEWAY>_BASE_URL."""
        return f"{self.url}/{gateway}"

    def env(self) -> dict[str, str]:
        """Every <NAME>_BASE_URL pointing here."""
        return {f"{g.upper()}_BASE_URL": self.base_url(g) for g in GATEWAYS}

    def start(self) -> SimulatorServer:
        """Start serving and wait until the port answers."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
