"""A lab batch at the gateway account's own pace: makespan against the ideal, and creates refused for capacity.

The simulator stands in for Kling with an account that takes LIMIT unfinished tasks and JOB_S-second
jobs; the app runs as its own process (`python app.py`) and the batch goes through its public `/lab`
API. Each scenario runs once with `KLING_MAX_PARALLEL` left at the provider's default (5: the app must
learn the account's real limit from its capacity refusals) and once set to the account's limit.

    python benchmarks/lab_makespan.py [--job-seconds 10] [--skip-60] [--kill]

Printed per scenario: variants done, makespan (first create sent to last video recorded) and its ratio
to the ideal ceil(N / LIMIT) x JOB_S, the wall time of the /lab call, accepted and refused creates.
Targets: every variant done, ratio <= 1.15, refused <= 3 unconfigured and 0 configured. With --kill the
app is SIGKILLed after its first creates and restarted: the batch must still end N/N done with exactly N
accepted creates.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradio_client import Client, handle_file  # noqa: E402

from avatar_demo.simulator import SimulatorConfig, SimulatorServer  # noqa: E402
from avatar_demo.web.serving import free_port  # noqa: E402
from tests.helpers import make_tone, real_portrait, wait_for  # noqa: E402

KEY = "bench-kling-key"


@dataclass
class Outcome:
    variants: int
    limit: int
    configured: bool
    done: int
    makespan_s: float
    call_s: float
    accepted: int
    refused: int
    job_s: float

    @property
    def ideal_s(self) -> float:
        return math.ceil(self.variants / self.limit) * self.job_s

    def line(self) -> str:
        setting = f"KLING_MAX_PARALLEL={self.limit}" if self.configured else "KLING_MAX_PARALLEL unset (5)"
        return (f"{self.variants:3d} variants, account limit {self.limit}, {setting:30s} | done {self.done}/{self.variants}"
                f" | makespan {self.makespan_s:6.1f} s / ideal {self.ideal_s:5.1f} s = {self.makespan_s / self.ideal_s:4.2f}"
                f" | /lab call {self.call_s:6.1f} s | creates accepted {self.accepted}, refused for capacity {self.refused}")


def start_app(data: Path, sim: SimulatorServer, port: int, *, parallel: int | None, log: Path) -> subprocess.Popen:
    env = {**os.environ, **sim.env(), "KLING_API_KEY": KEY, "AVATAR_DATA_DIR": str(data),
           "AVATAR_PUBLIC_URL": f"http://127.0.0.1:{port}", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "AVATAR_POLL_DEADLINE_S": "1200"}
    env.pop("KLING_MAX_PARALLEL", None)
    if parallel is not None:
        env["KLING_MAX_PARALLEL"] = str(parallel)
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT)
    wait_for(f"http://127.0.0.1:{port}/", process, 120)
    return process


def rows(data: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{data / 'history.sqlite3'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM tasks ORDER BY id").fetchall()


def wait_all_done(data: Path, variants: int, seconds: float) -> list[sqlite3.Row]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = rows(data)
        if len(found) >= variants and all(r["status"] in ("done", "failed", "cancelled", "unknown") for r in found):
            return found
        time.sleep(0.5)
    return rows(data)


def scenario(sim: SimulatorServer, media: Path, *, variants: int, limit: int, configured: bool, job_s: float,
             kill: bool = False) -> Outcome:
    sim.state.config.job_seconds = job_s
    sim.state.config.max_in_flight = limit
    accepted, refused = sim.state.creates.get("kling", 0), sim.state.refused.get("kling", 0)
    work = Path(tempfile.mkdtemp(prefix="lab-bench-"))
    port = free_port()
    log = work / "app.log"
    app = start_app(work / "data", sim, port, parallel=limit if configured else None, log=log)
    prompts = "\n".join(f"variant {i + 1}: a slow nod" for i in range(variants))
    started = time.perf_counter()
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        job = client.submit(image=handle_file(str(media / "portrait.jpg")), audio=handle_file(str(media / "voice.mp3")),
                            prompts=prompts, modes=["std"], provider="kling", api_name="/lab")
        if kill:
            while sim.state.creates.get("kling", 0) - accepted < 2:
                time.sleep(0.05)
            app.send_signal(signal.SIGKILL)
            app.wait()
            app = start_app(work / "data", sim, port, parallel=limit if configured else None, log=log)
        else:
            job.result(timeout=1800)
        call_s = time.perf_counter() - started
        found = wait_all_done(work / "data", variants, 1800)
    finally:
        app.send_signal(signal.SIGINT)
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
    sent = [r["sent_at"] for r in found if r["sent_at"]]
    ended = [r["created_at"] + r["elapsed_s"] for r in found if r["elapsed_s"]]
    makespan = (max(ended) - min(sent)) if sent and ended else float("nan")
    return Outcome(variants, limit, configured, sum(r["status"] == "done" for r in found), makespan, call_s,
                   sim.state.creates.get("kling", 0) - accepted, sim.state.refused.get("kling", 0) - refused, job_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job-seconds", type=float, default=10.0)
    parser.add_argument("--skip-60", action="store_true", help="only the 18-variant scenarios")
    parser.add_argument("--kill", action="store_true", help="also SIGKILL the app mid-batch and restart it")
    args = parser.parse_args()
    media = Path(tempfile.mkdtemp(prefix="lab-media-"))
    real_portrait(media, jpeg=True).rename(media / "portrait.jpg")
    make_tone(media / "voice.mp3", 3.0)
    sim = SimulatorServer(SimulatorConfig(job_seconds=args.job_seconds, keys={"kling": {KEY}})).start()
    plans = [(18, 3)] + ([] if args.skip_60 else [(60, 5)])
    try:
        outcomes = [scenario(sim, media, variants=n, limit=limit, configured=configured, job_s=args.job_seconds)
                    for n, limit in plans for configured in (False, True)]
        if args.kill:
            outcomes.append(scenario(sim, media, variants=18, limit=3, configured=True, job_s=args.job_seconds,
                                     kill=True))
    finally:
        sim.stop()
    print("\nlab makespan against a simulated Kling account (one /lab batch each, side by side in one run)")
    for outcome in outcomes:
        print(("SIGKILL+restart " if args.kill and outcome is outcomes[-1] else "") + outcome.line())


if __name__ == "__main__":
    main()
