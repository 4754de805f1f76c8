"""Each provider end to end against the simulator on loopback: create, poll, download, fail, auth, TTS, list."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_demo.config import load_settings
from avatar_demo.errors import AuthError, ConfigError, RequestRejected
from avatar_demo.hosting import LoopbackFileServer
from avatar_demo.jobs import Failed, Progress, Submitted, Succeeded
from avatar_demo.media import prepare_media
from avatar_demo.providers import AvatarRequest, TtsRequest, make_provider
from avatar_demo.providers.http import ReadRetry
from tests.helpers import facts, run_to_end

pytestmark = pytest.mark.anyio
ALL = ["kling", "cometapi", "kkiai", "modellix", "crun"]
FAST_READS = ReadRetry(attempts=8, wait_initial_s=0.05, wait_max_s=0.2, wait_jitter_s=0.05, max_retry_after_s=0.2)


def provider_for(name: str, host=None, **env_overrides: str):
    import os

    settings = load_settings({**os.environ, **env_overrides})
    return make_provider(name, settings, media_host=host, read_retry=FAST_READS)


@pytest.fixture
def host(tmp_path: Path):
    with LoopbackFileServer(tmp_path / "public") as published:
        yield published


@pytest.mark.parametrize("name", ALL)
async def test_success_downloads_the_video(gateways, prepared, host, tmp_path: Path, name: str) -> None:
    provider = provider_for(name, host)
    request = AvatarRequest(image=prepared.image.path, audio=prepared.audio.path, prompt="nod", mode="pro")
    events, history = await run_to_end(provider, request, data_dir=tmp_path)
    kinds = [type(e) for e in events]
    assert kinds[0] is Submitted and kinds[-1] is Succeeded and Progress in kinds
    done = events[-1]
    assert done.video_path.is_file() and done.video_path.parent == tmp_path / "videos"
    assert facts(done.video_path).duration_s == pytest.approx(prepared.audio.duration_s, abs=0.2)
    record = history.all()[-1]
    assert (record.status, record.task_id, record.video_path) == ("succeeded", done.task_id, str(done.video_path))
    assert gateways.state.creates[name] >= 1
    await provider.aclose()


@pytest.mark.parametrize("name", ALL)
async def test_failed_task_ends_with_the_gateway_reason(gateways, prepared, host, tmp_path: Path, name: str) -> None:
    gateways.state.faults.failing_tasks = 1
    provider = provider_for(name, host)
    events, history = await run_to_end(provider, AvatarRequest(image=prepared.image.path, audio=prepared.audio.path),
                                       data_dir=tmp_path)
    last = events[-1]
    assert isinstance(last, Failed)
    assert last.task_id and last.task_id in last.reason
    assert "failed" in last.reason.lower()
    assert history.all()[-1].status == "failed"
    await provider.aclose()


@pytest.mark.parametrize("name", ALL)
async def test_bad_key_is_an_auth_error_that_never_echoes_the_key(gateways, prepared, host, name: str) -> None:
    secret = "sk-LEAK-CHECK-9f8e7d"
    env = {"KLING_ACCESS_KEY": "", "KLING_SECRET_KEY": "", "KLING_API_KEY": secret, "COMETAPI_KEY": secret,
           "KKIAI_API_KEY": secret, "MODELLIX_API_KEY": secret, "CRUN_API_KEY": secret}
    provider = provider_for(name, host, **env)
    with pytest.raises(AuthError) as caught:
        await provider.create(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path))
    assert secret not in str(caught.value) and secret not in repr(caught.value.__dict__)
    await provider.aclose()


async def test_jwt_signed_with_the_wrong_secret_is_refused(gateways, prepared) -> None:
    provider = provider_for("kling", KLING_SECRET_KEY="not-the-secret-" + "x" * 32)
    with pytest.raises(AuthError, match=r"invalid \(1002\)"):
        await provider.create(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path))


async def test_kling_plain_api_key_works(gateways, prepared, tmp_path: Path) -> None:
    provider = provider_for("kling", KLING_ACCESS_KEY="", KLING_SECRET_KEY="", KLING_API_KEY="kling-plain-key")
    events, _ = await run_to_end(provider, AvatarRequest(image=prepared.image.path, audio=prepared.audio.path), data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded)


@pytest.mark.parametrize("name", ["kling", "cometapi", "kkiai"])
async def test_tts_audio_id_drives_a_create(gateways, prepared, tmp_path: Path, name: str) -> None:
    provider = provider_for(name)
    voice = await provider.tts(TtsRequest(text="Hello there, this is a test of the voice.", voice_id="oversea_male1"))
    assert voice.audio_id and voice.duration_s >= 2.0
    events, _ = await run_to_end(provider, AvatarRequest(image=prepared.image.path, audio_id=voice.audio_id), data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded)
    with pytest.raises(RequestRejected, match="Voice id not found"):
        await provider.tts(TtsRequest(text="hi", voice_id="preset-123"))


async def test_list_and_lookup_by_external_id(gateways, prepared) -> None:
    provider = provider_for("kling")
    created = await provider.create(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path,
                                                  external_task_id="ext-list-1"))
    listed = await provider.list_tasks(page=1, size=5)
    assert created.task_id in [t.task_id for t in listed]
    found = await provider.find_external("ext-list-1")
    assert found is not None and found.task_id == created.task_id
    assert await provider.find_external("ext-never-used") is None


async def test_cometapi_refuses_audio_over_60_seconds(gateways, media_dir: Path, tmp_path: Path) -> None:
    from tests.helpers import make_tone

    long = await prepare_media(media_dir / "portrait.jpg", make_tone(tmp_path / "l.mp3", 75.0), tmp_path / "j", max_seconds=70)
    provider = provider_for("cometapi")
    with pytest.raises(RequestRejected, match="outside 2-60s"):
        await provider.create(AvatarRequest(image=long.image.path, audio=long.audio.path))
    assert provider.max_audio_s == 60.0


def test_crun_without_a_media_host_names_what_to_set(gateways) -> None:
    with pytest.raises(ConfigError, match="AVATAR_PUBLIC_URL"):
        provider_for("crun")


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="MODELLIX_API_KEY"):
        make_provider("modellix", load_settings({}))


@pytest.mark.parametrize(("name", "words"), [("kling", ["submitted", "processing", "succeed"]), ("crun", ["success"])])
async def test_callbacks_follow_status_changes(gateways, prepared, host, name: str, words: list[str]) -> None:
    """The simulator posts the gateway's own payload to callback_url as the status changes."""
    import asyncio

    provider = provider_for(name, host)
    created = await provider.create(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path,
                                                  callback_url=f"{gateways.url}/sim/faults"))
    for _ in range(60):
        sent = [body for task_id, body in gateways.state.callbacks_sent if task_id == created.task_id]
        if sent and (sent[-1].get("task_status") or sent[-1].get("status")) in ("succeed", "success"):
            break
        await asyncio.sleep(0.1)
    assert [b.get("task_status") or b.get("status") for b in sent] == words
    await provider.aclose()
