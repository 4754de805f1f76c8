"""Makespan of N users pressing Generate at once (5 s simulated Kling jobs) and the app's peak memory.

The app (`python app.py`) and the simulator (`python -m avatar_demo simulate`) run as their own
processes, as they would in production; N gradio_client users, each with their own photo and voice
(so nothing is shared through the prepare cache), call `/generate` at the same moment: by default
through the page's own protocol from one asyncio process (upload, queue/join, the event stream,
the video download), or with `--client gradio_client`. For every N the app is restarted so its peak RSS (VmHWM) belongs
to that N alone. The app's public address is its loopback URL, so the simulator's status callbacks
reach it (`--no-callbacks` to poll only).

    python benchmarks/concurrency.py [--users 1 20 50 100] [--job-seconds 5] [--repeat 3] [--client browser] [--no-callbacks]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradio_client import Client, handle_file  # noqa: E402

from avatar_demo.web.serving import free_port  # noqa: E402
from benchmarks import browser_client  # noqa: E402
from tests.helpers import make_portrait, make_tone, wait_for  # noqa: E402

#: Processes the simulated users are spread over.
CLIENT_PROCESSES = 4


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def inputs(folder: Path, users: int) -> list[tuple[Path, Path]]:
    """A distinct 3 s voice and photo per user, as real users would bring."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i in range(users):
        voice = make_tone(folder / f"voice-{i}.wav", 3.0, volume_db=-12.0 - (i % 10))
        photo = make_portrait(folder / f"photo-{i}.jpg", (600 + 2 * i, 800))
        pairs.append((photo, voice))
    return pairs


def _user(client: Client, photo: Path, voice: Path, go: float) -> tuple[float, float]:
    """One user: press Generate at *go* (monotonic); returns (seconds to the video, seconds to the task id)."""
    time.sleep(max(0.0, go - time.monotonic()))
    began = time.monotonic()
    job = client.submit(image=handle_file(str(photo)), audio=handle_file(str(voice)), prompt="a slow nod",
                        mode="std", provider="kling", api_name="/generate")
    submitted = float("nan")
    while not job.done():
        if any("Task id" in str(o[0]) for o in job.outputs()):
            submitted = time.monotonic() - began
            break
        time.sleep(0.05)
    status = job.result()[0]  # blocks on the job's future: no polling once the task id is known
    if "done ✓" not in status:
        raise SystemExit(f"a user did not finish: {status}")
    return time.monotonic() - began, submitted


def _client_process(url: str, media: list[tuple[Path, Path]], conn: Connection) -> None:
    """A share of the users, each with its own gradio_client, in a process of its own."""
    # Plain HTTP on loopback: skip loading the CA bundle, which gradio_client would do for every upload.
    clients = [Client(url, verbose=False, ssl_verify=False) for _ in media]
    conn.send("ready")
    go = conn.recv()
    with concurrent.futures.ThreadPoolExecutor(len(media)) as pool:
        results = list(pool.map(lambda i: _user(clients[i], *media[i], go), range(len(media))))
    for client in clients:
        client.close()
    conn.send(results)


async def _browser_wave(url: str, media: list[tuple[Path, Path]]) -> list[tuple[float, float]]:
    # Idle connections are dropped well before uvicorn's 5 s keep-alive ends, so no request races its close.
    limits = httpx.Limits(max_connections=4 * len(media) + 8, max_keepalive_connections=2 * len(media) + 8,
                          keepalive_expiry=1.0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits) as http:
        endpoint = await browser_client.discover(http, url, "generate")
        jobs = [browser_client.generate(http, url, endpoint, {"prompt": "a slow nod", "mode": "std", "provider": "kling"},
                                        {"image": photo, "audio": voice}) for photo, voice in media]
        results = await asyncio.gather(*jobs)
    for _, _, status in results:
        if "done ✓" not in status:
            raise SystemExit(f"a user did not finish: {status}")
    return [(total, submitted) for total, submitted, _ in results]


def run_wave(url: str, media: list[tuple[Path, Path]], client: str = "browser"
             ) -> tuple[float, list[float], list[float]]:
    """Every user calls /generate at the same instant; returns makespan, per-user totals and submit times.

    Real users are separate machines, but here they share the app's two cores. The "browser" client
    speaks the page's own protocol from one asyncio process; "gradio_client" users are spread over a
    few processes so that one process's GIL does not set the pace instead of the app.
    """
    if client == "browser":
        results = asyncio.run(_browser_wave(url, media))
        totals = [r[0] for r in results]
        return max(totals), totals, [r[1] for r in results]
    processes = CLIENT_PROCESSES
    shares = [media[i::processes] for i in range(min(processes, len(media)))]
    context = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    for share in shares:
        parent, child = context.Pipe()
        worker = context.Process(target=_client_process, args=(url, share, child), daemon=True)
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    for pipe in pipes:
        if pipe.recv() != "ready":
            raise SystemExit("a client process failed to start")
    go = time.monotonic() + 0.5  # CLOCK_MONOTONIC is shared by every process on the machine
    for pipe in pipes:
        pipe.send(go)
    results = [r for pipe in pipes for r in pipe.recv()]
    for worker in workers:
        worker.join(30)
    totals = [r[0] for r in results]
    return max(totals), totals, [r[1] for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 20, 50, 100])
    parser.add_argument("--job-seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3, help="waves per N; the median makespan is reported")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="AVATAR_CONCURRENCY for the app: preparations at once (default: the number of cores)")
    parser.add_argument("--client", choices=["browser", "gradio_client"], default="browser",
                        help="browser: the page's protocol from one asyncio process (lean); gradio_client: the "
                             "official client, spread over four processes (it costs the shared cores more CPU)")
    parser.add_argument("--no-callbacks", action="store_true",
                        help="give the app no public address, so results are found by polling alone")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="avatar-bench-"))
    media = inputs(work / "media", max(args.users))
    sim_port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    simulator = subprocess.Popen([sys.executable, "-m", "avatar_demo", "simulate", "--port", str(sim_port),
                                  "--job-seconds", str(args.job_seconds)], cwd=ROOT, **quiet)
    try:
        wait_for(f"http://127.0.0.1:{sim_port}/sim/faults", simulator, 60)
        rows = []
        for users in args.users:
            port = free_port()
            env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
                   "AVATAR_DATA_DIR": str(work / f"data-{users}"), "AVATAR_PROVIDER": "kling",
                   "KLING_API_KEY": "bench-key", "KLING_BASE_URL": f"http://127.0.0.1:{sim_port}/kling"}
            if args.concurrency:
                env["AVATAR_CONCURRENCY"] = str(args.concurrency)
            if not args.no_callbacks:
                env["AVATAR_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
            app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, **quiet)
            try:
                wait_for(f"http://127.0.0.1:{port}/config", app, 60)
                run_wave(f"http://127.0.0.1:{port}", media[:1], args.client)  # warm-up: imports, first ffmpeg run
                waves = [run_wave(f"http://127.0.0.1:{port}", media[:users], args.client) for _ in range(args.repeat)]
                rss = peak_rss_mb(app.pid)
            finally:
                app.terminate()
                app.wait(30)
            makespan = statistics.median(w[0] for w in waves)
            submit = statistics.median(statistics.median(w[2]) for w in waves)
            rows.append((users, makespan, submit, rss))
            print(f"N={users:3d}  makespan {makespan:6.2f} s  median time to 'submitted' {submit:5.2f} s  "
                  f"app peak RSS {rss:6.0f} MB", flush=True)
    finally:
        simulator.terminate()
        simulator.wait(30)

    single = rows[0][1]
    print(f"\n| users | makespan | ratio to N={rows[0][0]} | median time to submitted | app peak RSS |")
    print("|---|---|---|---|---|")
    for users, makespan, submit, rss in rows:
        print(f"| {users} | {makespan:.2f} s | {makespan / single:.2f}× | {submit:.2f} s | {rss:.0f} MB |")


if __name__ == "__main__":
    main()
