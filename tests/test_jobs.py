"""Money safety and resilience of the job runner, against the simulator's fault knobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_demo.errors import AmbiguousCreate, PollTimeout
from avatar_demo.history import History
from avatar_demo.jobs import Failed, Progress, Submitted, Succeeded, follow_task, run_job
from avatar_demo.polling import PollSchedule
from avatar_demo.providers import AvatarRequest
from tests.helpers import run_to_end
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio



@pytest.mark.parametrize("name", ["kling", "modellix"])
async def test_flaky_polls_still_complete(gateways, request_, tmp_path: Path, name: str) -> None:
    """10 % 5xx plus a 429 (with Retry-After) every 4th poll: the job still ends with a video."""
    gateways.state.faults.poll_error_rate = 0.1
    gateways.state.faults.poll_429_every = 4
    gateways.state.faults.retry_after_s = 0.1
    gateways.state.config.job_seconds = 2.0
    events, _ = await run_to_end(provider_for(name), request_, data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded), events[-1]


@pytest.mark.parametrize("mode", ["gateway_timeout", "drop"])
@pytest.mark.parametrize("name", ["kling", "cometapi", "kkiai"])
async def test_ambiguous_create_makes_exactly_one_remote_task(gateways, request_, tmp_path: Path, name: str, mode: str) -> None:
    """The create lands but the reply is a 504 or a cut connection: found by external id, never re-sent."""
    gateways.state.faults.ambiguous_creates = 1
    gateways.state.faults.ambiguous_mode = mode
    before = gateways.state.creates.get(name, 0)
    events, history = await run_to_end(provider_for(name), request_, data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded), events[-1]
    assert gateways.state.creates[name] - before == 1
    record = history.all()[-1]
    assert record.external_task_id and record.task_id == events[-1].task_id


@pytest.mark.parametrize("name", ["modellix", "crun"])
async def test_ambiguous_create_without_external_ids_is_never_resent(gateways, request_, tmp_path: Path, name: str) -> None:
    from avatar_demo.hosting import LoopbackFileServer

    gateways.state.faults.ambiguous_creates = 1
    before = gateways.state.creates.get(name, 0)
    with LoopbackFileServer(tmp_path / "pub") as host:
        events, history = await run_to_end(provider_for(name, host), request_, data_dir=tmp_path)
    last = events[-1]
    assert isinstance(last, Failed) and isinstance(last.error, AmbiguousCreate)
    assert "not re-sent" in last.reason
    assert gateways.state.creates[name] - before == 1
    assert history.all()[-1].status == "unknown"


async def test_capacity_refusal_waits_then_succeeds(gateways, request_, tmp_path: Path) -> None:
    """Two 1303 refusals, then the create goes through; the user sees why it waited."""
    gateways.state.faults.capacity_refusals = 2
    before = gateways.state.creates.get("kling", 0)
    events, _ = await run_to_end(provider_for("kling"), request_, data_dir=tmp_path)
    waits = [e for e in events if isinstance(e, Progress) and e.raw_status == "waiting"]
    assert len(waits) == 2 and "1303" not in waits[0].note and "too many tasks in flight" in waits[0].note
    assert isinstance(events[-1], Succeeded)
    assert gateways.state.creates["kling"] - before == 1


async def test_other_refusals_are_final(gateways, request_, tmp_path: Path) -> None:
    """A 1201 is not retried: one attempt, one clear failure."""
    events, _ = await run_to_end(provider_for("kling"), AvatarRequest(image=request_.image, audio_id="no-such-id"),
                                 data_dir=tmp_path)
    assert isinstance(events[-1], Failed) and "audio_id not found" in events[-1].reason


async def test_deadline_raises_a_timeout_naming_the_task(gateways, request_, tmp_path: Path) -> None:
    gateways.state.config.job_seconds = 30.0
    events, history = await run_to_end(provider_for("kling"), request_, data_dir=tmp_path, deadline_s=0.6)
    last = events[-1]
    assert isinstance(last, Failed) and isinstance(last.error, PollTimeout)
    assert last.task_id and last.task_id in last.reason and "resume" in last.reason
    assert history.all()[-1].active, "a timed-out task stays resumable"


async def test_task_id_is_recorded_before_the_first_poll(gateways, request_, tmp_path: Path) -> None:
    """At the first wait before polling, the history row already holds the task id."""
    history = History(tmp_path / "h.sqlite3")
    seen: list[str | None] = []

    async def sleep(seconds: float) -> None:
        seen.append(history.all()[-1].task_id)

    async for event in run_job(provider_for("kling"), request_, history=history, videos_dir=tmp_path / "v", sleep=sleep):
        if isinstance(event, Progress):
            break
    assert seen and seen[0] is not None
    assert history.all()[-1].external_task_id


async def test_resume_follows_a_recorded_task_to_its_video(gateways, request_, tmp_path: Path) -> None:
    """A follow that broke off (page closed, app restarted) resumes from the history row."""
    history = History(tmp_path / "h.sqlite3")
    provider = provider_for("kling")
    async for event in run_job(provider, request_, history=history, videos_dir=tmp_path / "v"):
        if isinstance(event, Submitted):
            row = event.row
            break
    fresh = provider_for("kling")
    events = [e async for e in follow_task(fresh, row, history=history, videos_dir=tmp_path / "v",
                                           schedule=PollSchedule(floor_s=0.1, first_s=0.1))]
    assert isinstance(events[-1], Succeeded)
    assert history.get(row).status == "succeeded"


async def test_resume_of_a_create_that_never_answered_uses_the_external_id(gateways, request_, tmp_path: Path) -> None:
    """The process died after sending the create: the external id finds the task."""
    provider = provider_for("kling")
    history = History(tmp_path / "h.sqlite3")
    row = history.begin("kling", owner=None, prompt="", mode="std", external_task_id="ext-crash-1")
    from dataclasses import replace

    await provider.create(replace(request_, external_task_id="ext-crash-1"))
    events = [e async for e in follow_task(provider, row, history=history, videos_dir=tmp_path / "v",
                                           schedule=PollSchedule(floor_s=0.1, first_s=0.1))]
    assert isinstance(events[-1], Succeeded)
    assert gateways.state.creates["kling"] >= 1
