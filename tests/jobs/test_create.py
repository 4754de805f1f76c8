"""Sending a create without ever paying twice, against the simulator's fault knobs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from pathlib import Path

import pytest

from avatar_demo import providers
from avatar_demo.app.config import load_settings
from avatar_demo.core.errors import GatewayUnreachable
from avatar_demo.core.status import Status
from avatar_demo.jobs import Failed, Progress, Submitted, Succeeded, Unresolved
from avatar_demo.providers import AvatarRequest, ProviderOptions, TaskState
from avatar_demo.simulator import simulated
from avatar_demo.web.hosting import LoopbackFileServer
from avatar_demo.web.serving import free_port
from tests.helpers import JobHarness, run_to_end, tmpfs
from tests.providers.test_gateways import provider_for

pytestmark = pytest.mark.anyio
WITH_LOOKUP = [s.name for s in simulated() if s.external_ids]
WITHOUT_LOOKUP = [s.name for s in simulated() if not s.external_ids]


@pytest.mark.parametrize("mode", ["gateway_timeout", "drop"])
@pytest.mark.parametrize("name", WITH_LOOKUP)
async def test_ambiguous_create_makes_exactly_one_remote_task(gateways, request_, tmp_path: Path, name: str,
                                                              mode: str) -> None:
    """The create lands but the reply is a 504 or a cut connection: found by external id, never re-sent."""
    gateways.state.faults.ambiguous_creates = 1
    gateways.state.faults.ambiguous_mode = mode
    before = gateways.state.creates.get(name, 0)
    events, history = await run_to_end(provider_for(name), request_, data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded), events[-1]
    assert gateways.state.creates[name] - before == 1
    record = history.all()[-1]
    assert record.external_task_id and record.task_id == events[-1].task_id


@pytest.mark.parametrize("name", WITHOUT_LOOKUP)
async def test_ambiguous_create_without_external_ids_is_never_resent(gateways, request_, tmp_path: Path,
                                                                     name: str) -> None:
    """No way to look it up: one create, and the user is told it may exist and be billed, not that it failed."""
    gateways.state.faults.ambiguous_creates = 1
    before = gateways.state.creates.get(name, 0)
    with LoopbackFileServer(tmp_path / "pub") as host:
        events, history = await run_to_end(provider_for(name), request_, data_dir=tmp_path, media_host=host)
    last = events[-1]
    assert isinstance(last, Unresolved) and last.status is Status.UNKNOWN
    assert "not sent again" in last.reason and "may be billed" in last.reason and "try again" not in last.reason
    assert gateways.state.creates[name] - before == 1
    assert history.all()[-1].status is Status.UNKNOWN


@pytest.mark.parametrize("name", [s.name for s in simulated() if not s.external_ids and s.callbacks])
async def test_an_unclear_create_is_settled_by_the_gateways_callback(gateways, receiver, request_, tmp_path: Path,
                                                                    name: str) -> None:
    """Never re-sent: the gateway's callback to this task's own URL names the task, which is read and followed."""
    gateways.state.faults.ambiguous_creates = 1
    gateways.state.faults.ambiguous_mode = "drop"
    before = gateways.state.creates.get(name, 0)
    with LoopbackFileServer(tmp_path / "pub") as host:
        events, history = await run_to_end(provider_for(name), request_, data_dir=tmp_path, media_host=host,
                                           callbacks=receiver)
    assert any(isinstance(e, Progress) and e.status is Status.CONFIRMING for e in events)
    assert isinstance(events[-1], Succeeded), events[-1]
    assert gateways.state.creates[name] - before == 1
    assert history.all()[-1].task_id == events[-1].task_id


@pytest.mark.parametrize("name", [s.name for s in simulated() if not s.external_ids and s.callbacks])
async def test_the_task_a_callback_names_is_recorded_before_it_is_read(gateways, receiver, request_, tmp_path: Path,
                                                                      name: str) -> None:
    """The callback names the task; the confirming read then fails (the gateway's reads are down): the id is already
    in the record, so a crash here would keep it. Once reads answer, the run ends with its video, one create."""
    gateways.state.faults.ambiguous_creates = 1
    gateways.state.faults.ambiguous_mode = "drop"
    gateways.state.config.job_seconds = 2.0
    before = gateways.state.creates.get(name, 0)
    with LoopbackFileServer(tmp_path / "pub") as host, \
            JobHarness(tmp_path, provider_for(name), media_host=host, callbacks=receiver) as harness:
        gateways.state.faults.poll_error_rate = 1.0
        row = await harness.start(request_, provider=name)
        for _ in range(400):
            if harness.history.get(row).task_id:
                break
            await asyncio.sleep(0.05)
        record = harness.history.get(row)
        assert record.task_id and record.status is Status.CONFIRMING, record
        gateways.state.faults.poll_error_rate = 0.0
        events = await harness.events(row)
    assert isinstance(events[-1], Succeeded), events[-1]
    assert events[-1].task_id == record.task_id
    assert gateways.state.creates[name] - before == 1


@pytest.mark.parametrize("name", [s.name for s in simulated()])
async def test_a_create_that_never_connected_is_definite(request_, tmp_path: Path, name: str) -> None:
    """Nothing listens at the gateway's address: nothing was sent, so it is a plain failure, never "unknown"."""
    dead = f"http://127.0.0.1:{free_port()}"
    settings = load_settings({f"{providers.spec(name).env_prefix}_BASE_URL": dead, "KLING_API_KEY": "k",
                              "COMETAPI_KEY": "k", "KKIAI_API_KEY": "k", "MODELLIX_API_KEY": "k", "CRUN_API_KEY": "k",
                              "FAL_KEY": "k"})
    provider = providers.make_provider(settings.provider(name), ProviderOptions())
    with LoopbackFileServer(tmp_path / "pub") as host:
        events, history = await run_to_end(provider, request_, data_dir=tmp_path, media_host=host)
    last = events[-1]
    assert isinstance(last, Failed) and last.task_id is None
    assert "nothing was sent" in last.reason
    retries = [e for e in events if isinstance(e, Progress) and "nothing was sent" in e.note]
    assert retries, "a refused connection is safe to retry"
    assert history.all()[-1].status is Status.FAILED
    assert not any((tmp_path / "pub").iterdir()), "media published for it are withdrawn"


@pytest.mark.parametrize("name", [s.name for s in simulated()])
async def test_capacity_refusals_wait_for_room_never_resend_blind(gateways, request_, tmp_path: Path,
                                                                   name: str) -> None:
    """Two capacity refusals (Kling 1303, Modellix and crun 429, fal 429): the run waits for room at its account,
    then its create goes through once."""
    gateways.state.faults.capacity_refusals = 2
    before = gateways.state.creates.get(name, 0)
    with LoopbackFileServer(tmp_path / "pub") as host:
        events, _ = await run_to_end(provider_for(name), request_, data_dir=tmp_path, media_host=host)
    waits = [e for e in events if isinstance(e, Progress) and e.status is Status.WAITING]
    assert any("as soon as one of them ends" in w.note for w in waits)
    assert isinstance(events[-1], Succeeded), events[-1]
    assert gateways.state.creates[name] - before == 1


async def test_other_refusals_are_final(gateways, request_, tmp_path: Path) -> None:
    """A 1201 is not retried: one attempt, one clear failure."""
    events, _ = await run_to_end(provider_for("kling"), AvatarRequest(image=request_.image, audio_id="no-such-id"),
                                 data_dir=tmp_path)
    assert isinstance(events[-1], Failed) and "audio_id not found" in events[-1].reason


async def test_a_chosen_external_id_in_use_is_refused_never_adopted(gateways, request_, tmp_path: Path) -> None:
    """Someone else's task under the same external id: the second job is refused and never sees that task."""
    first, _ = await run_to_end(provider_for("kling"), AvatarRequest(image=request_.image, audio=request_.audio,
                                                                    external_task_id="my-job-1"), data_dir=tmp_path)
    assert isinstance(first[-1], Succeeded)
    second, history = await run_to_end(provider_for("kling"), AvatarRequest(
        image=request_.image, audio=request_.audio, external_task_id="my-job-1"), data_dir=tmp_path / "other")
    last = second[-1]
    assert isinstance(last, Failed) and last.task_id is None and "already used" in last.reason
    assert not [e for e in second if isinstance(e, Submitted)]
    assert history.all()[-1].task_id is None


async def test_nothing_is_sent_when_the_history_cannot_record_it(gateways, request_, tmp_path: Path) -> None:
    """The store cannot take the run (its disk is full): refused as such before anything is sent."""
    from avatar_demo.core.errors import DiskFull

    with tmpfs(tmp_path / "tiny", "1m") as tiny, \
            JobHarness(tmp_path / "data", provider_for("kling"), database=tiny / "history.sqlite3") as harness:
        with contextlib.suppress(OSError), (tiny / "filler").open("wb") as fh:
            while True:
                fh.write(b"x" * 65536)
        before = gateways.state.creates.get("kling", 0)
        with pytest.raises(DiskFull):
            await harness.start(dataclasses.replace(request_, prompt="x" * 2000))
    assert gateways.state.creates.get("kling", 0) == before


async def test_a_task_id_the_history_refuses_is_never_lost_nor_paid_twice(gateways, request_, tmp_path: Path) -> None:
    """The gateway accepts the create, then the store refuses writes (a disk that just filled up): the engine tries
    the step again, which finds the task under its external id once the store takes writes. One create, one video."""
    with tmpfs(tmp_path / "tiny", "2m") as tiny:
        filler = tiny / "filler"

        class Filling:
            """Fills the history's disk right after the gateway accepts the create."""

            def __init__(self, inner):  # type: ignore[no-untyped-def]
                self.inner, self.spec = inner, inner.spec

            async def create(self, request):  # type: ignore[no-untyped-def]
                state = await self.inner.create(request)
                with contextlib.suppress(OSError), filler.open("wb") as fh:
                    while True:
                        fh.write(b"x" * 65536)
                return state

            # Spelled out: from Python 3.12 a runtime protocol check ignores what __getattr__ would lend.
            async def find_external(self, external_task_id):  # type: ignore[no-untyped-def]
                return await self.inner.find_external(external_task_id)

            async def list_tasks(self, page=1, size=30):  # type: ignore[no-untyped-def]
                return await self.inner.list_tasks(page, size)

            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                return getattr(self.inner, name)

        gateway = Filling(provider_for("kling"))
        before = gateways.state.creates.get("kling", 0)
        with JobHarness(tmp_path / "data", gateway, database=tiny / "history.sqlite3") as harness:
            row = await harness.start(request_)
            for _ in range(200):
                if filler.exists():
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # the step fails while the disk is full, and is tried again
            assert harness.history.get(row).task_id is None, "the write of the task id failed"
            filler.unlink()
            events = await harness.events(row)
        assert isinstance(events[-1], Succeeded), events[-1]
        assert gateways.state.creates["kling"] - before == 1
        record = harness.history.get(row)
        assert record.task_id == events[-1].task_id and record.status is Status.DONE


class _TimesOutOverAnOlderTask:
    """A gateway whose create times out, while its lookup finds a task made under the same external id an hour
    before this job sent anything: someone else's task, which the job must never adopt (nor pay for)."""

    spec = providers.spec("kling")

    def __init__(self) -> None:
        self.creates = 0

    async def create(self, request: AvatarRequest) -> TaskState:
        self.creates += 1
        raise GatewayUnreachable(self.spec.label, "timed out")

    async def find_external(self, external_task_id: str) -> TaskState:
        return TaskState("older-task", Status.DONE, "succeed", video_url="https://example.invalid/theirs.mp4",
                         external_task_id=external_task_id, created_at=time.time() - 3600)

    async def get(self, task_id: str) -> TaskState:
        raise AssertionError("the older task must never be followed")

    async def list_tasks(self, page: int = 1, size: int = 30) -> list[TaskState]:
        return []

    async def aclose(self) -> None:
        pass


async def test_an_older_task_under_our_external_id_is_never_adopted(request_, tmp_path: Path) -> None:
    """The clock-skew guard: a task the gateway made well before our create left is not ours."""
    gateway = _TimesOutOverAnOlderTask()
    request = dataclasses.replace(request_, external_task_id="shared-id")
    events, history = await run_to_end(gateway, request, data_dir=tmp_path)
    assert not any(isinstance(e, Submitted) for e in events)
    assert isinstance(events[-1], Failed) and "already used by another task" in events[-1].reason
    assert gateway.creates == 1
    assert history.all()[-1].task_id is None
