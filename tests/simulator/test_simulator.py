"""The simulator server cleans up after itself."""

from __future__ import annotations

import httpx

from avatar_demo.simulator import SimulatorConfig, SimulatorServer


def test_stopping_the_simulator_removes_its_media_and_closes_its_client() -> None:
    server = SimulatorServer(SimulatorConfig(keys=None)).start()
    state = server.state
    work = state.media._work
    assert httpx.get(f"{server.url}/sim/faults").status_code == 200
    assert work.is_dir()
    server.stop()
    assert not work.exists()
    assert state._client is None
