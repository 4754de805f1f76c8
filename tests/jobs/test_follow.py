"""Following a task to its end: an outage is a state, not an ending; the deadline and a stop never say "failed"."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.jobs import Failed, Progress, Submitted, Succeeded, Unresolved
from tests.helpers import JobHarness, fast_timing, run_to_end
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", ["kling", "modellix", "fal"])
async def test_flaky_polls_still_complete(gateways, request_, tmp_path: Path, name: str) -> None:
    """10 % 5xx plus a 429 (with Retry-After) every 4th poll: the run still ends with a video."""
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
    outage = False
    with JobHarness(tmp_path, provider_for("kling")) as harness:
        row = await harness.start(request_)
        async for event in harness.runs.watch(row):
            events.append(event)
            if isinstance(event, Submitted) and not outage:
                outage = True
                gateways.state.start_outage(2.5)
    unreachable = [e for e in events if isinstance(e, Progress) and e.status is Status.UNREACHABLE]
    assert unreachable, "the outage is shown"
    task_id = events[-1].task_id
    assert all(f"still following task {task_id}" in e.note for e in unreachable)
    assert all("try again" not in e.note for e in events if isinstance(e, Progress))
    assert isinstance(events[-1], Succeeded)
    assert harness.history.all()[-1].status is Status.DONE


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
    events = []
    with JobHarness(tmp_path, provider_for("kling")) as harness:
        row = await harness.start(request_)
        async for event in harness.runs.watch(row):
            events.append(event)
            if isinstance(event, Submitted):
                assert await harness.runs.stop(row) is Status.STOPPED
    last = events[-1]
    assert isinstance(last, Unresolved) and last.status is Status.STOPPED and last.task_id in last.reason


async def test_a_stop_asks_a_gateway_that_can_cancel_to_cancel(gateways, request_, tmp_path: Path) -> None:
    gateways.state.config.job_seconds = 30.0
    with JobHarness(tmp_path, provider_for("fal"), media_host=None) as harness:
        from avatar_demo.web.hosting import LoopbackFileServer

        with LoopbackFileServer(tmp_path / "pub") as host:
            harness.ctx.media_host = host
            row = await harness.start(request_, provider="fal")
            async for event in harness.runs.watch(row):
                if isinstance(event, Submitted):
                    task_id = event.task_id
                    await harness.runs.stop(row)
            assert harness.history.get(row).status is Status.STOPPED
    assert task_id in gateways.state.cancelled


async def test_the_task_id_is_recorded_before_the_first_poll(gateways, request_, tmp_path: Path) -> None:
    """At the first wait before polling, the history row already holds the task id."""
    seen: list[str | None] = []
    holder: list[JobHarness] = []

    async def sleep(seconds: float) -> None:
        seen.append(holder[0].history.all()[-1].task_id)
        await asyncio.sleep(min(seconds, 0.05))

    with JobHarness(tmp_path, provider_for("kling"), timing=fast_timing(sleep=sleep)) as harness:
        holder.append(harness)
        events = await harness.events(await harness.start(request_))
    assert isinstance(events[-1], Succeeded)
    assert seen and seen[0] is not None
    assert harness.history.all()[-1].external_task_id


async def test_a_create_that_never_answered_is_found_by_its_external_id(gateways, request_, tmp_path: Path) -> None:
    """The app died after sending the create: the same create step, run again, finds the task by its external id
    and follows it. One create in all."""
    before = gateways.state.creates.get("kling", 0)
    await provider_for("kling").create(replace(request_, external_task_id="ext-crash-1"))
    with JobHarness(tmp_path, provider_for("kling")) as harness:
        row = await harness.runs.begin("kling", owner=None, prompt="", mode="std", external_task_id="ext-crash-1",
                                       facts=_kept(harness, request_))
        harness.history.update(row, sent_at=time.time(), status=Status.SUBMITTING)
        await harness.runs.queue(row)
        events = await harness.events(row)
    assert isinstance(events[-1], Succeeded)
    assert gateways.state.creates["kling"] - before == 1


async def test_a_lookup_that_keeps_failing_never_settles_the_run(gateways, request_, tmp_path: Path) -> None:
    """After an unclear create, the status endpoint answers 5xx: the run keeps asking until the deadline, then says
    the outcome is not known yet (looked up again later), never "failed" and never sent again."""
    before = gateways.state.creates.get("kling", 0)
    gateways.state.faults.poll_error_rate = 1.0
    with JobHarness(tmp_path, provider_for("kling"), timing=fast_timing(deadline_s=2.0)) as harness:
        row = await harness.runs.begin("kling", owner=None, prompt="", mode="std", external_task_id="ext-5xx-1",
                                       facts=_kept(harness, request_))
        harness.history.update(row, sent_at=time.time(), status=Status.SUBMITTING)
        await harness.runs.queue(row)
        events = await harness.events(row)
    looking = [e for e in events if isinstance(e, Progress) and e.status is Status.CONFIRMING]
    assert looking, "the lookups are shown"
    last = events[-1]
    assert isinstance(last, Unresolved) and last.status is Status.UNCLEAR, last
    assert "not sent again" in last.reason and "failed" not in last.reason
    assert gateways.state.creates.get("kling", 0) == before


async def test_an_older_task_under_the_same_external_id_is_never_adopted(gateways, request_, tmp_path: Path) -> None:
    """The task the lookup finds was made an hour before our create left: someone else's. Ours was refused as a
    duplicate, so nothing was charged; the older task is never followed or downloaded."""
    await provider_for("kling").create(replace(request_, external_task_id="ext-taken-1"))
    with JobHarness(tmp_path, provider_for("kling")) as harness:
        row = await harness.runs.begin("kling", owner=None, prompt="", mode="std", external_task_id="ext-taken-1",
                                       facts=_kept(harness, request_))
        harness.history.update(row, sent_at=time.time() + 3600, status=Status.SUBMITTING)
        await harness.runs.queue(row)
        events = await harness.events(row)
    assert isinstance(events[-1], Failed) and events[-1].task_id is None
    record = harness.history.get(row)
    assert record.status is Status.FAILED and record.task_id is None


async def test_an_unresolved_task_is_looked_at_again_and_finished_if_done(gateways, request_, tmp_path: Path) -> None:
    """An overdue run is looked at once more when its owner comes back: finished if done, left as it was if not."""
    gateways.state.config.job_seconds = 1.5
    with JobHarness(tmp_path, lambda name, key: provider_for(name), timing=fast_timing(deadline_s=0.3)) as harness:
        row = await harness.start(request_, owner="b1.me")
        events = await harness.events(row)
        assert events[-1].status is Status.OVERDUE
        assert await harness.runs.look_again("b1.me") == 1
        await asyncio.sleep(0.5)
        assert harness.history.get(row).status is Status.OVERDUE
        await asyncio.sleep(1.5)
        await harness.runs.look_again("b1.me")
        for _ in range(100):
            if harness.history.get(row).status is Status.DONE:
                break
            await asyncio.sleep(0.1)
    record = harness.history.get(row)
    assert record.status is Status.DONE and record.video_path


async def test_done_is_recorded_only_with_its_video(gateways, request_, tmp_path: Path) -> None:
    """While a finished video cannot be fetched yet, the run is not final: a restart would still fetch it."""
    gateways.state.faults.video_errors = 5  # more than one download's own retries
    statuses_while_fetching = []
    with JobHarness(tmp_path, provider_for("kling")) as harness:
        row = await harness.start(request_)
        async for event in harness.runs.watch(row):
            if isinstance(event, Progress) and "could not be fetched yet" in event.note:
                statuses_while_fetching.append(harness.history.get(row).status)
    assert statuses_while_fetching and Status.DONE not in statuses_while_fetching
    record = harness.history.get(row)
    assert record.status is Status.DONE and record.video_path


def _kept(harness: JobHarness, request):  # type: ignore[no-untyped-def]
    from avatar_demo.store.history import RunFacts

    return RunFacts(image_ref=harness.kept.keep(request.image), audio_ref=harness.kept.keep(request.audio))
