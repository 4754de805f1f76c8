"""Runs on the durable engine: followed whatever the page does, recovered after a crash, in line at each account's
pace, cancelled for nothing while in line."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.jobs import Failed, Progress, Submitted, Succeeded, Unresolved
from avatar_demo.jobs.engine import Engine
from avatar_demo.providers import TaskState
from tests.helpers import JobHarness
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def gateways_by_name(name: str, key: str | None):  # type: ignore[no-untyped-def]
    return provider_for(name)


async def test_the_run_is_finished_after_the_watcher_leaves(gateways, request_, tmp_path: Path) -> None:
    """The page goes away right after the create: the engine still downloads the video and records it."""
    with JobHarness(tmp_path, gateways_by_name) as harness:
        row = await harness.start(request_, owner="b1.x")
        async for event in harness.runs.watch(row):
            if isinstance(event, Submitted):
                break  # the tab closed
        for _ in range(300):
            if not harness.history.get(row).status.active:
                break
            await asyncio.sleep(0.1)
        record = harness.history.get(row)
        assert record.status is Status.DONE and (tmp_path / "videos" / record.video_path).is_file()
        late = await harness.events(row)
    assert isinstance(late[-1], Succeeded), "a late watcher sees the ending"


async def test_a_run_cut_off_by_sigkill_is_recovered_by_the_next_start(gateways, request_, tmp_path: Path) -> None:
    """The process dies while its run is followed: the next start of the engine carries the same workflow on from
    its last checkpoint, and the run ends with its video. One create in all."""
    assert not Engine.shared().apps, "another app holds the engine: recovery happens when the engine launches"
    gateways.state.config.job_seconds = 4.0
    before = gateways.state.creates.get("kling", 0)
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import asyncio, time
        from pathlib import Path
        from avatar_demo.providers import AvatarRequest
        from tests.helpers import JobHarness
        from tests.providers.test_gateways import provider_for

        async def main():
            harness = JobHarness(Path({str(tmp_path)!r}), lambda name, key: provider_for(name))
            row = await harness.start(AvatarRequest(image=Path({str(request_.image)!r}),
                                                    audio=Path({str(request_.audio)!r})))
            while not harness.history.get(row).task_id:
                await asyncio.sleep(0.05)
            print(row, flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
        """)], cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, text=True)
    try:
        row = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with JobHarness(tmp_path, gateways_by_name) as harness:
        assert harness.history.get(row).status.active, "nobody finished it"
        events = await harness.events(row)
    assert isinstance(events[-1], Succeeded), events[-1]
    assert gateways.state.creates["kling"] - before == 1


async def test_a_run_on_a_visitors_own_key_says_why_it_cannot_go_on_after_a_restart(gateways, request_,
                                                                                  tmp_path: Path) -> None:
    """The key is never stored: a run that was in line when the app restarted is not sent (nothing charged), and one
    that was sent says it may still finish and be billed."""
    with JobHarness(tmp_path, gateways_by_name) as harness:
        from tests.jobs.test_follow import _kept

        waiting = await harness.runs.begin("kling", owner=None, prompt="", mode="std", user_key="their-key",
                                           facts=_kept(harness, request_))
        sent = await harness.runs.begin("kling", owner=None, prompt="", mode="std", user_key="their-key",
                                        facts=_kept(harness, request_))
        harness.history.update(sent, task_id="880", status=Status.RUNNING, sent_at=1.0)
        harness.runs.steps.keys.clear()  # what a restart leaves of them
        for row in (waiting, sent):
            await harness.runs.queue(row)
        first, second = await harness.events(waiting), await harness.events(sent)
    assert isinstance(first[-1], Failed) and "nothing was charged" in first[-1].reason
    assert isinstance(second[-1], Unresolved) and second[-1].status is Status.STOPPED
    assert "880" in second[-1].reason and "never stores" in second[-1].reason


class _BrokenReads:
    """A gateway that accepts the create, then the app's code breaks while following it."""

    def __init__(self) -> None:
        self.inner = provider_for("kling")
        self.spec = self.inner.spec

    async def create(self, request):  # type: ignore[no-untyped-def]
        return await self.inner.create(request)

    async def get(self, task_id: str) -> TaskState:
        raise RuntimeError("a bug while following")

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_bug_while_following_ends_the_run_as_may_still_bill(gateways, request_, tmp_path: Path) -> None:
    """An exception inside the follow never reads as a plain failure: the task may still finish and be billed."""
    with JobHarness(tmp_path, _BrokenReads()) as harness:
        events = await harness.events(await harness.start(request_))
    last = events[-1]
    assert isinstance(last, Unresolved) and last.status is Status.OVERDUE
    assert "may still finish and be billed" in last.reason


async def test_runs_wait_in_line_at_the_accounts_limit_and_a_run_in_line_is_cancelled_for_nothing(
        gateways, request_, tmp_path: Path) -> None:
    """A limit of 1: the second run waits in line (its place shown), is cancelled there, and is never sent."""
    gateways.state.config.job_seconds = 3.0
    before = gateways.state.creates.get("kling", 0)
    with JobHarness(tmp_path, gateways_by_name, parallel={"kling": 1}) as harness:
        first = await harness.start(request_)
        second = await harness.start(request_)
        seen = []
        async for event in harness.runs.watch(second):
            seen.append(event)
            if isinstance(event, Progress) and event.status is Status.PENDING:
                assert "#" in event.note and "Cancelling now costs nothing" in event.note
                assert await harness.runs.stop(second) is Status.CANCELLED
        assert isinstance(seen[-1], Failed) and seen[-1].status is Status.CANCELLED
        assert isinstance((await harness.events(first))[-1], Succeeded)
    assert gateways.state.creates["kling"] - before == 1


async def test_a_capacity_refusal_lowers_the_accounts_limit_until_a_task_ends(gateways, request_,
                                                                             tmp_path: Path) -> None:
    """The account takes 2 tasks, the app's limit says 4: of 6 runs, at most the first wave is refused, each end
    lets one waiting run go, and every run ends with its video (6 accepted creates)."""
    gateways.state.config.job_seconds = 1.5
    gateways.state.config.max_in_flight = 2
    creates, refused = gateways.state.creates.get("kling", 0), gateways.state.refused.get("kling", 0)
    try:
        with JobHarness(tmp_path, gateways_by_name, parallel={"kling": 4}) as harness:
            rows = [await harness.start(request_) for _ in range(6)]
            ends = await asyncio.gather(*(harness.events(row, timeout=120) for row in rows))
    finally:
        gateways.state.config.max_in_flight = 0
    assert all(isinstance(events[-1], Succeeded) for events in ends), [e[-1] for e in ends]
    assert gateways.state.creates["kling"] - creates == 6
    assert gateways.state.refused.get("kling", 0) - refused <= 2
