"""A run past its account's parallel limit waits in line, says where it stands, and is cancelled there for nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from tests.conftest import KEYS
from tests.ui.conftest import launched


@pytest.fixture(scope="module")
def one_at_a_time(sim, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The app with a Kling account that takes one task at a time."""
    demo = launched({**sim.env(), **KEYS, "KLING_MAX_PARALLEL": "1",
                     "AVATAR_DATA_DIR": str(tmp_path_factory.mktemp("queue-data"))})
    yield demo
    demo.close()


def statuses_of(job, seconds: float = 120) -> list[str]:  # type: ignore[no-untyped-def]
    """Every status text the call streamed, to its end."""
    deadline = time.monotonic() + seconds
    while not job.done() and time.monotonic() < deadline:
        time.sleep(0.1)
    return [str(update[0]) for update in job.outputs()]


def test_the_api_says_where_a_waiting_run_stands(one_at_a_time, fresh_sim, media_dir: Path) -> None:
    """The second call's status says it is in line, its place and a time, then it runs and ends with its video."""
    # The first job outlasts the second's preparation by seconds, even when a loaded machine slows preparing.
    fresh_sim.state.config.job_seconds = 6.0
    client = Client(one_at_a_time.test_url, verbose=False)
    args = {"image": handle_file(str(media_dir / "portrait.jpg")), "audio": handle_file(str(media_dir / "speech.mp3")),
            "provider": "kling", "api_name": "/generate"}
    first = client.submit(prompt="first", **args)
    time.sleep(0.5)
    second = client.submit(prompt="second", **args)
    seen = statuses_of(second)
    assert statuses_of(first)[-1].count("done") and seen[-1].count("done"), seen[-1]
    waiting = [s for s in seen if "In line: #1 for Kling" in s]
    assert waiting, seen
    assert "Cancelling now costs nothing" in waiting[0] and " s." in waiting[0]


def test_a_run_cancelled_in_line_sends_nothing(one_at_a_time, fresh_sim, media_dir: Path) -> None:
    """Cancel while in line: the run ends "cancelled", no create reaches the gateway for it, nothing is charged."""
    fresh_sim.state.config.job_seconds = 6.0
    before = fresh_sim.state.creates.get("kling", 0)
    client = Client(one_at_a_time.test_url, verbose=False)
    owner, _ = client.predict(api_name="/history")
    args = {"image": handle_file(str(media_dir / "portrait.jpg")), "audio": handle_file(str(media_dir / "speech.mp3")),
            "provider": "kling", "owner": owner, "api_name": "/generate"}
    first = client.submit(prompt="runs", **args)
    time.sleep(0.5)
    second = client.submit(prompt="waits", **args)
    runs = one_at_a_time.services.runs
    deadline = time.monotonic() + 60
    waiting = None
    while waiting is None and time.monotonic() < deadline:
        waiting = next((r for r in one_at_a_time.services.history.for_owner(owner)
                        if r.prompt == "waits" and r.status.value == "pending"), None)
        time.sleep(0.1)
    assert waiting is not None
    import asyncio

    assert asyncio.run(runs.stop(waiting.id)).value == "cancelled"
    statuses_of(first)
    statuses_of(second)
    assert fresh_sim.state.creates.get("kling", 0) - before == 1
    assert one_at_a_time.services.history.get(waiting.id).status.value == "cancelled"


@pytest.mark.browser
def test_the_page_shows_a_waiting_runs_place(one_at_a_time, fresh_sim, media_dir: Path, tmp_path: Path) -> None:
    """Chromium: with the account busy, the page's status says the run is in line, where, and about how long; then
    the run goes and ends with its video."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import make_tone
    from tests.ui.browsing import SHOTS, require_chromium

    chromium = require_chromium()
    fresh_sim.state.config.job_seconds = 6.0
    busy = Client(one_at_a_time.test_url, verbose=False).submit(
        image=handle_file(str(media_dir / "portrait.jpg")), audio=handle_file(str(media_dir / "speech.mp3")),
        prompt="keeps the account busy", provider="kling", api_name="/generate")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(one_at_a_time.test_url)
            page.wait_for_selector("#portrait input[type=file]", state="attached")
            page.locator("#portrait input[type=file]").set_input_files(str(media_dir / "portrait.jpg"))
            page.locator("#voice input[type=file]").set_input_files(str(make_tone(tmp_path / "v.wav", 3.0)))
            page.locator("#provider input").click()
            page.get_by_role("option", name="Kling", exact=False).first.click()
            page.wait_for_function("() => document.querySelector('#window')?.innerText.length > 0")
            page.locator("#generate").click()
            page.wait_for_function("() => /In line: #\\d+ for Kling/.test(document.querySelector('#status').innerText)")
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / "queued-place.png"))
            line = page.locator("#status").inner_text()
            assert "Cancelling now costs nothing" in line, line
            page.wait_for_function("() => document.querySelector('#result video') !== null", timeout=120_000)
        finally:
            browser.close()
    busy.result(timeout=120)
