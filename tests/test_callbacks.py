"""Callbacks as the fast path: the simulator calls a real receiver, the runner polls at once and polls less."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from avatar_demo.callbacks import CallbackHub, callback_ids
from avatar_demo.jobs import Progress, Succeeded
from avatar_demo.polling import PollSchedule
from avatar_demo.providers import Status
from avatar_demo.serving import ThreadedServer
from tests.helpers import run_to_end
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio

#: The app's real schedule: without callbacks a 4 s job is polled about once a second.
SCHEDULE = PollSchedule()


@pytest.mark.parametrize(("payload", "ids"), [
    ({"task_id": "880", "task_status": "succeed", "task_info": {"external_task_id": "ext-1"}}, {"880", "ext-1"}),
    ({"id": "880", "status": "succeeded", "external_id": "ext-1", "outputs": []}, {"880", "ext-1"}),
    ({"task_id": "task_1234", "status": "success", "result": {"media_urls": ["https://x/v.mp4"]}}, {"task_1234"}),
    ({"code": 200, "data": {"task_id": "task_1234", "status": "running"}}, {"task_1234"}),
    ({"task_id": "", "task_info": {"external_task_id": ""}}, set()),
    (["not", "an", "object"], set()),
])
def test_callback_ids(payload, ids: set[str]) -> None:
    """Kling legacy and new payloads, crun's bare and wrapped ones; empty ids and odd bodies name nothing."""
    assert callback_ids(payload) == ids


@pytest.fixture
def receiver():
    """A CallbackHub behind a real loopback server, as a gateway would reach it."""
    app = Starlette()
    server = ThreadedServer(app, name="callback-receiver")
    hub = CallbackHub(server.url, secret="test-secret")
    app.router.routes.append(hub.route())
    with server:
        yield hub



async def timed_run(gateways, provider, request_, tmp_path: Path, **options):  # type: ignore[no-untyped-def]
    seen_at: list[float] = []
    events, _ = await run_to_end(provider, request_, data_dir=tmp_path, fast=False, schedule=SCHEDULE, **options)
    for event in events:
        if isinstance(event, Progress) and event.status is Status.SUCCEEDED:
            seen_at.append(time.monotonic())
    assert isinstance(events[-1], Succeeded), events[-1]
    task = gateways.state.tasks[events[-1].task_id]
    latency = seen_at[0] - (task.created + task.duration_s)
    return events[-1], task, gateways.state.polls[events[-1].task_id], latency


@pytest.mark.parametrize("name", ["kling", "crun"])
async def test_callback_brings_the_result_at_once(gateways, receiver, request_, tmp_path: Path, name: str) -> None:
    """With callbacks the result is seen within a fraction of a second of being ready, with fewer polls."""
    from avatar_demo.hosting import LoopbackFileServer

    gateways.state.config.job_seconds = 4.0
    with LoopbackFileServer(tmp_path / "pub") as host:
        provider = provider_for(name, host)
        done, task, polls, latency = await timed_run(gateways, provider, request_, tmp_path, callbacks=receiver)
        await provider.aclose()
    assert task.callback_url == receiver.url
    assert receiver.received >= 1
    # The dense schedule alone polls at 1, 2, 3, 4, 5 s of age: up to a second late.
    assert latency < 0.3, latency
    if name == "kling":
        # Kling calls on every status change, which proves early that callbacks arrive: polls relax.
        assert polls <= 4, polls


async def test_without_a_public_address_no_callback_is_asked_for(gateways, request_, tmp_path: Path) -> None:
    """No public URL: the create carries no callback_url and the dense schedule does the work."""
    gateways.state.config.job_seconds = 2.0
    provider = provider_for("kling")
    done, task, polls, _ = await timed_run(gateways, provider, request_, tmp_path, callbacks=CallbackHub(None, "s"))
    await provider.aclose()
    assert task.callback_url is None
    assert polls >= 2


async def test_a_forged_callback_only_causes_an_early_poll(gateways, receiver, request_, tmp_path: Path) -> None:
    """A stranger posting "succeed" for the task cannot end it: the outcome comes from the gateway's record."""
    gateways.state.config.job_seconds = 3.0
    provider = provider_for("kling")

    async def forge() -> None:
        await asyncio.sleep(0.5)
        for task_id in list(gateways.state.tasks)[-1:]:
            async with httpx.AsyncClient() as client:
                reply = await client.post(receiver.url, json={
                    "task_id": task_id, "task_status": "succeed",
                    "task_result": {"videos": [{"url": "https://attacker.example/evil.mp4"}]}})
                assert reply.status_code == 200

    forger = asyncio.create_task(forge())
    done, task, _, _ = await timed_run(gateways, provider, request_, tmp_path, callbacks=receiver)
    await forger
    await provider.aclose()
    assert time.monotonic() - task.created >= 3.0 - 0.05  # not cut short by the forged "succeed"
    assert done.video_path.is_file() and done.video_path.read_bytes()[4:8] == b"ftyp"


async def test_receiver_refuses_a_wrong_token_and_bad_bodies(receiver) -> None:
    base = receiver.url.rsplit("/", 1)[0]
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{base}/not-the-token", json={"task_id": "1"})).status_code == 404
        assert (await client.post(receiver.url, content=b"{oops")).status_code == 400
        assert (await client.post(receiver.url, content=b"x" * 70_000)).status_code == 413
        assert (await client.post(receiver.url, json={"task_id": "1"})).json() == {"ok": True}


async def test_a_callback_that_beats_the_create_reply_is_not_lost() -> None:
    """A callback may come before the create's own reply: the id is remembered for a while."""
    hub = CallbackHub("http://app.example", "s")
    hub.deliver({"task_id": "880", "task_status": "succeed"})
    with hub.listen("ext-1") as wake:
        hub.attach(wake, "880")
        assert await wake.pause(1.0) is True
        assert wake.heard == 1
        assert await wake.pause(0.05) is False


@pytest.mark.parametrize(("payload", "poll_now"), [
    ({"task_id": "1", "task_status": "processing"}, False),
    ({"task_id": "1", "task_status": "submitted"}, False),
    ({"data": {"task_id": "1", "status": "running"}}, False),
    ({"task_id": "1", "task_status": "succeed"}, True),
    ({"task_id": "1", "status": "failed"}, True),
    ({"task_id": "1", "status": "something new"}, True),
    ({"task_id": "1"}, True),
])
async def test_only_news_of_an_end_cuts_the_wait(payload, poll_now: bool) -> None:
    """Progress callbacks are counted (they prove callbacks arrive) but need no poll; anything else does."""
    hub = CallbackHub("http://app.example", "s")
    with hub.listen("1") as wake:
        hub.deliver(payload)
        assert await wake.pause(0.3) is poll_now
        assert wake.heard == 1
