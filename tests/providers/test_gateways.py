"""Each provider end to end against the simulator on loopback: create, poll, download, fail, auth, TTS, list."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import pytest

from avatar_demo import providers
from avatar_demo.app.config import load_settings
from avatar_demo.core.errors import AuthError, ConfigError, RequestRejected
from avatar_demo.core.status import Status
from avatar_demo.jobs import Failed, Progress, Submitted, Succeeded
from avatar_demo.media import prepare_media
from avatar_demo.providers import AvatarRequest, Lookup, ProviderOptions, TextToSpeech, TtsRequest
from avatar_demo.providers.http import ReadRetry
from avatar_demo.simulator import simulated
from avatar_demo.web.hosting import LoopbackFileServer
from tests.helpers import facts, make_tone, run_to_end

pytestmark = pytest.mark.anyio
ALL = [spec.name for spec in simulated()]
WITH_TTS = [spec.name for spec in simulated() if spec.tts]
FAST_READS = ReadRetry(attempts=8, wait_initial_s=0.05, wait_max_s=0.2, wait_jitter_s=0.05, max_retry_after_s=0.2)


def provider_for(name: str, **env_overrides: str):  # type: ignore[no-untyped-def]
    """Provider *name* configured from the environment (and *env_overrides*), with fast read retries."""
    settings = load_settings({**os.environ, **env_overrides})
    return providers.make_provider(settings.provider(name), ProviderOptions(read_retry=FAST_READS))


@pytest.fixture
def host(tmp_path: Path):
    with LoopbackFileServer(tmp_path / "public") as published:
        yield published


async def published(request: AvatarRequest, host) -> AvatarRequest:  # type: ignore[no-untyped-def]
    """The request with its media published, as the runner does for URL-only gateways."""
    return replace(request, image_url=await host.publish("manual", request.image),
                   audio_url=await host.publish("manual", request.audio))


@pytest.mark.parametrize("name", ALL)
async def test_success_downloads_the_video(gateways, prepared, host, tmp_path: Path, name: str) -> None:
    provider = provider_for(name)
    request = AvatarRequest(image=prepared.image.path, audio=prepared.audio.path, prompt="nod", mode="pro")
    events, history = await run_to_end(provider, request, data_dir=tmp_path, media_host=host)
    kinds = [type(e) for e in events]
    assert kinds[-1] is Succeeded and Submitted in kinds and Progress in kinds
    done = events[-1]
    assert done.video_path.is_file() and done.video_path.parent == tmp_path / "videos"
    assert len(done.video_path.stem) == 32, "video names are random, never the task id"
    assert facts(done.video_path).duration_s == pytest.approx(prepared.audio.duration_s, abs=0.2)
    record = history.all()[-1]
    assert (record.status, record.task_id, record.video_path) == (Status.DONE, done.task_id, done.video_path.name)
    assert gateways.state.creates[name] >= 1
    if providers.spec(name).public_media:
        assert not any((tmp_path / "public").iterdir()), "published media are removed once the task is final"
    await provider.aclose()


@pytest.mark.parametrize("name", ALL)
async def test_failed_task_ends_with_the_gateway_reason(gateways, prepared, host, tmp_path: Path, name: str) -> None:
    gateways.state.faults.failing_tasks = 1
    provider = provider_for(name)
    events, history = await run_to_end(provider, AvatarRequest(image=prepared.image.path, audio=prepared.audio.path),
                                       data_dir=tmp_path, media_host=host)
    last = events[-1]
    assert isinstance(last, Failed)
    assert last.task_id and last.task_id in last.reason
    assert "failed" in last.reason.lower()
    assert history.all()[-1].status is Status.FAILED
    await provider.aclose()


@pytest.mark.parametrize("name", ALL)
async def test_bad_key_is_an_auth_error_that_never_echoes_the_key(gateways, prepared, host, name: str) -> None:
    secret = "sk-LEAK-CHECK-9f8e7d"
    env = {variable: "" for spec in providers.specs() for group in spec.key_groups for variable in group}
    env.update({group[0]: secret for spec in providers.specs() for group in spec.key_groups if len(group) == 1})
    provider = provider_for(name, **env)
    request = await published(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path), host)
    with pytest.raises(AuthError) as caught:
        await provider.create(request)
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


@pytest.mark.parametrize("name", WITH_TTS)
async def test_tts_audio_id_drives_a_create(gateways, prepared, tmp_path: Path, name: str) -> None:
    provider = provider_for(name)
    assert isinstance(provider, TextToSpeech)
    voice = await provider.tts(TtsRequest(text="Hello there, this is a test of the voice.", voice_id="oversea_male1"))
    assert voice.audio_id and voice.duration_s >= 2.0
    events, _ = await run_to_end(provider_for(name), AvatarRequest(image=prepared.image.path, audio_id=voice.audio_id),
                                 data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded)
    with pytest.raises(RequestRejected, match="Voice id not found"):
        await provider.tts(TtsRequest(text="hi", voice_id="preset-123"))


@pytest.mark.parametrize("name", ALL)
def test_capabilities_are_the_protocols_the_class_implements(name: str) -> None:
    """A spec flag and the matching protocol go together; no stub methods stand in for a missing capability."""
    spec = providers.spec(name)
    cls = providers.implementation(spec)
    assert spec.tts == hasattr(cls, "tts")
    assert spec.external_ids == hasattr(cls, "find_external")
    assert spec.callbacks == hasattr(cls, "callback_status")
    assert spec.cancel == hasattr(cls, "cancel")


async def test_list_and_lookup_by_external_id(gateways, prepared) -> None:
    provider = provider_for("kling")
    assert isinstance(provider, Lookup)
    created = await provider.create(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path,
                                                  external_task_id="ext-list-1"))
    listed = await provider.list_tasks(page=1, size=5)
    assert created.task_id in [t.task_id for t in listed]
    found = await provider.find_external("ext-list-1")
    assert found is not None and found.task_id == created.task_id
    assert await provider.find_external("ext-never-used") is None


@pytest.mark.parametrize("name", [s.name for s in simulated() if s.max_audio_s < 300])
async def test_short_limit_gateways_refuse_longer_audio(gateways, media_dir: Path, host, tmp_path: Path,
                                                        name: str) -> None:
    """CometAPI (and fal, to be safe) take at most 60 s; the gateway refuses more, and the spec says so."""
    long = await prepare_media(media_dir / "portrait.jpg", make_tone(tmp_path / "l.mp3", 75.0), tmp_path / "j",
                               max_seconds=70)
    provider = provider_for(name)
    with pytest.raises(RequestRejected, match="outside 2-60s"):
        await provider.create(await published(AvatarRequest(image=long.image.path, audio=long.audio.path), host))
    assert providers.spec(name).max_audio_s == 60.0


async def test_crun_without_published_media_names_what_to_set(gateways, prepared) -> None:
    with pytest.raises(ConfigError, match="AVATAR_PUBLIC_URL"):
        await provider_for("crun").create(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path))


async def test_fal_takes_data_uris_when_nothing_is_published(gateways, prepared, tmp_path: Path) -> None:
    """Without a media host, fal gets the media inline as data URIs (its docs allow them)."""
    events, _ = await run_to_end(provider_for("fal"), AvatarRequest(image=prepared.image.path, audio=prepared.audio.path),
                                 data_dir=tmp_path)
    assert isinstance(events[-1], Succeeded)


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="MODELLIX_API_KEY"):
        providers.make_provider(load_settings({}).provider("modellix"))


@pytest.mark.parametrize(("name", "words"), [("kling", ["submitted", "processing", "succeed"]), ("crun", ["success"]),
                                             ("fal", ["OK"])])
async def test_callbacks_follow_status_changes(gateways, prepared, host, name: str, words: list[str]) -> None:
    """The simulator posts the gateway's own payload to the callback URL as the status changes."""
    provider = provider_for(name)
    request = await published(AvatarRequest(image=prepared.image.path, audio=prepared.audio.path,
                                            callback_url=f"{gateways.url}/sim/faults"), host)
    created = await provider.create(request)
    sent: list[dict] = []
    for _ in range(60):
        sent = [body for task_id, body in gateways.state.callbacks_sent if task_id == created.task_id]
        if sent and (sent[-1].get("task_status") or sent[-1].get("status")) in ("succeed", "success", "OK"):
            break
        await asyncio.sleep(0.1)
    assert [b.get("task_status") or b.get("status") for b in sent] == words
    assert all(provider.callback_status(b) is not None for b in sent)
    await provider.aclose()
