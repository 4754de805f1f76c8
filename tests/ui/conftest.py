"""The real app, launched on a free port against the simulator, for gradio_client and browser tests."""

from __future__ import annotations

import pytest

from avatar_demo.app.config import load_settings
from avatar_demo.simulator import Faults
from avatar_demo.ui import build_demo, launch
from avatar_demo.web.serving import free_port
from tests.conftest import KEYS


def launched(env: dict[str, str], *, own_url: bool = True, **settings_overrides):  # type: ignore[no-untyped-def]
    """Build and launch the app on a free port with *env* as its whole environment; returns the demo.

    With *own_url* the app's public address is its loopback URL, so the simulator's callbacks reach it.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    demo = build_demo(load_settings({**({"AVATAR_PUBLIC_URL": url} if own_url else {}), **env}, **settings_overrides))
    launch(demo, prevent_thread_lock=True, server_port=port, quiet=True)
    demo.test_url = url  # type: ignore[attr-defined]
    return demo


@pytest.fixture(scope="module")
def app(sim, tmp_path_factory: pytest.TempPathFactory):
    """The launched app; every gateway points at the simulator; Modellix has no server key (BYO tests)."""
    # Kling's account takes many tasks at once here: these tests are about the app, not an account's line.
    env = {**sim.env(), **{k: v for k, v in KEYS.items() if k != "MODELLIX_API_KEY"},
           "AVATAR_DATA_DIR": str(tmp_path_factory.mktemp("appdata")), "KLING_MAX_PARALLEL": "50"}
    demo = launched(env)
    yield demo
    demo.close()


@pytest.fixture
def fresh_sim(sim):
    """Reset the simulator's fault knobs and timing between tests."""
    fresh = Faults()
    for field in vars(fresh):
        setattr(sim.state.faults, field, getattr(fresh, field))
    sim.state.config.job_seconds = 1.0
    yield sim
    sim.state.config.job_seconds = 1.0
