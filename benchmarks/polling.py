"""Polls per task and completion → result latency for simulated 10 s, 60 s and 120 s jobs.

Each job runs twice on the real job engine (DBOS on SQLite in a scratch folder): polling alone (no public address,
so no callbacks), and with the gateway's callbacks reaching a real receiver (the app's route, here on loopback).
Time is scaled by SCALE (the simulator's job length and the poll schedule alike) so the run takes
seconds; figures are reported in unscaled seconds. Targets: latency ≤ max(1 s, 10 % of age) in both modes, and
≤ 25 polls for 120 s with callbacks (polling alone needs about 34 for that latency: the schedule's floor).
Run: python benchmarks/polling.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.applications import Starlette  # noqa: E402

from avatar_demo import providers  # noqa: E402
from avatar_demo.app.config import load_settings  # noqa: E402
from avatar_demo.jobs import Submitted, Succeeded, Timing  # noqa: E402
from avatar_demo.jobs.schedule import PollSchedule  # noqa: E402
from avatar_demo.media import prepare_media  # noqa: E402
from avatar_demo.providers import AvatarRequest  # noqa: E402
from avatar_demo.simulator import SimulatorConfig, SimulatorServer  # noqa: E402
from avatar_demo.web.callbacks import CallbackHub  # noqa: E402
from avatar_demo.web.serving import ThreadedServer  # noqa: E402
from tests.helpers import JobHarness, make_image, make_tone  # noqa: E402

SCALE = 0.1
JOBS = (10.0, 60.0, 120.0)


async def one(sim: SimulatorServer, media, seconds: float, work: Path, hub: CallbackHub | None,
              seen_done: dict[str, float]) -> tuple[int, float, float, float]:
    sim.state.config.job_seconds = seconds * SCALE
    settings = load_settings({**sim.env(), "KLING_API_KEY": "bench"})
    provider = providers.make_provider(settings.provider("kling"))
    request = AvatarRequest(image=media.image.path, audio=media.audio.path, audio_duration_s=media.audio.duration_s)
    timing = Timing(schedule=PollSchedule().scaled(SCALE), deadline_s=1200 * SCALE)
    task_id = None
    with JobHarness(work / f"run-{seconds}-{hub is not None}", provider, callbacks=hub, timing=timing) as harness:
        row = await harness.start(request, provider="kling")
        async for event in harness.runs.watch(row):
            if isinstance(event, Submitted):
                task_id = event.task_id
            if isinstance(event, Succeeded):
                downloaded = time.monotonic()
    task = sim.state.tasks[task_id]
    seen = seen_done[task_id]
    ready = task.created + task.duration_s
    await provider.aclose()
    return sim.state.polls[task_id], (seen - ready) / SCALE, (seen - task.created) / SCALE, downloaded - seen


def watch_reads(sim: SimulatorServer) -> dict[str, float]:
    """When the gateway first answered a read of each task with its end (the moment the app learned it), noted
    beside the simulator's own count of reads."""
    seen_done: dict[str, float] = {}
    count = sim.state.count_poll

    def counted(task) -> None:  # type: ignore[no-untyped-def]
        count(task)
        if task.phase(time.monotonic()) in ("succeeded", "failed"):
            seen_done.setdefault(task.task_id, time.monotonic())

    sim.state.count_poll = counted  # type: ignore[method-assign]
    return seen_done


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    media = await prepare_media(make_image(work / "p.jpg", (600, 800)), make_tone(work / "v.mp3", 3.0), work / "m")
    receiver = Starlette()
    with SimulatorServer(SimulatorConfig(keys=None)) as sim, ThreadedServer(receiver) as server:
        seen_done = watch_reads(sim)
        hub = CallbackHub(server.url, "bench")
        receiver.router.routes.append(hub.route())
        print(f"time scale {SCALE} (figures below are unscaled seconds)")
        print("latency: task ready -> the first read that answers its end; download: real seconds, not scaled")
        print(f"{'mode':>10} {'job':>6} {'polls':>6} {'latency':>9} {'bound':>7} {'age at result':>14} {'download':>9}")
        for mode, callbacks in (("polling", None), ("callbacks", hub)):
            for seconds in JOBS:
                polls, latency, age, download = await one(sim, media, seconds, work, callbacks, seen_done)
                bound = max(1.0, 0.1 * age)
                print(f"{mode:>10} {seconds:5.0f}s {polls:6d} {latency:8.2f}s {bound:6.2f}s {age:13.1f}s {download:8.2f}s"
                      f"  {'ok' if latency <= bound else 'OVER'}")

if __name__ == "__main__":
    asyncio.run(main())
