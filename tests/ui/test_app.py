"""The launched app through gradio_client: /generate with every provider, refusals, keys, concurrency."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from avatar_demo import providers
from tests.helpers import facts, make_tone


@pytest.fixture(scope="module")
def client(app) -> Client:
    return Client(app.test_url, verbose=False)


def generate(client: Client, media_dir: Path, provider: str, **extra):
    return client.submit(image=handle_file(str(media_dir / "portrait.jpg")), audio=handle_file(str(media_dir / "speech.mp3")),
                         prompt="a slow nod", mode="std", provider=provider, api_name="/generate", **extra)


@pytest.mark.parametrize("provider", [s.name for s in providers.specs() if s.name != "modellix"])
def test_generate_ends_with_the_video(client: Client, fresh_sim, media_dir: Path, provider: str) -> None:
    """Keyword call; status updates stream; the final output holds a local video of the voice's length."""
    job = generate(client, media_dir, provider)
    status, changes, video, _history = job.result(timeout=120)
    updates = [o[0] for o in job.outputs()]
    # Our own words, in order; the gateway's word only as detail.
    words = [u.split("·")[0] for u in updates]
    assert any("submitting" in w for w in words) and any("queued" in w or "running" in w for w in words)
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
    assert "notes.wav is not a sound file this app can read: upload an MP3" in message and "Traceback" not in message


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
    data_dir = app.services.settings.data_dir
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix in ("", ".sqlite3", ".sqlite3-wal", ".json", ".txt"):
            assert key.encode() not in path.read_bytes(), path
    page = httpx.get(app.test_url, timeout=10).text + httpx.get(f"{app.test_url}/config", timeout=10).text
    assert key not in page
    # The key does not stay on the server: the next call without it is refused again.
    with pytest.raises(AppError, match="MODELLIX_API_KEY"):
        generate(client, media_dir, "modellix").result(timeout=60)


def test_twenty_users_all_start_at_once(app, fresh_sim, media_dir: Path, tmp_path: Path) -> None:
    """20 users with their own clips press Generate at once: none waits for another's video.

    Every create reaches the gateway before the first of the 20 jobs has finished (waiting on a
    gateway holds no slot). Timings are measured out of process by benchmarks/concurrency.py.
    """
    fresh_sim.state.config.job_seconds = 8.0
    voices = [make_tone(tmp_path / f"voice-{i}.wav", 3.0, volume_db=-10.0 - i / 2) for i in range(20)]
    # Plain HTTP on loopback: skip the CA bundle gradio_client would load for every upload.
    clients = [Client(app.test_url, verbose=False, ssl_verify=False) for _ in range(20)]
    before = set(fresh_sim.state.tasks)

    def one(index: int) -> str:
        return clients[index].submit(image=handle_file(str(media_dir / "portrait.jpg")),
                                     audio=handle_file(str(voices[index])), prompt="a slow nod", mode="std",
                                     provider="kling", api_name="/generate").result(timeout=180)[0]

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(one, range(20)))
    assert all("done ✓" in s for s in statuses)
    tasks = [t for task_id, t in fresh_sim.state.tasks.items() if task_id not in before]
    assert len(tasks) == 20
    first_done = min(t.created + t.duration_s for t in tasks)
    assert all(t.created < first_done for t in tasks), "a create waited for another user's video"


def test_gateway_callbacks_reach_the_app(app, client: Client, fresh_sim, media_dir: Path) -> None:
    """Each task's create carries its own URL on the app's public address; the simulator's callbacks land there."""
    status = generate(client, media_dir, "kling").result(timeout=120)[0]
    task_id = status.split("Task id:** `")[1].split("`")[0]
    task = fresh_sim.state.tasks[task_id]
    assert task.callback_url.startswith(f"{app.test_url}/avatar-demo/callback/")
    assert app.services.callbacks.received >= 1
    # A guessed address is refused; a real one says nothing about which tasks exist.
    guess = task.callback_url.rsplit("/", 1)[0] + "/" + "0" * 32
    assert httpx.post(guess, json={"task_id": task_id}, timeout=10).status_code == 404
    assert httpx.post(task.callback_url, json={"task_id": "no-such-task"}, timeout=10).json() == {"ok": True}


def test_the_final_api_outputs_are_plain_values(client: Client, fresh_sim, media_dir: Path) -> None:
    """Strings and a file path, never a component update, in the last result an API caller gets."""
    result = generate(client, media_dir, "local").result(timeout=120)
    assert all(isinstance(value, str) for value in result), result
    assert "Changes made to your inputs" in result[1] or "used as they are" in result[1]


def test_a_photo_without_a_face_is_held_back_unless_allowed(client: Client, fresh_sim, media_dir: Path) -> None:
    """/generate on a paid gateway: refused with the way on and nothing sent; allow_no_face=True sends it."""
    before = fresh_sim.state.creates.get("kling", 0)
    arguments = {"image": handle_file(str(media_dir / "drawing.jpg")), "audio": handle_file(str(media_dir / "speech.mp3")),
                 "provider": "kling", "api_name": "/generate"}
    with pytest.raises(AppError, match="No face found in drawing.jpg.*allow_no_face"):
        client.predict(**arguments)
    assert fresh_sim.state.creates.get("kling", 0) == before
    status, changes, video, _ = client.predict(**arguments, allow_no_face=True)
    assert "done ✓" in status and "Photo: no face found" in changes and "sent anyway" in changes
    assert fresh_sim.state.creates.get("kling", 0) == before + 1


@pytest.mark.parametrize(("handler", "triggers"), [("window", 6), ("summary", 5), ("history_table", 3)])
def test_a_line_with_many_triggers_is_one_event_whose_last_ask_wins(app, handler: str, triggers: int) -> None:
    """Separate events per trigger answered out of order in Chromium and left a stale lab plan on the page."""
    events = [f for f in app.fns.values() if getattr(f.fn, "__name__", "") == handler and len(f.targets) > 1]
    assert [(len(f.targets), f.trigger_mode) for f in events] == [(triggers, "always_last")]


#: The public API as callers know it: every endpoint, its parameters in order, and what it returns. The page's
#: layout may change; this may not.
API = {
    "/generate": (["image", "audio", "prompt", "mode", "provider", "start", "length", "audio_id", "api_key",
                   "watermark", "callback_url", "external_task_id", "owner", "allow_no_face"],
                  ["Markdown", "Markdown", "Video", "Html"]),
    "/lab": (["image", "audio", "prompts", "modes", "provider", "start", "length", "api_key", "owner", "gateways",
              "allow_no_face"], ["Markdown", "Html", "Json"]),
    "/rerun": (["id", "prompt", "mode", "gateway", "api_key", "owner", "allow_no_face"],
               ["Markdown", "Markdown", "Video", "Html"]),
    "/rate": (["id", "rating", "note", "owner"], ["Markdown", "Json"]),
    "/history": (["owner", "search", "min_rating"], ["Textbox", "Json"]),
    "/export": (["ids", "batch", "owner"], ["File"]),
}


def test_the_public_api_keeps_its_endpoints_and_parameters(client: Client) -> None:
    info = client.view_api(return_format="dict", print_info=False)
    shown = {name: ([p["parameter_name"] for p in e["parameters"]], [r["component"] for r in e["returns"]])
             for name, e in info["named_endpoints"].items()}
    assert shown == API
    assert info["unnamed_endpoints"] == {}
