"""An offline simulator of all five gateways, served as one ASGI app (one mount per gateway)."""

from __future__ import annotations

import dataclasses

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from ..serving import ThreadedServer
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


class SimulatorServer(ThreadedServer):
    """The simulator as a real uvicorn server on 127.0.0.1, in a background thread."""

    def __init__(self, config: SimulatorConfig | None = None, *, port: int = 0) -> None:
        super().__init__(create_app(config), port=port, name="gateway-simulator")
        self.state: SimulatorState = self.app.state.sim

    def base_url(self, gateway: str) -> str:
        """What to put in <GATEWAY>_BASE_URL."""
        return f"{self.url}/{gateway}"

    def env(self) -> dict[str, str]:
        """Every <NAME>_BASE_URL pointing here."""
        return {f"{g.upper()}_BASE_URL": self.base_url(g) for g in GATEWAYS}
