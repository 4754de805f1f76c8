"""One replica against two, side by side in one run: the makespan of 60 `/generate` calls with 60 different large
photos and voices (preparation-bound: the account's parallel limit is set high), and where the time goes.

Both setups share one throwaway Postgres (Debian's server binaries) and a data folder, against the simulator
(Kling, 1 s jobs). The calls are made at once, spread round-robin over the replicas. Printed per setup: the
makespan, and the medians of the time until a call's run was recorded (its inputs prepared), in line, and at the
gateway to its video. On a 2-core machine two replicas share the same two cores: the figure is the ratio, and
the breakdown says why.

    python benchmarks/replicas.py [--calls 60] [--megapixels 12] [--voice-seconds 30]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from PIL import Image  # noqa: E402

from avatar_demo.simulator import SimulatorConfig, SimulatorServer  # noqa: E402
from tests.helpers import make_tone, real_portrait  # noqa: E402
from tests.servers import postgres  # noqa: E402
from tests.test_replicas import SECRETS, Replica, _reset, _rows  # noqa: E402

KEY = "bench-kling-key"


def inputs(folder: Path, calls: int, megapixels: float, voice_s: float) -> list[tuple[Path, Path]]:
    """*calls* distinct large photos (the real portrait, scaled up, each with its own noise) and voices."""
    portrait = Image.open(real_portrait(folder)).convert("RGB")
    side = int((megapixels * 1e6 / (portrait.width * portrait.height)) ** 0.5 * portrait.width)
    base = np.asarray(portrait.resize((side, side * portrait.height // portrait.width)), dtype=np.int16)
    made = []
    rng = np.random.default_rng(5)
    for i in range(calls):
        photo = folder / f"photo-{i}.jpg"
        noisy = np.clip(base + rng.integers(-3, 4, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(photo, quality=92)
        voice = folder / f"voice-{i}.mp3"
        make_tone(voice, voice_s, volume_db=-14.0 - i % 7)
        made.append((photo, voice))
    return made


def setup(count: int, sim: SimulatorServer, url: str, work: Path, media: list[tuple[Path, Path]]) -> dict[str, float]:
    _reset(url)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AVATAR_", "GRADIO_"))}, **sim.env(),
           **SECRETS, "KLING_API_KEY": KEY, "KLING_MAX_PARALLEL": "100", "AVATAR_DATABASE_URL": url,
           "AVATAR_DATA_DIR": str(work / f"data-{count}"), "GRADIO_ANALYTICS_ENABLED": "False"}
    replicas = [Replica(f"replica-{i}", env, work / f"replica-{count}-{i}.log").start() for i in range(count)]
    try:
        clients = [Client(r.url, verbose=False) for r in replicas]
        started = time.time()

        def call(i: int) -> None:
            photo, voice = media[i]
            clients[i % count].predict(image=handle_file(str(photo)), audio=handle_file(str(voice)), provider="kling",
                                       api_name="/generate")

        with concurrent.futures.ThreadPoolExecutor(len(media)) as pool:
            list(pool.map(call, range(len(media))))
        makespan = time.time() - started
        rows = _rows(url)
    finally:
        for replica in replicas:
            replica.stop()
    done = [r for r in rows if r["status"] == "done"]
    return {"makespan": makespan, "done": len(done),
            "prepared": statistics.median(r["created_at"] - started for r in rows),
            "in line": statistics.median(r["sent_at"] - r["created_at"] for r in done),
            "at gateway": statistics.median(r["created_at"] + r["elapsed_s"] - r["sent_at"] for r in done)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--voice-seconds", type=float, default=30.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="replicas-bench-"))
    media = inputs(work, args.calls, args.megapixels, args.voice_seconds)
    sim = SimulatorServer(SimulatorConfig(job_seconds=1.0, keys={"kling": {KEY}})).start()
    try:
        with postgres() as url:
            results = {count: setup(count, sim, url, work, media) for count in (1, 2)}
    finally:
        sim.stop()
    print(f"\n{args.calls} /generate calls at once, {args.megapixels:g} MP photos, {args.voice_seconds:g} s voices, "
          f"Postgres, {os.cpu_count()} cores")
    for count, found in results.items():
        print(f"{count} replica(s): makespan {found['makespan']:6.1f} s, done {found['done']}/{args.calls} | medians: "
              f"recorded after {found['prepared']:5.1f} s, in line {found['in line']:4.1f} s, "
              f"at the gateway {found['at gateway']:4.1f} s")
    print(f"two replicas / one: {results[2]['makespan'] / results[1]['makespan']:.2f}")


if __name__ == "__main__":
    main()
