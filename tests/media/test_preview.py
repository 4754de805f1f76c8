"""The offline preview: a real H.264/AAC MP4, as long as the voice, moving with its loudness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avatar_demo.media import prepare_audio, prepare_image
from avatar_demo.media.ffmpeg import run_ffmpeg
from avatar_demo.media.preview import render_preview
from tests.helpers import facts, make_image, make_tone


def _frame(video: Path, at: float, out: Path) -> np.ndarray:
    run_ffmpeg(["-y", "-v", "error", "-ss", f"{at}", "-i", str(video), "-frames:v", "1", str(out)])
    with Image.open(out) as img:
        return np.asarray(img.convert("L"), dtype=np.float32)


def test_preview_is_h264_aac_with_the_audio_duration_and_moves(tmp_path: Path) -> None:
    """Codecs, duration ±0.1 s, even frame size, and frames that differ as the voice rises and falls."""
    image = prepare_image(make_image(tmp_path / "p.jpg", (600, 800)), tmp_path / "prep")
    audio = prepare_audio(make_tone(tmp_path / "v.wav", 5.3), tmp_path / "prep")
    out = render_preview(image.path, audio.path, tmp_path / "preview.mp4", duration_s=audio.duration_s)
    got = facts(out)
    assert got.video_codec == "h264"
    assert got.audio_codec == "aac"
    assert got.duration_s == pytest.approx(audio.duration_s, abs=0.1)
    assert got.width % 2 == 0 and got.height % 2 == 0
    frames = [_frame(out, t, tmp_path / f"f{i}.png") for i, t in enumerate(np.arange(0.2, 5.0, 0.15))]
    differences = [float(np.abs(a - b).mean()) for a, b in zip(frames, frames[1:])]
    assert max(differences) > 2.0, "the portrait should visibly move with the voice"


def test_preview_is_marked_as_offline(tmp_path: Path) -> None:
    """The container title says it is an offline preview, not a Kling render."""
    image = prepare_image(make_image(tmp_path / "p.jpg", (400, 400)), tmp_path / "prep")
    audio = prepare_audio(make_tone(tmp_path / "v.wav", 2.0), tmp_path / "prep")
    out = render_preview(image.path, audio.path, tmp_path / "preview.mp4", duration_s=audio.duration_s)
    text = run_ffmpeg(["-i", str(out)]).stderr.decode()
    assert "OFFLINE PREVIEW" in text
