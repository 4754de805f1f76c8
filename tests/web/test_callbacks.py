"""Callbacks as a wake-up: per-task URLs, a real receiver on loopback, bounds on what a stranger can make it do."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from avatar_demo.core.status import Status
from avatar_demo.jobs import Succeeded
from avatar_demo.jobs.schedule import PollSchedule
from avatar_demo.web.callbacks import EARLY_MAX, CallbackHub
from tests.helpers import run_to_end
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio


def read_status(payload):  # type: ignore[no-untyped-def]
    """A Kling-shaped interpretation, standing in for a provider's own."""
    word = payload.get("task_status") if isinstance(payload, dict) else None
    return {"processing": Status.RUNNING, "succeed": Status.DONE}.get(word)


def test_each_task_has_its_own_unguessable_url() -> None:
    hub = CallbackHub("https://app.example", "server-secret")
    assert hub.url_for(7) != hub.url_for(8)
    assert hub.url_for(7).startswith("https://app.example/avatar-demo/callback/7/")
    assert CallbackHub("https://app.example", "another-secret").url_for(7) != hub.url_for(7)
    assert CallbackHub(None, "s").url_for(7) is None


@pytest.mark.parametrize("name", ["kling", "crun", "fal"])
async def test_a_callback_brings_the_result_with_fewer_polls(gateways, receiver, request_, tmp_path: Path,
                                                             name: str) -> None:
    """With callbacks the follower polls when the gateway says the task ended, not on its dense schedule."""
    from avatar_demo.web.hosting import LoopbackFileServer

    gateways.state.config.job_seconds = 4.0
    with LoopbackFileServer(tmp_path / "pub") as host:
        events, _ = await run_to_end(provider_for(name), request_, data_dir=tmp_path, fast=False,
                                     callbacks=receiver, media_host=host)
    done = events[-1]
    assert isinstance(done, Succeeded), done
    task = gateways.state.tasks[done.task_id]
    assert task.callback_url and task.callback_url.startswith(receiver.base)
    assert receiver.received >= 1
    # The dense schedule alone polls at 1, 2, 3, 4, 5 s of age; a callback's poll comes at once.
    assert gateways.state.polls[done.task_id] <= 4, gateways.state.polls[done.task_id]


async def test_without_a_public_address_no_callback_is_asked_for(gateways, request_, tmp_path: Path) -> None:
    gateways.state.config.job_seconds = 2.0
    events, _ = await run_to_end(provider_for("kling"), request_, data_dir=tmp_path,
                                 callbacks=CallbackHub(None, "s"))
    assert gateways.state.tasks[events[-1].task_id].callback_url is None


async def test_forged_callbacks_cannot_end_a_task_or_flood_the_gateway(gateways, receiver, request_,
                                                                       tmp_path: Path) -> None:
    """Even with a task's real URL, a stream of "succeed" bodies neither ends it early nor costs a poll each:
    the outcome comes from the gateway's own record, and callbacks wake a follower once per MIN_GAP_S at most."""
    gateways.state.config.job_seconds = 4.0
    forged = 0

    async def forge() -> None:
        nonlocal forged
        while not gateways.state.tasks or not list(gateways.state.tasks.values())[-1].callback_url:
            await asyncio.sleep(0.05)
        task = list(gateways.state.tasks.values())[-1]
        async with httpx.AsyncClient() as client:
            while task.phase(time.monotonic()) != "succeeded":
                reply = await client.post(task.callback_url, json={
                    "task_id": task.task_id, "task_status": "succeed",
                    "task_result": {"videos": [{"url": "https://attacker.example/evil.mp4"}]}})
                assert reply.status_code == 200
                forged += 1
                await asyncio.sleep(0.05)

    forger = asyncio.create_task(forge())
    events, _ = await run_to_end(provider_for("kling"), request_, data_dir=tmp_path, fast=False, callbacks=receiver)
    await forger
    done = events[-1]
    assert isinstance(done, Succeeded) and done.video_path.read_bytes()[4:8] == b"ftyp"
    polls = gateways.state.polls[done.task_id]
    assert forged >= 20, forged
    # Unlimited, every forged callback would cost a poll; the gap allows about one per 3 s besides the schedule.
    assert polls <= 8, (polls, forged)


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/7/" + "0" * 32, b"{}", 404),                    # a wrong token
    ("/7/not-hex", b"{}", 404),
    ("/%C3%A9t%C3%A9/" + "0" * 32, b"{}", 404),        # a non-ASCII row
    ("/7/" + "%C3%A9" * 16, b"{}", 404),               # a non-ASCII token
    ("/x" * 40, b"{}", 404),
])
async def test_the_route_refuses_bad_addresses_without_a_5xx(receiver, path: str, body: bytes, status: int) -> None:
    async with httpx.AsyncClient() as client:
        reply = await client.post(f"{receiver.base}{path}", content=body)
    assert reply.status_code == status


async def test_the_route_refuses_bad_bodies_without_a_5xx(receiver) -> None:
    url = receiver.url_for(7)
    nested = b"[" * 100_000 + b"]" * 100_000
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, content=b"{oops")).status_code == 400
        assert (await client.post(url, content=b"[" * 5000 + b"]" * 5000)).status_code == 400
        assert (await client.post(url, content=b"[" * 33 + b"]" * 33)).status_code == 400
        assert (await client.post(url, json={"data": {"task_result": {"videos": [{"url": "u"}]}}})).status_code == 200
        assert (await client.post(url, content=nested)).status_code == 413
        assert (await client.post(url, content=b"x" * 70_000)).status_code == 413
        assert (await client.post(url, json={"task_id": "1"})).json() == {"ok": True}


async def test_a_callback_that_beats_the_create_reply_is_not_lost() -> None:
    """A callback may come before the create's own reply: the row remembers it for a while."""
    hub = CallbackHub("http://app.example", "s")
    hub.deliver(5, {"task_status": "succeed"})
    with hub.listen(5, read_status) as wake:
        assert await wake.pause(1.0) is True
        assert wake.heard == 1
        assert await wake.pause(0.05) is False


def test_early_callbacks_are_bounded_in_count_and_bytes() -> None:
    """Only rows with a valid token get here at all, and at most EARLY_MAX small bodies are kept."""
    hub = CallbackHub("http://app.example", "s")
    for row in range(EARLY_MAX + 500):
        hub.deliver(row, {"pad": "x"}, size=60_000)
    assert len(hub._early) == EARLY_MAX  # noqa: SLF001 - the bound is the behaviour under test
    assert all(payload is None for _, payload in hub._early.values())  # noqa: SLF001 - large bodies are not kept


@pytest.mark.parametrize(("payload", "poll_now"), [
    ({"task_status": "processing"}, False),
    ({"task_status": "succeed"}, True),
    ({"task_status": "something new"}, True),
    ({}, True),
    (["not", "an", "object"], True),
])
async def test_only_news_of_an_end_cuts_the_wait(payload, poll_now: bool) -> None:
    """Progress callbacks are counted (they prove callbacks arrive) but need no poll; anything else does."""
    hub = CallbackHub("http://app.example", "s")
    with hub.listen(1, read_status) as wake:
        hub.deliver(1, payload)
        assert await wake.pause(0.3) is poll_now
        assert wake.heard == 1


async def test_schedule_relaxes_only_after_a_callback_arrives() -> None:
    assert PollSchedule().relaxed().next_delay(100) > PollSchedule().next_delay(100)
