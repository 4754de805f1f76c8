"""The offline preview provider: a finished render says when the photo had no face to animate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.media import prepare_image
from avatar_demo.providers import AvatarRequest, ProviderConfig, ProviderOptions, make_provider
from avatar_demo.providers.local import NO_FACE_NOTE, SPEC
from tests.helpers import make_image, make_speech_bursts, real_portrait

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("photo", "message"),
    [(real_portrait, None), (lambda tmp: make_image(tmp / "drawn.jpg", (400, 400)), NO_FACE_NOTE)],
    ids=["portrait", "no face"],
)
async def test_a_finished_preview_notes_a_missing_face(tmp_path: Path, photo, message: str | None) -> None:  # type: ignore[no-untyped-def]
    """The astronaut's preview finishes with no note; the drawn image's says the whole photo moved instead."""
    image = prepare_image(photo(tmp_path), tmp_path / "prep")
    voice = make_speech_bursts(tmp_path / "voice.wav", 2.0, silent=None)
    provider = make_provider(ProviderConfig(SPEC, ""), ProviderOptions(work_dir=tmp_path / "previews"))
    state = await provider.create(AvatarRequest(image=image.path, audio=voice, audio_duration_s=2.0))
    while state.status is Status.RUNNING:
        await asyncio.sleep(0.05)
        state = await provider.get(state.task_id)
    assert state.status is Status.DONE
    assert state.message == message
    assert state.video_url is not None and Path(state.video_url.removeprefix("file://")).is_file()
