"""The simulator server cleans up after itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from avatar_demo.simulator import SimulatorConfig, SimulatorServer
from avatar_demo.simulator import state as sim_state
from tests.helpers import facts


def test_stopping_the_simulator_removes_its_media_and_closes_its_client() -> None:
    server = SimulatorServer(SimulatorConfig(keys=None)).start()
    state = server.state
    work = state._work
    assert httpx.get(f"{server.url}/sim/faults").status_code == 200
    assert work.is_dir()
    server.stop()
    assert not work.exists()
    assert state._client is None


def test_tasks_ending_together_share_one_render_that_is_never_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four videos asked at once: one ffmpeg run. A second run rewrote the file another request was streaming,
    and the app stored a video Chromium could not play."""
    runs: list[list[str]] = []
    real = sim_state.run_ffmpeg
    monkeypatch.setattr(sim_state, "run_ffmpeg", lambda args: runs.append(args) or real(args))
    state = sim_state.SimulatorState(SimulatorConfig(keys=None))
    task = sim_state.SimTask("kling", "1", 0.0, 0, 1.0, False, None, 2.5, "std", "")

    async def four_at_once() -> list[Path]:
        try:
            paths = await asyncio.gather(*(state.video(task) for _ in range(4)))
            assert facts(paths[0]).duration_s == pytest.approx(2.5, abs=0.2)
            return paths
        finally:
            await state.aclose()

    paths = asyncio.run(four_at_once())
    assert len(runs) == 1 and len(set(paths)) == 1
