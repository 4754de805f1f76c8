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
    fresh_sim.state.config.job_seconds = 3.0
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
