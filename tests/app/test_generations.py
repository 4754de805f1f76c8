"""The one start path, against the simulator over loopback: what a run costs the allowance, and the voice cap."""

from __future__ import annotations

import collections
import os
import shutil
from pathlib import Path

import pytest

from avatar_demo.app.config import load_settings
from avatar_demo.app.generations import Generations
from avatar_demo.app.services import Services
from avatar_demo.core.errors import DiskFull, InputError
from avatar_demo.jobs import Failed, Succeeded
from avatar_demo.jobs.plan import JobInput
from avatar_demo.policy import Visitor
from avatar_demo.store.ledger import utc_day
from tests.helpers import make_image, make_tone, tmpfs
from tests.portraits import group_photo

pytestmark = pytest.mark.anyio

STRANGER = Visitor("ip:203.0.113.9", "203.0.113.9")


def services(tmp_path: Path, **env: str) -> Services:
    """The app's services on the environment the `gateways` fixture set, plus *env*."""
    return Services(load_settings({**os.environ, "AVATAR_DATA_DIR": str(tmp_path / "data"), **env}))


async def run(app: Services, provider: str, job: JobInput, visitor: Visitor = STRANGER, **options: object):
    started = await Generations(app).start(visitor, provider, job, **options)
    return [event async for event in app.runs.watch(started.row)]


async def test_a_task_created_then_failed_keeps_its_run_spent(gateways, media_dir: Path, tmp_path: Path) -> None:
    """The gateway made the task, so it may bill: the house allowance is not given back when it fails."""
    app = services(tmp_path, AVATAR_PUBLIC="1", AVATAR_FREE_RUNS="3")
    gateways.state.faults.failing_tasks = 1
    events = await run(app, "kling", JobInput(image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3"))
    assert isinstance(events[-1], Failed) and events[-1].task_id
    assert app.ledger.usage(STRANGER.key, utc_day()).runs == 1


async def test_a_create_refused_outright_gives_the_run_back(gateways, media_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal before any task existed charged nothing: the run is given back."""
    monkeypatch.setenv("KLING_API_KEY", "not-a-key-the-gateway-knows")
    monkeypatch.delenv("KLING_ACCESS_KEY")
    monkeypatch.delenv("KLING_SECRET_KEY")
    app = services(tmp_path, AVATAR_PUBLIC="1", AVATAR_FREE_RUNS="3")
    events = await run(app, "kling", JobInput(image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3"))
    assert isinstance(events[-1], Failed) and events[-1].task_id is None
    assert app.ledger.usage(STRANGER.key, utc_day()).runs == 0


@pytest.mark.parametrize("provider", ["fal", "cometapi"])
async def test_the_gateways_own_voice_limit_holds_under_a_higher_app_cap(gateways, media_dir: Path, tmp_path: Path,
                                                                         provider: str) -> None:
    """AVATAR_MAX_AUDIO_S=120 may not send fal or CometAPI more than their 60 s: the clip is trimmed."""
    app = services(tmp_path, AVATAR_MAX_AUDIO_S="120", AVATAR_PUBLIC_URL="")
    clip = make_tone(tmp_path / "long.mp3", 90.0)
    events = await run(app, provider, JobInput(image=media_dir / "portrait.jpg", audio=clip))
    assert isinstance(events[-1], Succeeded), events[-1]
    assert gateways.state.tasks[events[-1].task_id].audio_s == pytest.approx(60.0, abs=0.1)


async def test_too_little_free_space_refuses_before_anything_is_prepared(gateways, media_dir: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Below AVATAR_MIN_FREE_MB: a readable refusal, no preparation, no row, no create."""
    app = services(tmp_path, AVATAR_MIN_FREE_MB="64")
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10 << 30, 10 << 30, 5 << 20))
    before = sum(gateways.state.creates.values())
    with pytest.raises(DiskFull, match="disk is full: nothing was sent and nothing was charged"):
        await Generations(app).start(STRANGER, "kling", JobInput(image=media_dir / "portrait.jpg",
                                                                 audio=media_dir / "speech.mp3"))
    assert sum(gateways.state.creates.values()) == before
    assert app.history.all() == [] and list(app.storage.jobs.iterdir()) == []


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 1 MB tmpfs for the data dir: the data folder itself fills up."""
    with tmpfs(tmp_path / "tiny", "1m") as folder:
        yield folder


async def test_a_disk_that_fills_up_while_preparing_is_a_readable_refusal(gateways, media_dir: Path, tmp_path: Path,
                                                                          tiny_disk: Path) -> None:
    """The free-space check passes, then the prepared photo's write hits ENOSPC: DiskFull, nothing left, no create."""
    app = Services(load_settings({**os.environ, "AVATAR_DATA_DIR": str(tiny_disk), "AVATAR_MIN_FREE_MB": "0"}))
    app.open()  # as the running app has it: the store opened before anyone asks
    filler = tiny_disk / "filler"
    with filler.open("wb") as fh:  # leave a few KB: less than any prepared photo needs
        try:
            fh.write(bytes(shutil.disk_usage(tiny_disk).free - 8192))
        except OSError:
            pass
    before = sum(gateways.state.creates.values())
    photo = make_image(tmp_path / "big.png", (1600, 1600), format="PNG")
    with pytest.raises(DiskFull, match="nothing was charged"):
        await Generations(app).start(STRANGER, "kling", JobInput(image=photo, audio=media_dir / "speech.mp3"))
    assert sum(gateways.state.creates.values()) == before
    assert list(app.storage.jobs.iterdir()) == []


async def test_a_photo_without_a_face_is_refused_before_anything_is_spent(gateways, media_dir: Path,
                                                                          tmp_path: Path) -> None:
    """Public mode, a paid gateway: no create, no run taken from the allowance, and the way on named."""
    app = services(tmp_path, AVATAR_PUBLIC="1", AVATAR_FREE_RUNS="3")
    before = sum(gateways.state.creates.values())
    with pytest.raises(InputError, match="No face found in drawing.jpg.*Send anyway"):
        await Generations(app).start(STRANGER, "kling", JobInput(image=media_dir / "drawing.jpg",
                                                                 audio=media_dir / "speech.mp3"))
    assert sum(gateways.state.creates.values()) == before
    assert app.ledger.usage(STRANGER.key, utc_day()).runs == 0
    assert list(app.storage.jobs.iterdir()) == []


async def test_a_group_photo_is_held_back_from_a_paid_gateway_unless_sent_anyway(gateways, media_dir: Path,
                                                                                tmp_path: Path) -> None:
    """Three faces: a paid gateway is sent nothing and the refusal says why and how; the same override as for
    no face (allow_no_face, "Send anyway") sends it, and the changes say which face the preview would use."""
    photo, _, _ = group_photo(tmp_path / "group.jpg")
    app = services(tmp_path, AVATAR_PUBLIC="1", AVATAR_FREE_RUNS="3")
    before = sum(gateways.state.creates.values())
    with pytest.raises(InputError, match="3 faces found in group.jpg.*Send anyway"):
        await Generations(app).start(STRANGER, "kling", JobInput(image=photo, audio=media_dir / "speech.mp3"))
    assert sum(gateways.state.creates.values()) == before
    assert app.ledger.usage(STRANGER.key, utc_day()).runs == 0
    started = await Generations(app).start(STRANGER, "kling", JobInput(image=photo, audio=media_dir / "speech.mp3",
                                                                       allow_no_face=True))
    assert any("3 faces were found" in w and "sent anyway" in w for w in started.plan.warnings)
    assert any(c.startswith("Photo: 3 faces found: the largest is used") for c in started.plan.changes)
    events = [e async for e in app.runs.watch(started.row)]
    assert isinstance(events[-1], Succeeded)
    assert sum(gateways.state.creates.values()) == before + 1
    # The free preview needs no override: the largest face talks.
    preview = await Generations(app).start(STRANGER, "local", JobInput(image=photo, audio=media_dir / "speech.mp3"))
    assert any(c.startswith("Photo: 3 faces found: the largest is used") for c in preview.plan.changes)


async def test_sending_anyway_counts_against_the_allowance_like_any_run(gateways, media_dir: Path,
                                                                         tmp_path: Path) -> None:
    app = services(tmp_path, AVATAR_PUBLIC="1", AVATAR_FREE_RUNS="3")
    started = await Generations(app).start(STRANGER, "kling", JobInput(
        image=media_dir / "drawing.jpg", audio=media_dir / "speech.mp3", allow_no_face=True))
    assert any("sent anyway" in w for w in started.plan.warnings)
    assert any(c == "Photo: no face found" for c in started.plan.changes)
    events = [e async for e in app.runs.watch(started.row)]
    assert isinstance(events[-1], Succeeded)
    assert app.ledger.usage(STRANGER.key, utc_day()).runs == 1


async def test_a_face_is_named_in_the_changes_and_the_preview_needs_none(gateways, media_dir: Path,
                                                                          tmp_path: Path) -> None:
    app = services(tmp_path)
    with_face = await Generations(app).start(STRANGER, "kling", JobInput(image=media_dir / "portrait.jpg",
                                                                        audio=media_dir / "speech.mp3"))
    assert any(c.startswith("Photo: face found: ") and " px, " in c for c in with_face.plan.changes)
    preview = await Generations(app).start(STRANGER, "local", JobInput(image=media_dir / "drawing.jpg",
                                                                      audio=media_dir / "speech.mp3"))
    assert "Photo: no face found" in preview.plan.changes and preview.plan.warnings == []
    for started in (with_face, preview):
        events = [e async for e in app.runs.watch(started.row)]
        assert isinstance(events[-1], Succeeded)
    assert events[-1].note.startswith("no face found: the preview moves the whole photo instead")
