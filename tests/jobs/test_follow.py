"""Following a task to its end: an outage is a state, not an ending; the deadline and a stop never say "failed"."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.jobs import Failed, Progress, Submitted, Succeeded, Unresolved, follow_task, run_job
from tests.helpers import job_context, run_to_end
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", ["kling", "modellix", "fal"])
async def test_flaky_polls_still_complete(gateways, request_, tmp_path: Path, name: str) -> None:
    """10 % 5xx plus a 429 (with Retry-After) every 4th poll: the job still ends with a video."""
    gateways.state.faults.poll_error_rate = 0.1
    gateways.state.faults.poll_429_every = 4
    gateways.state.faults.retry_after_s = 0.1
    gateways.state.config.job_seconds = 2.0
    events, _ = await run_to_end(provider_for(name), request_, data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded), events[-1]


async def test_an_outage_of_the_status_endpoint_is_followed_through(gateways, request_, tmp_path: Path) -> None:
    """Every poll fails for a while: the user sees "gateway unreachable, still following task X", then the video."""
    gateways.state.config.job_seconds = 0.5
    events = []
    outage_started = False
    ctx = job_context(tmp_path)
    async for event in run_job(provider_for("kling"), request_, ctx):
        events.append(event)
        if isinstance(event, Submitted) and not outage_started:
            gateways.state.start_outage(2.5)
            outage_started = True
    unreachable = [e for e in events if isinstance(e, Progress) and e.status is Status.UNREACHABLE]
    assert unreachable, "the outage is shown"
    task_id = events[-1].task_id
    assert all(f"still following task {task_id}" in e.note for e in unreachable)
    assert all("try again" not in e.note for e in events if isinstance(e, Progress))
    assert isinstance(events[-1], Succeeded)
    assert ctx.recorder.history.all()[-1].status is Status.DONE


async def test_the_deadline_leaves_the_task_unresolved_never_failed(gateways, request_, tmp_path: Path) -> None:
    """Past the deadline: it may still finish and be billed, names the task id and where it will appear."""
    gateways.state.config.job_seconds = 30.0
    events, history = await run_to_end(provider_for("kling"), request_, data_dir=tmp_path, deadline_s=0.6)
    last = events[-1]
    assert isinstance(last, Unresolved) and last.status is Status.OVERDUE
    assert last.task_id and last.task_id in last.reason
    assert "may still finish and be billed" in last.reason and "history" in last.reason
    assert "try again" not in last.reason and "failed" not in last.reason
    assert history.all()[-1].status is Status.OVERDUE


async def test_a_stop_ends_the_follow_and_says_it_may_still_bill(gateways, request_, tmp_path: Path) -> None:
    gateways.state.config.job_seconds = 30.0
    stop = asyncio.Event()
    events = []
    async for event in run_job(provider_for("kling"), request_, job_context(tmp_path), stop=stop):
        events.append(event)
        if isinstance(event, Submitted):
            stop.set()
    last = events[-1]
    assert isinstance(last, Unresolved) and last.status is Status.STOPPED and last.task_id in last.reason


async def test_the_task_id_is_recorded_before_the_first_poll(gateways, request_, tmp_path: Path) -> None:
    """At the first wait before polling, the history row already holds the task id."""
    seen: list[str | None] = []
    ctx = job_context(tmp_path)

    async def sleep(seconds: float) -> None:
        seen.append(ctx.recorder.history.all()[-1].task_id)

    ctx.timing = replace(ctx.timing, sleep=sleep)
    async for event in run_job(provider_for("kling"), request_, ctx):
        if isinstance(event, Progress):
            break
    assert seen and seen[0] is not None
    assert ctx.recorder.history.all()[-1].external_task_id


async def test_resume_follows_a_recorded_task_to_its_video(gateways, request_, tmp_path: Path) -> None:
    """A follow that broke off (the app stopped) is picked up from the history row."""
    ctx = job_context(tmp_path)
    async for event in run_job(provider_for("kling"), request_, ctx):
        if isinstance(event, Submitted):
            row = event.row
            break
    events = [e async for e in follow_task(provider_for("kling"), row, job_context(tmp_path))]
    assert isinstance(events[-1], Succeeded)
    assert ctx.recorder.history.get(row).status is Status.DONE


async def test_resume_of_a_create_that_never_answered_uses_the_external_id(gateways, request_, tmp_path: Path) -> None:
    """The app died after sending the create: the external id finds the task."""
    ctx = job_context(tmp_path)
    row = ctx.recorder.begin("kling", owner=None, prompt="", mode="std", external_task_id="ext-crash-1")
    await provider_for("kling").create(replace(request_, external_task_id="ext-crash-1"))
    events = [e async for e in follow_task(provider_for("kling"), row, ctx)]
    assert isinstance(events[-1], Succeeded)


async def test_resume_never_adopts_an_older_task_under_the_same_external_id(gateways, request_,
                                                                           tmp_path: Path) -> None:
    """The task the lookup finds was made an hour before our create left: someone else's. Ours was refused as a
    duplicate, so nothing was charged; the older task is never followed or downloaded."""
    ctx = job_context(tmp_path)
    await provider_for("kling").create(replace(request_, external_task_id="ext-taken-1"))
    row = ctx.recorder.begin("kling", owner=None, prompt="", mode="std", external_task_id="ext-taken-1")
    ctx.recorder.update(row, sent_at=time.time() + 3600)
    events = [e async for e in follow_task(provider_for("kling"), row, ctx)]
    assert [type(e) for e in events] == [Failed] and events[-1].task_id is None
    record = ctx.recorder.history.get(row)
    assert record.status is Status.FAILED and record.task_id is None


async def test_an_unresolved_task_is_checked_once_and_finished_if_done(gateways, request_, tmp_path: Path) -> None:
    """An overdue task is polled once when its owner comes back: finished if done, left as it was if not."""
    gateways.state.config.job_seconds = 1.5
    events, _ = await run_to_end(provider_for("kling"), request_, data_dir=tmp_path, deadline_s=0.3)
    assert events[-1].status is Status.OVERDUE
    row = next(e.row for e in events if isinstance(e, Submitted))
    ctx = job_context(tmp_path)
    early = [e async for e in follow_task(provider_for("kling"), row, ctx)]
    assert [type(e) for e in early] == [Unresolved] and ctx.recorder.history.get(row).status is Status.OVERDUE
    await asyncio.sleep(1.5)
    late = [e async for e in follow_task(provider_for("kling"), row, ctx)]
    assert isinstance(late[-1], Succeeded) and ctx.recorder.history.get(row).status is Status.DONE


async def test_done_is_recorded_only_with_its_video(gateways, request_, tmp_path: Path) -> None:
    """While a finished video cannot be fetched yet, the row is not final: a restart would still fetch it."""
    gateways.state.faults.video_errors = 5  # more than one download's own retries
    ctx = job_context(tmp_path)
    statuses_while_fetching = []
    async for event in run_job(provider_for("kling"), request_, ctx):
        if isinstance(event, Progress) and "could not be fetched yet" in event.note:
            statuses_while_fetching.append(ctx.recorder.history.all()[-1].status)
    assert statuses_while_fetching and Status.DONE not in statuses_while_fetching
    record = ctx.recorder.history.all()[-1]
    assert record.status is Status.DONE and record.video_path
