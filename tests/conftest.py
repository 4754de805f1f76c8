"""Shared fixtures: a clean environment, generated media, and the gateway simulator on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from avatar_demo import providers
from avatar_demo.media import PreparedMedia, prepare_media
from avatar_demo.providers import AvatarRequest
from avatar_demo.simulator import Faults, SimulatorConfig, SimulatorServer, simulated
from tests.helpers import make_image, make_tone, real_portrait

#: Every variable a provider reads its key from (from the registry), plus the app's own settings.
PROVIDER_VARS = (
    *(variable for spec in providers.specs() for group in spec.key_groups for variable in group),
    "AVATAR_PROVIDER", "AVATAR_PUBLIC_URL", "AVATAR_HF_DATASET", "AVATAR_MAX_AUDIO_S", "AVATAR_POLL_DEADLINE_S",
    "SPACE_HOST", "SPACE_ID", "SYSTEM", "HF_TOKEN", "AVATAR_FFMPEG", "AVATAR_PUBLIC", "GRADIO_SHARE", "AVATAR_MCP",
    "AVATAR_AUTH", "AVATAR_SERVER_SECRET", "AVATAR_STATE_SECRET", "OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET",
)
#: Keys the simulator accepts; the JWT secret is long enough for HS256 hygiene.
KEYS = {
    "KLING_ACCESS_KEY": "ak-test-0001",
    "KLING_SECRET_KEY": "sk-test-secret-0123456789abcdef0123456789",
    "COMETAPI_KEY": "comet-key-1",
    "KKIAI_API_KEY": "kkiai-key-1",
    "MODELLIX_API_KEY": "modellix-key-1",
    "CRUN_API_KEY": "crun-key-1",
    "FAL_KEY": "fal-id:fal-secret-1",
}


def _plain_key(spec: providers.ProviderSpec) -> str:
    variable = next(group[0] for group in spec.key_groups if len(group) == 1)
    return KEYS.get(variable, f"{spec.name}-plain-key")


#: The key each simulated gateway accepts as a plain key (Kling's JWT pair is checked separately).
PLAIN_KEYS = {spec.name: _plain_key(spec) for spec in simulated()}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer key, base URL or setting leaks into a test; data goes to tmp_path."""
    for name in list(os.environ):
        if name in PROVIDER_VARS or name.endswith("_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AVATAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def close_services(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Every Services a test builds is closed after it: it leaves the process's engine, which stops with the last."""
    from avatar_demo.app.services import Services

    made: list[Services] = []
    original = Services.__init__

    def tracked(self: Services, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(Services, "__init__", tracked)
    yield
    for services in made:
        services.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sim() -> SimulatorServer:
    """The five simulated gateways on a real loopback port, shared by the session."""
    config = SimulatorConfig(
        job_seconds=1.0,
        keys={name: {key} for name, key in PLAIN_KEYS.items()},
        jwt_secrets={KEYS["KLING_ACCESS_KEY"]: KEYS["KLING_SECRET_KEY"]},
    )
    server = SimulatorServer(config).start()
    yield server
    server.stop()


@pytest.fixture
def gateways(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    """The simulator with every key and base URL set in the environment and faults reset."""
    fresh = Faults()
    for field in vars(fresh):
        setattr(sim.state.faults, field, getattr(fresh, field))
    sim.state.config.job_seconds = 1.0
    sim.state.config.max_in_flight = 0
    for name, value in {**sim.env(), **KEYS}.items():
        monkeypatch.setenv(name, value)
    return sim


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated inputs shared by the session."""
    folder = tmp_path_factory.mktemp("inputs")
    make_tone(folder / "speech.mp3", 3.0)
    # A real face: paid gateways are only sent photos with one.
    real_portrait(folder, jpeg=True).rename(folder / "portrait.jpg")
    make_image(folder / "drawing.jpg", (640, 800))
    return folder


@pytest.fixture
async def prepared(media_dir: Path, tmp_path: Path) -> PreparedMedia:
    """The session's portrait and speech, prepared for a gateway."""
    return await prepare_media(media_dir / "portrait.jpg", media_dir / "speech.mp3", tmp_path / "job")


@pytest.fixture
def request_(prepared: PreparedMedia) -> AvatarRequest:
    """An avatar request for the prepared portrait and speech."""
    return AvatarRequest(image=prepared.image.path, audio=prepared.audio.path)


@pytest.fixture
def receiver():
    """A CallbackHub behind a real loopback server, as a gateway would reach the app."""
    from starlette.applications import Starlette

    from avatar_demo.web.callbacks import CallbackHub
    from avatar_demo.web.serving import ThreadedServer

    app = Starlette()
    server = ThreadedServer(app, name="callback-receiver")
    hub = CallbackHub(server.url, secret="test-secret")
    app.router.routes.append(hub.route())
    with server:
        yield hub
