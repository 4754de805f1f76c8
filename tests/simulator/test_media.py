"""The simulator's media desk renders one placeholder per length, never rewriting one being served."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from avatar_demo.simulator import media as sim_media
from tests.helpers import facts


def test_tasks_ending_together_share_one_render_that_is_never_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four videos asked at once: one ffmpeg run. A second run rewrote the file another request was streaming,
    and the app stored a video Chromium could not play."""
    runs: list[list[str]] = []
    real = sim_media.run_ffmpeg
    monkeypatch.setattr(sim_media, "run_ffmpeg", lambda args: runs.append(args) or real(args))
    desk = sim_media.MediaDesk(httpx.AsyncClient)

    async def four_at_once() -> list[Path]:
        try:
            paths = await asyncio.gather(*(desk.video(2.5) for _ in range(4)))
            assert facts(paths[0]).duration_s == pytest.approx(2.5, abs=0.2)
            return paths
        finally:
            await desk.aclose()

    paths = asyncio.run(four_at_once())
    assert len(runs) == 1 and len(set(paths)) == 1
