"""The fault soak: app and simulator as separate processes, faults injected, one SIGKILL and restart of the app.

Used by tests/test_soak.py (small) and benchmarks/soak.py (50 jobs). At the end it reconciles
what the simulator billed with the app's history and with everything the clients were shown.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from avatar_demo.simulator import simulated
from avatar_demo.web.serving import free_port
from tests.helpers import make_portrait, make_tone, wait_for

__all__ = ["SoakConfig", "SoakReport", "run_soak"]

ROOT = Path(__file__).resolve().parents[1]
FINAL = {"done", "failed", "unknown", "cancelled"}


@dataclass(frozen=True)
class SoakConfig:
    """How hard to push: jobs, faults and when to kill the app."""

    jobs: int = 50
    job_seconds: float = 5.0
    outages: int = 3
    max_outage_s: float = 60.0
    poll_error_rate: float = 0.1
    poll_429_every: int = 7
    #: Every Nth job's create gets an unclear answer (a 504, or a connection cut mid-reply).
    ambiguous_every: int = 8
    #: The app is killed (SIGKILL) once this many jobs were submitted, and restarted.
    kill_after: int = 25
    gateways: tuple[str, ...] = tuple(spec.name for spec in simulated())
    seed: int = 11
    #: Seconds to wait, after the last client returns, for every task to settle.
    settle_s: float = 240.0


@dataclass
class SoakReport:
    """What happened, reconciled."""

    jobs: int
    creates: int
    billed: int
    billed_with_video: int
    billed_unknown: int
    duplicates: int
    #: The gateways of billed tasks the app could not learn of (an unclear create where it can neither look up
    #: nor be called back); each is reported to its user as "outcome unknown … may be billed".
    unknown_on: list[str] = field(default_factory=list)
    billed_reported_failed: list[str] = field(default_factory=list)
    try_again: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)
    client_errors: int = 0
    #: Users who found the app down (mid-restart) and came back once it answered again.
    came_back: int = 0
    rows: int = 0
    #: Tasks the restarted app picked up from the history (from its log).
    resumed: int = 0

    def table(self) -> str:
        """A Markdown table of the outcome."""
        rows = [("jobs requested", self.jobs), ("history rows", self.rows), ("creates at the gateways", self.creates),
                ("duplicate creates", self.duplicates), ("tasks billed", self.billed),
                ("billed, with a final history row and its video", self.billed_with_video),
                ("billed, create unclear on a gateway that cannot be asked (reported as such)", self.billed_unknown),
                ("billed but reported failed", len(self.billed_reported_failed)),
                ("\"try again\" shown for a task that exists", len(self.try_again)),
                ("rows still unsettled at the end", len(self.unsettled)),
                ("client calls cut by the SIGKILL", self.client_errors),
                ("users who found the app restarting and came back", self.came_back),
                ("tasks the restarted app picked up and finished", self.resumed)]
        return "\n".join(["| outcome | count |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


class _Processes:
    """The simulator and the app, each its own process on loopback."""

    def __init__(self, work: Path, config: SoakConfig) -> None:
        self.work = work
        self.sim_port, self.app_port = free_port(), free_port()
        self.sim_url, self.app_url = f"http://127.0.0.1:{self.sim_port}", f"http://127.0.0.1:{self.app_port}"
        keys = {variable: "soak-key-12345" for spec in simulated() for group in spec.key_groups[-1:] for variable in group}
        self.env = {**{k: v for k, v in os.environ.items() if not k.endswith("_KEY")}, **keys,
                    **{f"{s.env_prefix}_BASE_URL": f"{self.sim_url}/{s.name}" for s in simulated()},
                    "AVATAR_DATA_DIR": str(work / "data"), "AVATAR_PUBLIC_URL": self.app_url,
                    "GRADIO_SERVER_PORT": str(self.app_port), "GRADIO_ANALYTICS_ENABLED": "False"}
        self.simulator = subprocess.Popen([sys.executable, "-m", "avatar_demo", "simulate", "--port",
                                           str(self.sim_port), "--job-seconds", str(config.job_seconds)],
                                          cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f"{self.sim_url}/sim/faults", self.simulator)
        self.app = self.start_app()

    def start_app(self) -> subprocess.Popen:
        log = (self.work / "app.log").open("ab")
        app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        wait_for(f"{self.app_url}/config", app)
        return app

    def faults(self, **knobs: float) -> None:
        httpx.post(f"{self.sim_url}/sim/faults", json=knobs, timeout=10)

    def kill_and_restart(self) -> None:
        self.app.send_signal(signal.SIGKILL)
        self.app.wait(30)
        self.app = self.start_app()

    def stop(self) -> None:
        for process in (self.app, self.simulator):
            process.terminate()
            process.wait(30)


def _rows(database: Path) -> list[dict]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM tasks ORDER BY id")]


def run_soak(work: Path, config: SoakConfig) -> SoakReport:
    """Run the soak in *work* and reconcile; never raises for what it measures."""
    rng = random.Random(config.seed)
    media = work / "media"
    media.mkdir(parents=True, exist_ok=True)
    inputs = [(make_portrait(media / f"p{i}.jpg", (600 + 2 * i, 800)), make_tone(media / f"v{i}.wav", 3.0, volume_db=-12 - i % 9))
              for i in range(config.jobs)]
    procs = _Processes(work, config)
    seen: list[str] = []
    seen_lock = threading.Lock()
    submitted = threading.Semaphore(0)
    client_errors = 0
    came_back = 0
    try:
        procs.faults(poll_error_rate=config.poll_error_rate, poll_429_every=config.poll_429_every, retry_after_s=1.0)

        def connect() -> Client:
            # While the app restarts nothing answers, and nothing was sent: a user reloads until it is back.
            nonlocal came_back
            for attempt in range(240):
                try:
                    client = Client(procs.app_url, verbose=False, ssl_verify=False)
                except Exception:  # noqa: BLE001 - connection refused, or the page not served yet
                    time.sleep(0.5)
                    continue
                if attempt:
                    with seen_lock:
                        came_back += 1
                return client
            raise RuntimeError("the app did not come back")

        def job(index: int) -> None:
            nonlocal client_errors
            gateway = config.gateways[index % len(config.gateways)]
            if config.ambiguous_every and index % config.ambiguous_every == config.ambiguous_every - 1:
                procs.faults(ambiguous_creates=1, ambiguous_mode=rng.choice(["gateway_timeout", "drop"]))
            try:
                client = connect()
                photo, voice = inputs[index]
                handle = client.submit(image=handle_file(str(photo)), audio=handle_file(str(voice)),
                                       prompt=f"soak {index}", provider=gateway, api_name="/generate")
                submitted.release()
                while not handle.done():
                    time.sleep(0.25)
                outputs = [str(o[0]) for o in handle.outputs()]
                try:
                    outputs.append(str(handle.result()[0]))
                except AppError as exc:  # a refusal or a failure, in the app's words
                    outputs.append(str(exc))
                except Exception:  # noqa: BLE001 - the SIGKILL cut this call
                    with seen_lock:
                        client_errors += 1
                with seen_lock:
                    seen.extend(outputs)
            except Exception:  # noqa: BLE001 - the SIGKILL breaks calls in flight
                submitted.release()
                client_errors += 1

        def saboteur() -> None:
            for _ in range(config.outages):
                time.sleep(rng.uniform(2, 2 + config.job_seconds * 2))
                procs.faults(outage_s=rng.uniform(config.max_outage_s / 4, config.max_outage_s))
            for _ in range(config.kill_after):
                submitted.acquire()
            time.sleep(config.job_seconds / 2)
            procs.kill_and_restart()

        sabotage = threading.Thread(target=saboteur, daemon=True)
        sabotage.start()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            for index in range(config.jobs):
                pool.submit(job, index)
                time.sleep(rng.uniform(0.05, 0.4))
        sabotage.join()
        deadline = time.monotonic() + config.settle_s
        while time.monotonic() < deadline:
            rows = _rows(work / "data" / "history.sqlite3")
            if rows and all(r["status"] in FINAL for r in rows):
                break
            time.sleep(1.0)
        tasks = httpx.get(f"{procs.sim_url}/sim/tasks", timeout=10).json()
    finally:
        procs.stop()
    report = _reconcile(work, config, rows, tasks, seen, client_errors)
    report.came_back = came_back
    return report


def _reconcile(work: Path, config: SoakConfig, rows: list[dict], tasks: list[dict], seen: list[str],
               client_errors: int) -> SoakReport:
    by_task = {r["task_id"]: r for r in rows if r["task_id"]}
    videos = work / "data" / "videos"
    billed = [t for t in tasks if t["billed"]]
    with_video = [t for t in billed if t["task_id"] in by_task and by_task[t["task_id"]]["status"] == "done"
                  and (videos / (by_task[t["task_id"]]["video_path"] or "-")).is_file()]
    # A task with no row of its own can only belong to a row that never learnt its id; more than that is a duplicate.
    idless = [r for r in rows if not r["task_id"]]
    orphans = [t for t in tasks if t["task_id"] not in by_task]
    externals = [t["external_task_id"] for t in tasks if t["external_task_id"]]
    duplicates = len(externals) - len(set(externals)) + max(0, len(orphans) - len(idless))
    texts = seen + [r["message"] or "" for r in rows]
    failed_shown = [t["task_id"] for t in billed
                    if any(t["task_id"] in s and "Status:** failed" in s for s in seen)
                    or by_task.get(t["task_id"], {}).get("status") == "failed"]
    try_again = [s[:160] for s in texts if "try again" in s.lower() and "Task id" in s]
    return SoakReport(
        jobs=config.jobs, creates=len(tasks), billed=len(billed), billed_with_video=len(with_video),
        billed_unknown=len([t for t in billed if t["task_id"] not in by_task]), duplicates=duplicates,
        unknown_on=[t["gateway"] for t in billed if t["task_id"] not in by_task],
        billed_reported_failed=failed_shown, try_again=try_again,
        unsettled=[f"{r['id']}:{r['status']}" for r in rows if r["status"] not in FINAL],
        client_errors=client_errors, rows=len(rows), resumed=_resumed(work / "app.log"))


def _resumed(log: Path) -> int:
    found = re.findall(r"picked up (\d+) run\(s\) left unfinished", log.read_text(errors="replace"))
    return sum(int(n) for n in found)


if __name__ == "__main__":  # pragma: no cover - a quick manual run
    import tempfile

    report = run_soak(Path(tempfile.mkdtemp(prefix="soak-")), SoakConfig(jobs=12, outages=1, max_outage_s=8,
                                                                         job_seconds=2, kill_after=6))
    print(report.table())
    print(json.dumps(report.__dict__, indent=1, default=str))
