"""An offline simulator of every gateway, served as one ASGI app (one mount per provider, by its wire contract).

It owns the routes, auth, limits, status sequences, error bodies, callbacks and injected faults of
each contract (kling, others, fal) over one shared state (state). It may import `providers` (to know
which gateways to stand in for), `media.ffmpeg` and `web.serving`; the app never imports it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from .. import providers
from ..providers.spec import ProviderSpec
from ..web.serving import ThreadedServer
from .config import Faults, SimulatorConfig
from .fal import fal_app
from .kling import kling_app
from .others import crun_app, modellix_app
from .state import SimulatorState

__all__ = ["Faults", "SimulatorConfig", "SimulatorServer", "SimulatorState", "create_app", "simulated"]

#: One fake per wire contract; a provider's spec names the contract it speaks.
CONTRACTS: dict[str, Callable[[SimulatorState, ProviderSpec], Starlette]] = {
    "kling": kling_app,
    "modellix": modellix_app,
    "crun": crun_app,
    "fal": fal_app,
}


def simulated() -> list[ProviderSpec]:
    """The providers the simulator stands in for (every one that talks to a gateway)."""
    return [spec for spec in providers.specs() if spec.contract]


def create_app(config: SimulatorConfig | None = None) -> Starlette:
    """The simulator app; provider NAME lives under /NAME, so NAME_BASE_URL=http://host:port/NAME."""
    state = SimulatorState(config or SimulatorConfig())

    async def faults(request: Request) -> JSONResponse:
        if request.method == "POST":
            changes = await request.json()
            for key, value in changes.items():
                if key == "outage_s":
                    state.start_outage(float(value))
                elif hasattr(state.faults, key):
                    setattr(state.faults, key, type(getattr(state.faults, key))(value))
        return JSONResponse(dataclasses.asdict(state.faults))

    async def tasks(request: Request) -> JSONResponse:
        # What the gateways made and billed, for the fault soak's bookkeeping.
        now = time.monotonic()
        return JSONResponse([{"task_id": t.task_id, "gateway": t.gateway, "phase": t.phase(now),
                              "external_task_id": t.external_task_id, "billed": t.phase(now) == "succeeded"}
                             for t in list(state.tasks.values())])

    mounts = [Mount(f"/{spec.name}", CONTRACTS[spec.contract](state, spec))
              for spec in simulated() if spec.contract]
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await state.aclose()

    app = Starlette(routes=[Route("/sim/faults", faults, methods=["GET", "POST"]),
                            Route("/sim/tasks", tasks, methods=["GET"]), *mounts], lifespan=lifespan)
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
        return {f"{spec.env_prefix}_BASE_URL": self.base_url(spec.name) for spec in simulated()}
