"""Server-side followers: a task is followed to its end whatever the page does, and picked up after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.jobs import Followers, Submitted, Succeeded
from tests.helpers import job_context
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio


async def test_the_task_is_finished_after_the_watcher_leaves(gateways, request_, tmp_path: Path) -> None:
    """The page goes away right after the create: the server still downloads the video and records it."""
    followers = Followers(job_context(tmp_path), provider_for)
    tracked = followers.start(provider_for("kling"), request_, owner="b1.x")
    async for event in followers.watch(tracked):
        if isinstance(event, Submitted):
            break  # the tab closed
    await asyncio.wait_for(tracked.task, 30)
    record = followers.ctx.recorder.history.get(tracked.row)
    assert record.status is Status.DONE and (tmp_path / "videos" / record.video_path).is_file()
    assert isinstance(tracked.ending, Succeeded)


async def test_a_late_watcher_sees_every_event_from_the_first(gateways, request_, tmp_path: Path) -> None:
    followers = Followers(job_context(tmp_path), provider_for)
    tracked = followers.start(provider_for("kling"), request_)
    await asyncio.wait_for(tracked.task, 30)
    events = [e async for e in followers.watch(tracked)]
    assert isinstance(events[0], Submitted) and isinstance(events[-1], Succeeded)


async def test_start_up_picks_up_every_unsettled_task(gateways, request_, tmp_path: Path) -> None:
    """The app stops with three tasks in flight (any owner, API callers too); the next start finishes all three."""
    gateways.state.config.job_seconds = 2.0
    before = Followers(job_context(tmp_path), provider_for)
    started = [before.start(provider_for("kling"), request_, owner=owner) for owner in ("b1.a", "b1.b", None)]
    for tracked in started:
        async for event in before.watch(tracked):
            if isinstance(event, Submitted):
                break
    for tracked in started:
        tracked.task.cancel()  # the process is killed: nothing more is recorded
    await asyncio.gather(*(t.task for t in started), return_exceptions=True)
    after = Followers(job_context(tmp_path), provider_for)
    resumed = after.resume_all()
    assert sorted(t.row for t in resumed) == sorted(t.row for t in started)
    await asyncio.wait_for(asyncio.gather(*(t.task for t in resumed)), 30)
    records = [after.ctx.recorder.history.get(t.row) for t in started]
    assert [r.status for r in records] == [Status.DONE] * 3 and all(r.video_path for r in records)
    assert gateways.state.creates["kling"] >= 3


async def test_what_cannot_be_resumed_says_why(gateways, request_, tmp_path: Path) -> None:
    """A preview dies with its process (free); a task on a visitor's own key cannot be followed without it."""
    ctx = job_context(tmp_path)
    preview = ctx.recorder.begin("local", owner=None, prompt="", mode="std", external_task_id=None)
    own_key = ctx.recorder.begin("kling", owner=None, prompt="", mode="std", external_task_id=None, byo_key=True)
    ctx.recorder.update(own_key, task_id="880", status=Status.RUNNING)
    assert Followers(ctx, provider_for).resume_all() == []
    assert ctx.recorder.history.get(preview).status is Status.FAILED
    record = ctx.recorder.history.get(own_key)
    assert record.status is Status.STOPPED and "880" in record.message and "never stores" in record.message


async def test_a_stop_asks_a_gateway_that_can_cancel_to_cancel(gateways, request_, tmp_path: Path) -> None:
    gateways.state.config.job_seconds = 30.0
    followers = Followers(job_context(tmp_path), provider_for)
    tracked = followers.start(provider_for("fal"), request_)
    async for event in followers.watch(tracked):
        if isinstance(event, Submitted):
            assert await followers.stop(tracked.row)
            task_id = event.task_id
    assert tracked.ending.status is Status.STOPPED
    assert task_id in gateways.state.cancelled
