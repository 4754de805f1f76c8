"""The offline preview provider: a finished render says which prompt words it followed, or that the photo had no face."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.core.text import render
from avatar_demo.media import prepare_image
from avatar_demo.providers import AvatarRequest, ProviderConfig, ProviderOptions, make_provider
from avatar_demo.providers.local import NO_FACE_NOTE, SPEC
from tests.helpers import facts, make_image, make_speech_bursts, real_portrait

pytestmark = pytest.mark.anyio

UPSCALED = "upscaled from the photo's {size} to {out}"


async def _finished(tmp_path: Path, photo, prompt: str = "", mode: str = "std", language: str = "en"):  # type: ignore[no-untyped-def]
    image = prepare_image(photo(tmp_path), tmp_path / "prep")
    voice = make_speech_bursts(tmp_path / "voice.wav", 2.0, silent=None)
    provider = make_provider(ProviderConfig(SPEC, ""), ProviderOptions(work_dir=tmp_path / "previews"))
    state = await provider.create(AvatarRequest(image=image.path, audio=voice, audio_duration_s=2.0, prompt=prompt,
                                                mode=mode, language=language))  # type: ignore[arg-type]
    while state.status is Status.RUNNING:
        await asyncio.sleep(0.05)
        state = await provider.get(state.task_id)
    assert state.status is Status.DONE
    assert state.video_url is not None and Path(state.video_url.removeprefix("file://")).is_file()
    return state


@pytest.mark.parametrize(
    ("photo", "prompt", "message"),
    [
        (real_portrait, "", "preview: no motion words understood, gentle sway · " + UPSCALED),
        (real_portrait, "A slow nod, then zoom in", "preview: nod, zoom in · " + UPSCALED),
        (lambda tmp: make_image(tmp / "drawn.jpg", (400, 400)), "nod", f"{NO_FACE_NOTE} · " + UPSCALED),
    ],
    ids=["portrait", "portrait with words", "no face"],
)
async def test_a_finished_preview_says_what_it_followed(tmp_path: Path, photo, prompt: str, message: str) -> None:  # type: ignore[no-untyped-def]
    """The words understood (or that there was no face), and that a small photo was enlarged."""
    state = await _finished(tmp_path, photo, prompt)
    video = facts(Path(state.video_url.removeprefix("file://")))
    size = "512×512" if photo is real_portrait else "400×400"
    assert state.message == message.format(size=size, out=f"{video.width}×{video.height}")


async def test_the_mode_sets_the_size_and_the_message_speaks_the_pages_language(tmp_path: Path) -> None:
    """pro renders 1080p; the message is catalog text, shown in Chinese on a Chinese page."""
    state = await _finished(tmp_path, real_portrait, "点头，镜头推近", mode="pro", language="zh")
    video = facts(Path(state.video_url.removeprefix("file://")))
    assert (video.width, video.height) == (1080, 1080)
    assert render(state.message, "zh") == "预览：点头、推近 · 由照片的 512×512 放大到 1080×1080"
