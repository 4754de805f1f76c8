"""The gateway-callback route against strangers: forged tokens, secrets in the page, odd tokens and bodies, floods."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest

from avatar_demo.web.callbacks import EARLY_BODY, EARLY_MAX, CallbackHub
from tests.security.wire import Stranger, dependency_ids, generate_args, raw_status


@pytest.fixture(scope="module")
def finished(app, sim, media_dir: Path) -> tuple[str, str]:
    """One finished house-key task: (its task id, the callback URL the app gave the gateway for it)."""
    with Stranger(app.test_url, "127.0.9.1") as person:
        image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
        reply = person.call(dependency_ids(person.config())["generate"], generate_args(image=image, audio=audio))
    assert reply.success, reply.output
    task = reply.data[0].split("Task id:** `")[1].split("`")[0]
    url = sim.state.tasks[task].callback_url
    assert url and url.startswith(f"{app.test_url}/avatar-demo/callback/")
    return task, url


def state_secret(config: dict) -> str:
    """The BrowserState secret: Gradio sends it to every browser in /config."""
    return next(c["props"]["secret"] for c in config["components"] if c["type"] == "browserstate")


def test_forged_callback_tokens_are_404_and_wake_nothing(app, sim, finished: tuple[str, str]) -> None:
    """Attack: the callback token was derived from the BrowserState secret (public in /config); forgeries made polls."""
    task, url = finished
    base, row, token = url.rsplit("/", 2)
    public = state_secret(httpx.get(f"{app.test_url}/config", timeout=10).json())
    hub = app.services.callbacks
    received, polls = hub.received, sim.state.polls.get(task, 0)
    forgeries = [
        CallbackHub(None, public).token(int(row)),
        hmac.new(public.encode(), row.encode(), hashlib.sha256).hexdigest()[:32],
        hashlib.sha256(f"{public}{row}".encode()).hexdigest()[:32],
        hashlib.sha256(f"avatar-demo-callbacks:{public}".encode()).hexdigest()[:32],
        "0" * 32, "f" * 32, token.upper(), token[:-1] + ("0" if token[-1] != "0" else "1"), token[:31], token + "0",
    ]
    for forged in forgeries:
        assert forged != token
        reply = httpx.post(f"{base}/{row}/{forged}", json={"task_id": task, "task_status": "succeed"}, timeout=10)
        assert reply.status_code == 404, forged
    # A real token names only its own row.
    for other in (int(row) + 1, int(row) - 1, 0):
        assert httpx.post(f"{base}/{other}/{token}", json={}, timeout=10).status_code == 404
    assert hub.received == received
    assert sim.state.polls.get(task, 0) == polls
    # Control: the genuine URL is accepted and says nothing more than "ok".
    assert httpx.post(url, json={"task_id": task}, timeout=10).json() == {"ok": True}
    assert hub.received == received + 1


def test_no_server_secret_or_callback_token_reaches_a_page(app, finished: tuple[str, str]) -> None:
    """Attack: the callback token could be derived from what /config hands every visitor."""
    _, url = finished
    token = url.rsplit("/", 1)[1]
    server_secret = app.services.keys.server_secret
    pages = {path: httpx.get(f"{app.test_url}{path}", timeout=10).text
             for path in ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json", "/gradio_api/startup-events")}
    for path, text in pages.items():
        assert server_secret not in text, path
        assert token not in text, path
    # The one secret that is public by design protects nothing and signs nothing.
    public = state_secret(json.loads(pages["/config"]))
    assert public != server_secret
    assert CallbackHub(None, public).token(int(url.rsplit("/", 2)[1])) != token


@pytest.mark.parametrize("path", [
    "/avatar-demo/callback/1/%C3%A9%C3%A9", "/avatar-demo/callback/1/é" + "a" * 31, "/avatar-demo/callback/1/%FF%FE",
    "/avatar-demo/callback/%C3%A9/" + "0" * 32, "/avatar-demo/callback/١٢/" + "0" * 32,
    "/avatar-demo/callback/1/" + "０" * 32, "/avatar-demo/callback/99999999999999999999999/" + "0" * 32,
    "/avatar-demo/callback/-1/" + "0" * 32, "/avatar-demo/callback/1/%00", "/avatar-demo/callback/1/" + "a" * 5000,
    "/avatar-demo/callback/1/..%2F..%2F", "/avatar-demo/callback/%F0%9F%98%80/%F0%9F%98%80",
], ids=lambda p: p.rsplit("/", 2)[-2][:8] + "/" + p.rsplit("/", 1)[-1][:8])
def test_odd_tokens_never_answer_5xx(app, path: str) -> None:
    """Attack: the callback route answered 500 to a non-ASCII token."""
    status, _ = raw_status(app.test_url, path, method="POST")
    # 404 from the route; 400 when the server refuses raw non-ASCII bytes in the request line itself.
    assert status in (400, 404), status


def test_odd_bodies_on_a_real_url_never_answer_5xx(app, finished: tuple[str, str]) -> None:
    """Attack: the callback route answered 500 to deeply nested JSON."""
    _, url = finished
    bodies = {
        "nested lists": b"[" * 7000 + b"]" * 7000,
        "nested objects": b'{"a":' * 2500 + b"1" + b"}" * 2500,
        "nested, unclosed": b"[" * 15000,
        "not json": b"\x00\xff\xfe not json",
        "invalid utf-8 in a string": b'{"task_status": "\xff\xfe"}',
        "empty": b"",
        "a lone surrogate": b'{"task_status": "\\ud800"}',
        "NaN": b"NaN",
        "a bare number": b"1e999999",
        "a list": b"[1, 2, 3]",
        "wrong types": b'{"task_status": {"$gt": ""}, "task_id": [1], "data": null}',
    }
    for what, body in bodies.items():
        reply = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=10)
        assert reply.status_code < 500, (what, reply.status_code, reply.text)
    # Huge bodies: declared, and streamed without a length. Only the first 16 KB are ever read.
    declared = httpx.post(url, content=b"[" + b"1," * 1_000_000 + b"1]", timeout=30)
    assert declared.status_code == 413

    def chunks():
        yield b"["
        for _ in range(200):
            yield b"1," * 5000
        yield b"1]"

    streamed = httpx.post(url, content=chunks(), timeout=30)
    assert streamed.status_code == 413


def test_a_callback_flood_keeps_memory_and_disk_bounded(app, finished: tuple[str, str]) -> None:
    """Attack: 4000 callbacks of 60 KB added 200 MB to the app's memory."""
    _, url = finished
    hub = app.services.callbacks
    data_dir = app.services.settings.data_dir

    def disk() -> int:
        return sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file() and p.suffix != ".mp4")

    disk_before = disk()
    big = json.dumps({"task_status": "processing", "pad": "x" * 60_000}).encode()
    with httpx.Client(timeout=30) as http:
        answers = []
        for _ in range(4000):
            try:
                answers.append(http.post(url, content=big).status_code)
            except httpx.TransportError:
                answers.append(0)  # the server may close a connection whose body it will not read
        assert set(answers) <= {413, 0} and answers.count(413) >= 3000, set(answers)
        # Genuine URLs of many rows (as a gateway would send for many tasks), with small and mid-size bodies.
        base = url.rsplit("/", 2)[0]
        rows = range(10_000, 10_000 + EARLY_MAX + 500)
        for n, row in enumerate(rows):
            body = {"task_status": "processing", "pad": "y" * (100 if n % 2 else EARLY_BODY * 2)}
            token = hub.url_for(row).rsplit("/", 1)[1]
            assert http.post(f"{base}/{row}/{token}", json=body).status_code == 200
    early = hub._early  # noqa: SLF001 - counting what the hub keeps is the point of this test
    assert len(early) <= EARLY_MAX
    kept = [payload for _, payload in early.values() if payload is not None]
    assert all(len(json.dumps(payload)) <= EARLY_BODY for payload in kept)
    assert sum(len(json.dumps(payload)) for payload in kept) <= EARLY_MAX * EARLY_BODY
    assert disk() - disk_before < 256 * 1024
