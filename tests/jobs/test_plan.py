"""The one pre-job flow: window clamping, clip or audio id, validation, namespacing, and input lifetime."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_demo import providers
from avatar_demo.core.errors import InputError
from avatar_demo.jobs.inputs import Inputs
from avatar_demo.jobs.plan import JobInput, VoiceLimit, plan_job, voice_window
from tests.helpers import make_tone

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("length", "expected"), [(None, 60.0), (0, 60.0), (-3, 60.0), (1.0, 2.0), (30, 30.0),
                                                  (500, 60.0), (float("nan"), 60.0)])
def test_the_window_is_clamped_between_two_seconds_and_the_limit(length, expected: float) -> None:
    assert VoiceLimit(60.0).clamp(length) == expected


@pytest.mark.parametrize(("name", "allowance", "expected"), [
    ("kling", None, 60.0),            # the app's cap under Kling's 300 s
    ("cometapi", None, 60.0),         # its own 60 s
    ("kling", (15.0, "free"), 15.0),  # the allowance's cap
    ("local", (90.0, "free"), 60.0),  # an allowance above the cap changes nothing
])
def test_the_limit_is_the_smallest_of_provider_app_and_allowance(name: str, allowance, expected: float) -> None:
    limit = VoiceLimit.of(providers.spec(name), 60.0, allowance)
    assert limit.seconds == expected and (limit.reason is not None) == (expected == 15.0)


@pytest.mark.parametrize(("name", "expected"), [
    ("kling", 120.0),     # Kling takes 300 s: the app's cap decides
    ("modellix", 120.0),
    ("cometapi", 60.0),   # the gateway's own 60 s holds under a higher app cap
    ("fal", 60.0),
])
def test_a_higher_app_cap_never_lifts_a_gateways_own_limit(name: str, expected: float) -> None:
    assert VoiceLimit.of(providers.spec(name), 120.0).seconds == expected


def test_the_window_is_read_from_the_header(tmp_path: Path) -> None:
    span = voice_window(make_tone(tmp_path / "v.mp3", 10.0), 8.0, 30, VoiceLimit(60.0))
    assert (span.start, span.end, span.used, span.padded) == (8.0, pytest.approx(10.0, abs=0.05),
                                                            pytest.approx(2.0, abs=0.05), False)


@pytest.fixture
def inputs(tmp_path: Path) -> Inputs:
    return Inputs(tmp_path / "jobs", slots=2)


async def test_a_clip_is_prepared_and_the_allowance_cap_is_explained(media_dir: Path, tmp_path: Path, inputs) -> None:
    long = make_tone(tmp_path / "long.wav", 20.0)
    plan = await plan_job(providers.spec("kling"), JobInput(image=media_dir / "portrait.jpg", audio=long),
                          inputs=inputs, limit=VoiceLimit(15.0, "free runs here are limited to 15 s"))
    assert plan.seconds == pytest.approx(15.0, abs=0.05)
    assert any("free runs here are limited to 15 s" in c for c in plan.changes)
    assert plan.estimate is not None and plan.estimate.amount == pytest.approx(6.0, abs=0.05)
    assert plan.request.audio and plan.request.audio.is_file()


async def test_an_audio_id_is_used_only_where_text_to_speech_exists(media_dir: Path, inputs) -> None:
    with_tts = await plan_job(providers.spec("kling"), JobInput(image=media_dir / "portrait.jpg", audio_id="a-1"),
                              inputs=inputs, limit=VoiceLimit(60))
    assert with_tts.request.audio_id == "a-1" and with_tts.request.audio is None and with_tts.seconds is None
    with pytest.raises(InputError, match="Add a voice clip"):
        await plan_job(providers.spec("modellix"), JobInput(image=media_dir / "portrait.jpg", audio_id="a-1"),
                       inputs=inputs, limit=VoiceLimit(60))


@pytest.mark.parametrize(("job", "message"), [
    (JobInput(image=None, audio="x"), "Add a portrait photo"),
    (JobInput(image="p.jpg", audio=None), "Add a voice clip"),
    (JobInput(image="p.jpg", audio="x", mode="ultra"), "mode must be std"),
    (JobInput(image="p.jpg", audio="x", callback_url="file:///etc/passwd"), "http:// or https://"),
    (JobInput(image="p.jpg", audio="x", callback_url="javascript:alert(1)"), "http:// or https://"),
    (JobInput(image="p.jpg", audio="x", external_task_id="../../etc"), "external task id"),
    (JobInput(image="p.jpg", audio="x", start=-1), "start offset"),
])
async def test_bad_inputs_are_refused_before_anything_is_prepared(job: JobInput, message: str, inputs) -> None:
    with pytest.raises(InputError, match=message):
        await plan_job(providers.spec("kling"), job, inputs=inputs, limit=VoiceLimit(60))
    assert not inputs.folder.exists() or not any(inputs.folder.iterdir())


async def test_a_chosen_external_id_is_namespaced(media_dir: Path, inputs) -> None:
    job = JobInput(image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3", external_task_id="my-job-1")
    plan = await plan_job(providers.spec("kling"), job, inputs=inputs, limit=VoiceLimit(60), external_prefix="vabc")
    assert plan.request.external_task_id == "vabc-my-job-1"


async def test_inputs_are_shared_while_needed_and_deleted_after(media_dir: Path, inputs) -> None:
    """Two jobs with the same photo and clip share one preparation; the files go when the last one lets go."""
    job = JobInput(image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3")
    first = await plan_job(providers.spec("kling"), job, inputs=inputs, limit=VoiceLimit(60))
    second = await plan_job(providers.spec("kling"), job, inputs=inputs, limit=VoiceLimit(60))
    variant = first.variant("another prompt", "pro")
    assert first.lease is second.lease is variant.lease and variant.request.mode == "pro"
    assert variant.estimate.amount == pytest.approx(2 * first.estimate.amount)
    folder = first.lease.folder
    for plan in (first, second):
        plan.lease.release()
    assert folder.exists() and inputs.busy() == [folder]
    variant.lease.release()
    assert not folder.exists() and inputs.busy() == []
