"""Two replicas (two `python app.py` processes) on one real Postgres and one shared data folder, behind nginx."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from avatar_demo.web.serving import free_port
from tests.conftest import KEYS
from tests.helpers import wait_for
from tests.servers import nginx, postgres

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {"AVATAR_SERVER_SECRET": "replicas-server-secret-0123456789abcdef",
           "AVATAR_STATE_SECRET": "replicas-state-secret-0123456789abcdef"}


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with postgres() as url:
        yield url


class Replica:
    """One app process."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "AVATAR_REPLICA_ID": name, "GRADIO_SERVER_PORT": str(self.port),
                    "AVATAR_PUBLIC_URL": self.url}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> Replica:
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        wait_for(f"{self.url}/", self.process, 120)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def replicas(sim, database: str, tmp_path: Path, media_dir: Path):  # type: ignore[no-untyped-def]
    """A function that starts replica processes sharing the database and one data folder."""
    started: list[Replica] = []
    shared = tmp_path / "shared-data"
    base = {**{k: v for k, v in os.environ.items() if not k.startswith(("AVATAR_", "GRADIO_"))}, **sim.env(), **KEYS,
            **SECRETS, "AVATAR_DATABASE_URL": database, "AVATAR_DATA_DIR": str(shared),
            "GRADIO_ANALYTICS_ENABLED": "False"}

    def start(name: str, **extra: str) -> Replica:
        replica = Replica(name, {**base, **extra}, tmp_path / f"{name}.log").start()
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.stop(signal.SIGKILL)
    _reset(database)


def _reset(url: str) -> None:
    """Empty the shared database between tests (the engine's schema too)."""
    import sqlalchemy as sa

    from avatar_demo.store.database import sqlalchemy_url

    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS dbos CASCADE"))
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _rows(url: str) -> list[dict]:
    import sqlalchemy as sa

    from avatar_demo.store.database import sqlalchemy_url

    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("tasks"):
                return []  # no replica has opened the store yet
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM tasks ORDER BY id"))]
    finally:
        engine.dispose()


def test_postgres_without_shared_secrets_refuses_to_start(database: str, tmp_path: Path) -> None:
    """A secret one replica made for itself would void the others' callbacks and browser ids: refused, named."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**env, "AVATAR_DATABASE_URL": database, "AVATAR_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 2
    assert "AVATAR_SERVER_SECRET and AVATAR_STATE_SECRET" in proc.stderr


def test_a_replica_killed_mid_batch_costs_nothing(replicas, sim, database: str, media_dir: Path) -> None:
    """A 12-variant lab batch goes to replica A, which is SIGKILLed after its first creates: replica B ends every
    variant, with exactly 12 accepted creates in all, and B's history shows the batch."""
    sim.state.config.job_seconds = 3.0
    before = sim.state.creates.get("kling", 0)
    a = replicas("replica-a", KLING_MAX_PARALLEL="3")
    b = replicas("replica-b", KLING_MAX_PARALLEL="3")
    client = Client(a.url, verbose=False)
    owner, _ = client.predict(api_name="/history")
    client.submit(image=handle_file(str(media_dir / "portrait.jpg")), audio=handle_file(str(media_dir / "speech.mp3")),
                  prompts="\n".join(f"take {i}" for i in range(12)), modes=["std"], provider="kling", owner=owner,
                  api_name="/lab")
    deadline = time.monotonic() + 120
    while sim.state.creates.get("kling", 0) - before < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    a.stop(signal.SIGKILL)
    deadline = time.monotonic() + 240
    rows = _rows(database)
    while time.monotonic() < deadline:
        rows = _rows(database)
        if len(rows) == 12 and all(r["status"] == "done" for r in rows):
            break
        time.sleep(1)
    assert [r["status"] for r in rows] == ["done"] * 12, [(r["id"], r["status"], r["message"]) for r in rows]
    assert sim.state.creates["kling"] - before == 12
    _, runs = Client(b.url, verbose=False).predict(owner=owner, api_name="/history")
    assert len([r for r in runs if r["status"] == "done"]) == 12


def test_one_allowance_whichever_replica_a_visitor_reaches(replicas, sim, media_dir: Path) -> None:
    """A public visitor whose requests alternate between the replicas gets exactly AVATAR_FREE_RUNS paid runs."""
    before = sim.state.creates.get("kling", 0)
    extra = {"AVATAR_PUBLIC": "1", "AVATAR_FREE_RUNS": "2", "AVATAR_MAX_JOBS_PER_VISITOR": "5"}
    both = [Client(replicas("replica-a", **extra).url, verbose=False),
            Client(replicas("replica-b", **extra).url, verbose=False)]
    outcomes = []
    for i in range(5):
        try:
            both[i % 2].predict(image=handle_file(str(media_dir / "portrait.jpg")),
                                audio=handle_file(str(media_dir / "speech.mp3")), provider="kling",
                                api_name="/generate")
            outcomes.append("ran")
        except Exception as exc:  # noqa: BLE001 - the refusals are what this test counts
            outcomes.append("refused" if "free" in str(exc).lower() else f"error: {exc}")
    assert outcomes.count("ran") == 2 and outcomes.count("refused") == 3, outcomes
    assert sim.state.creates.get("kling", 0) - before == 2


def test_a_replica_stopped_on_purpose_hands_its_runs_on(replicas, sim, database: str, media_dir: Path) -> None:
    """SIGTERM while a run is followed: the other replica carries it on to its video, with one create."""
    sim.state.config.job_seconds = 12.0
    before = sim.state.creates.get("kling", 0)
    a = replicas("replica-a")
    Client(a.url, verbose=False).submit(image=handle_file(str(media_dir / "portrait.jpg")),
                                        audio=handle_file(str(media_dir / "speech.mp3")), provider="kling",
                                        api_name="/generate")
    deadline = time.monotonic() + 60
    while not any(r["task_id"] for r in _rows(database)) and time.monotonic() < deadline:
        time.sleep(0.1)
    replicas("replica-b")  # started once A follows the run: only a hand-over can bring it to B
    stopped_at = time.monotonic()
    a.stop(signal.SIGTERM)
    while time.monotonic() < stopped_at + 60:
        rows = _rows(database)
        if rows and rows[0]["status"] == "done":
            break
        time.sleep(0.5)
    assert rows[0]["status"] == "done", rows[0]
    assert sim.state.creates["kling"] - before == 1
    log = (a.log.parent / "replica-b.log").read_text(errors="replace")
    assert re.search(r"took over 1 run\(s\) of replica\(s\) replica-a", log), log[-2000:]


def _nginx_config() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"```nginx\n(.*?)```", readme, re.S).group(1)


def test_nginx_from_the_readme_keeps_one_browser_on_one_replica(replicas, media_dir: Path) -> None:
    """The README's nginx configuration, in front of two replicas: a browser keeps its replica (its cookie), a new
    one may land on either, and the app works through it."""
    a, b = replicas("replica-a"), replicas("replica-b")
    config = _nginx_config().replace("server 127.0.0.1:7861;", f"server 127.0.0.1:{a.port};").replace(
        "server 127.0.0.1:7862;", f"server 127.0.0.1:{b.port};")
    with nginx(config) as port:
        url = f"http://127.0.0.1:{port}"
        seen_by_browser = []
        for _ in range(8):
            with httpx.Client(base_url=url) as browser:
                names = {browser.get("/").headers["x-avatar-replica"] for _ in range(5)}
                assert len(names) == 1, "one browser, one replica"
                seen_by_browser.append(names.pop())
        assert set(seen_by_browser) == {"replica-a", "replica-b"}, "new browsers are spread over both"
        # A client that keeps the cookie runs a whole event (upload, queue, stream) through nginx.
        cookie = httpx.get(url).cookies["avatar_replica"]
        client = Client(url, verbose=False, headers={"Cookie": f"avatar_replica={cookie}"})
        status, _, video, _ = client.predict(image=handle_file(str(media_dir / "portrait.jpg")),
                                             audio=handle_file(str(media_dir / "speech.mp3")), provider="local",
                                             api_name="/generate")
        assert video and Path(video["video"] if isinstance(video, dict) else video).is_file()


@pytest.mark.browser
def test_a_browser_through_nginx_stays_on_one_replica(replicas) -> None:
    """Chromium loads the page through the README's nginx: every request the page makes (the page, its scripts, its
    config, its event stream) is answered by one replica."""
    import shutil

    chromium = os.environ.get("AVATAR_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        if os.environ.get("AVATAR_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (AVATAR_REQUIRE_BROWSER=1) but was not found; install `chromium`")
        pytest.skip("Chromium is not installed (bash scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    a, b = replicas("replica-a"), replicas("replica-b")
    config = _nginx_config().replace("server 127.0.0.1:7861;", f"server 127.0.0.1:{a.port};").replace(
        "server 127.0.0.1:7862;", f"server 127.0.0.1:{b.port};")
    with nginx(config) as port, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox", "--disable-background-networking"])
        try:
            page = browser.new_page()
            answered: list[str] = []
            page.on("response", lambda response: answered.append(response.headers.get("x-avatar-replica", "?")))
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            page.wait_for_selector("#portrait", timeout=60_000)
            page.reload(wait_until="load")
            page.wait_for_selector("#portrait", timeout=60_000)
        finally:
            browser.close()
    assert len(answered) > 10 and len(set(answered)) == 1 and answered[0] in ("replica-a", "replica-b"), answered
