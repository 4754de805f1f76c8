"""The launched app through gradio_client: /generate with every provider, refusals, keys, concurrency."""

from __future__ import annotations

import concurrent.futures
import json
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.helpers import facts, make_tone


@pytest.fixture(scope="module")
def client(app) -> Client:
    return Client(app.test_url, verbose=False)


def generate(client: Client, media_dir: Path, provider: str, **extra):
    return client.submit(image=handle_file(str(media_dir / "portrait.jpg")), audio=handle_file(str(media_dir / "speech.mp3")),
                         prompt="a slow nod", mode="std", provider=provider, api_name="/generate", **extra)


@pytest.mark.parametrize("provider", ["local", "kling", "cometapi", "kkiai", "crun"])
def test_generate_ends_with_the_video(client: Client, fresh_sim, media_dir: Path, provider: str) -> None:
    """Keyword call; status updates stream; the final output holds a local video of the voice's length."""
    job = generate(client, media_dir, provider)
    status, changes, video, _history = job.result(timeout=120)
    updates = [o[0] for o in job.outputs()]
    assert any("submitted" in u for u in updates)
    assert "done ✓" in status and "Task id" in status
    assert Path(video).is_file()
    assert facts(Path(video)).duration_s == pytest.approx(3.0, abs=0.2)


def test_refused_input_is_a_readable_error(client: Client, tmp_path: Path, media_dir: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(AppError) as caught:
        client.predict(image=handle_file(str(media_dir / "portrait.jpg")), audio=handle_file(str(bad)),
                       prompt="", mode="std", provider="local", api_name="/generate")
    message = str(caught.value)
    assert "not a sound or video file" in message and "Traceback" not in message


def test_missing_key_names_the_variable(client: Client, media_dir: Path) -> None:
    with pytest.raises(AppError, match="MODELLIX_API_KEY"):
        generate(client, media_dir, "modellix").result(timeout=60)


def test_bring_your_own_key_is_used_once_and_never_shown(app, client: Client, fresh_sim, media_dir: Path) -> None:
    """Modellix has no server key: the pasted key works, and appears in no response, history or page."""
    key = "modellix-key-1"
    job = generate(client, media_dir, "modellix", api_key=key)
    result = job.result(timeout=120)
    assert "done ✓" in result[0]
    everything = json.dumps([list(map(str, o)) for o in job.outputs()]) + json.dumps(list(map(str, result)))
    assert key not in everything
    data_dir = app.service.settings.data_dir
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix in ("", ".sqlite3", ".sqlite3-wal", ".json", ".txt"):
            assert key.encode() not in path.read_bytes(), path
    page = httpx.get(app.test_url, timeout=10).text + httpx.get(f"{app.test_url}/config", timeout=10).text
    assert key not in page
    # The key does not stay on the server: the next call without it is refused again.
    with pytest.raises(AppError, match="MODELLIX_API_KEY"):
        generate(client, media_dir, "modellix").result(timeout=60)


def test_twenty_users_start_at_once(app, fresh_sim, media_dir: Path, tmp_path: Path) -> None:
    """20 users with their own clips press Generate at once (5 s jobs): all run together.

    The goal is ≤ 1.3× one job, measured out of process by benchmarks/concurrency.py. Here the app,
    the simulator and the 20 clients share one Python process and two cores, so the assertion keeps
    slack (2×); Gradio's default limit of one job at a time would take about 20×.
    """
    fresh_sim.state.config.job_seconds = 5.0
    voices = [make_tone(tmp_path / f"voice-{i}.wav", 3.0, volume_db=-10.0 - i / 2) for i in range(20)]
    # Plain HTTP on loopback: skip the CA bundle gradio_client would load for every upload.
    clients = [Client(app.test_url, verbose=False, ssl_verify=False) for _ in range(21)]

    def one(index: int) -> float:
        started = time.monotonic()
        status = clients[index].submit(image=handle_file(str(media_dir / "portrait.jpg")),
                                       audio=handle_file(str(voices[index % 20])), prompt="a slow nod", mode="std",
                                       provider="kling", api_name="/generate").result(timeout=180)[0]
        assert "done ✓" in status
        return time.monotonic() - started

    single = one(20)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        durations = list(pool.map(one, range(20)))
    makespan = time.monotonic() - started
    assert len(durations) == 20
    assert makespan <= 2.0 * single, (makespan, single)


def test_gateway_callbacks_reach_the_app(app, client: Client, fresh_sim, media_dir: Path) -> None:
    """The app's public address goes out as callback_url; the simulator's callbacks land on the app's route."""
    status = generate(client, media_dir, "kling").result(timeout=120)[0]
    task_id = status.split("Task id:** `")[1].split("`")[0]
    task = fresh_sim.state.tasks[task_id]
    assert task.callback_url == app.service.callbacks.url
    assert task.callback_url.startswith(f"{app.test_url}/avatar-demo/callback/")
    assert app.service.callbacks.received >= 1
    # A guessed address is refused; the real one says nothing about which tasks exist.
    assert httpx.post(f"{app.test_url}/avatar-demo/callback/guess", json={"task_id": task_id}, timeout=10).status_code == 404
    assert httpx.post(task.callback_url, json={"task_id": "no-such-task"}, timeout=10).json() == {"ok": True}
