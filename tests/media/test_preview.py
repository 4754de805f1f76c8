"""The offline preview: a real H.264/AAC MP4, as long as the voice; on a real portrait only the face moves,
the jaw with the voice's loudness, the eyes in blinks; without a face the whole photo moves, and it says so."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avatar_demo.core.errors import InputError
from avatar_demo.media import prepare_audio, prepare_image
from avatar_demo.media.face import Box, Face
from avatar_demo.media.ffmpeg import run_ffmpeg
from avatar_demo.media.banner import band_height, cjk_font
from avatar_demo.media.preview import FPS, Preview, render_preview
from avatar_demo.media.preview_motion import blinks
from tests.helpers import facts, make_image, make_speech_bursts, make_tone, real_portrait

#: The speech-burst voice: 2 s of syllables, 1 s of digital silence, 2 s more.
VOICE_S, SILENT = 5.0, (2.0, 3.0)


def _frame(video: Path, at: float, out: Path) -> np.ndarray:
    run_ffmpeg(["-y", "-v", "error", "-ss", f"{at}", "-i", str(video), "-frames:v", "1", str(out)])
    with Image.open(out) as img:
        return np.asarray(img.convert("L"), dtype=np.float32)


def test_preview_is_h264_aac_with_the_audio_duration_and_moves(tmp_path: Path) -> None:
    """Codecs, duration ±0.1 s, even frame size, and frames that differ as the voice rises and falls."""
    image = prepare_image(make_image(tmp_path / "p.jpg", (600, 800)), tmp_path / "prep")
    audio = prepare_audio(make_tone(tmp_path / "v.wav", 5.3), tmp_path / "prep")
    out = render_preview(image.path, audio.path, tmp_path / "preview.mp4", duration_s=audio.duration_s).path
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
    out = render_preview(image.path, audio.path, tmp_path / "preview.mp4", duration_s=audio.duration_s).path
    text = run_ffmpeg(["-i", str(out)]).stderr.decode()
    assert "OFFLINE PREVIEW" in text


def _grey_frames(video: Path) -> np.ndarray:
    """Every frame of *video* as 8-bit grey, decoded by ffmpeg straight into memory."""
    got = facts(video)
    proc = run_ffmpeg(["-v", "error", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"])
    assert proc.returncode == 0, proc.stderr.decode()
    return np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, got.height, got.width)


def _crop(frames: np.ndarray, box: Box) -> np.ndarray:
    return frames[:, box.y : box.y + box.h, box.x : box.x + box.w].astype(np.float32)


def _voice_rms(wav: Path, frames: int) -> np.ndarray:
    """The RMS of the voice's samples shown with each frame (frame i: [i/FPS, (i+1)/FPS)), read from the WAV itself."""
    with wave.open(str(wav), "rb") as voice:
        rate = voice.getframerate()
        samples = np.frombuffer(voice.readframes(voice.getnframes()), dtype="<i2").astype(np.float64) / 32768
    per_frame = rate // FPS
    samples = np.pad(samples, (0, max(0, frames * per_frame - samples.size)))[: frames * per_frame]
    return np.sqrt((samples.reshape(frames, per_frame) ** 2).mean(axis=1))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class Talking:
    """The astronaut rendered with the speech-burst voice, measured in the video's own pixels."""

    preview: Preview
    face: Face
    #: The lips and the lower lip's way down (the mouth box and as much again below it).
    mouth: np.ndarray
    #: A box of the photo well away from the face (the space-shuttle model on the right).
    background: np.ndarray
    eyes: np.ndarray
    rms: np.ndarray

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.mouth.shape[0]) / FPS

    @property
    def silent(self) -> np.ndarray:
        """Frames well inside the silent second (the jaw has had time to close)."""
        return (self.times >= SILENT[0] + 0.2) & (self.times < SILENT[1] - 0.1)


def _motion(crops: np.ndarray) -> np.ndarray:
    """Mean absolute change from each frame to the next (one value fewer than frames)."""
    return np.abs(np.diff(crops, axis=0)).mean(axis=(1, 2))


@pytest.fixture(scope="module")
def talking(tmp_path_factory: pytest.TempPathFactory) -> Talking:
    work = tmp_path_factory.mktemp("talking")
    image = prepare_image(real_portrait(work), work / "prep")
    wav = make_speech_bursts(work / "voice.wav", VOICE_S, silent=SILENT)
    audio = prepare_audio(wav, work / "prep")
    # "still": no head motion, so what moves in the mouth and eye boxes is the lips and the lids alone.
    preview = render_preview(image.path, audio.path, work / "preview.mp4", duration_s=audio.duration_s,
                             prompt="still")
    assert preview.face is not None
    frames = _grey_frames(preview.path)
    n, height, width = frames.shape
    face = preview.face.scaled((width, height))
    m = face.mouth.box
    background = Box(round(width * 0.75), round(height * 0.5), round(width * 0.2), round(height * 0.2))
    assert background.x > face.box.x + 1.5 * face.box.w, "the background box must be clear of the face"
    left, right = (e.box for e in face.eyes)
    eyes = Box(left.x, min(left.y, right.y), right.x + right.w - left.x, max(left.h, right.h))
    return Talking(preview, face, _crop(frames, Box(m.x, m.y, m.w, 2 * m.h)), _crop(frames, background),
                   _crop(frames, eyes), _voice_rms(wav, n))


def test_the_mouth_moves_far_more_than_the_background(talking: Talking) -> None:
    """Frame-to-frame change in the mouth box is visible and at least 3× that of a box away from the face."""
    mouth, background = _motion(talking.mouth).mean(), _motion(talking.background).mean()
    assert mouth > 1.0, f"the mouth barely moves ({mouth:.3f} grey levels a frame)"
    assert mouth >= 3 * background, (mouth, background)


def test_the_background_stays_still(talking: Talking) -> None:
    """Away from the face no frame differs from the first by more than codec noise."""
    drift = np.abs(talking.background - talking.background[0]).mean(axis=(1, 2))
    assert drift.max() < 0.5, drift.max()


def test_the_jaw_opens_with_the_voice_loudness(talking: Talking) -> None:
    """How far the mouth is from its closed look follows the voice's RMS frame by frame, best with no lag.

    The jaw's position follows the loudness, so the mouth's difference from a closed frame (one in the
    silent second) is compared with the RMS of the audio shown with each frame.
    """
    closed = np.median(talking.mouth[talking.silent], axis=0)
    opened = np.abs(talking.mouth - closed).mean(axis=(1, 2))
    assert _pearson(opened, talking.rms) >= 0.7
    by_lag = {lag: _pearson(np.roll(opened, -lag)[3:-3], talking.rms[3:-3]) for lag in range(-3, 4)}
    assert max(by_lag, key=by_lag.__getitem__) in (-1, 0, 1), by_lag


def test_the_mouth_moves_when_the_loudness_changes(talking: Talking) -> None:
    """Motion (frame-to-frame change) follows the change in loudness, since the jaw follows the loudness."""
    assert _pearson(_motion(talking.mouth), np.abs(np.diff(talking.rms))) >= 0.6


def test_the_mouth_rests_in_the_silent_second(talking: Talking) -> None:
    """In the silent second the mouth box changes under a tenth as much as while the voice speaks."""
    motion = _motion(talking.mouth)
    times = talking.times[1:]
    silent = talking.silent[1:]
    speaking = (times < SILENT[0]) | (times >= SILENT[1] + 0.1)
    assert motion[silent].mean() <= 0.1 * motion[speaking].mean(), (motion[silent].mean(), motion[speaking].mean())


def test_the_eyes_blink(talking: Talking) -> None:
    """As the blink schedule closes and opens the lids, the eyes change far more than while the head only sways."""
    closure = blinks(talking.eyes.shape[0], FPS)
    assert closure.max() == 1.0, "a 5 s clip should hold a blink"
    motion = _motion(talking.eyes)
    blinking = np.diff(closure) != 0
    assert motion[blinking].mean() >= 4 * motion[~blinking].mean(), (motion[blinking], motion[~blinking])


def test_a_photo_without_a_face_moves_as_a_whole_and_says_so(tmp_path: Path) -> None:
    """The drawn test image has no face: face is None, and the whole-photo animation (zoom and meter) plays."""
    image = prepare_image(make_image(tmp_path / "p.jpg", (400, 400)), tmp_path / "prep")
    wav = make_speech_bursts(tmp_path / "v.wav", 3.0, silent=(1.0, 2.0))
    preview = render_preview(image.path, wav, tmp_path / "preview.mp4", duration_s=3.0)
    assert (preview.path, preview.face) == (tmp_path / "preview.mp4", None)
    assert preview.message == ("no face found: the preview moves the whole photo instead · "
                               "upscaled from the photo's 400×400 to 720×720")
    frames = _grey_frames(preview.path)
    # The level meter along the bottom (the fallback's own) rises and falls with the voice.
    height, width = frames.shape[1:]
    band = max(16, height // 14)
    meter = _crop(frames, Box(band, height - band, width - 2 * band, band // 2))
    assert _motion(meter).max() > 5.0


@pytest.mark.parametrize("reads", ["cat > /dev/null", "head -c 1000 > /dev/null", ":"],
                         ids=["reads every frame", "stops after a few bytes", "reads nothing"])
def test_a_failing_encoder_is_our_error_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           reads: str) -> None:
    """When ffmpeg cannot encode, InputError carries its last message line and no partial file is left,
    whether it fails after reading every frame or stops reading early (the pipe breaks under the writer)."""
    fake = tmp_path / "ffmpeg"
    fake.write_text(f"#!/bin/sh\n{reads}\necho 'Unknown encoder libx264' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr("avatar_demo.media.preview.ffmpeg_exe", lambda: str(fake))
    image = prepare_image(make_image(tmp_path / "p.jpg", (400, 400)), tmp_path / "prep")
    audio = prepare_audio(make_tone(tmp_path / "v.wav", 2.0), tmp_path / "prep")
    out_dir = tmp_path / "out"
    with pytest.raises(InputError, match="could not be rendered: Unknown encoder libx264"):
        render_preview(image.path, audio.path, out_dir / "preview.mp4", duration_s=audio.duration_s)
    assert list(out_dir.iterdir()) == []


def test_an_unreadable_voice_is_our_error(tmp_path: Path) -> None:
    """A voice file ffmpeg cannot read: InputError naming it."""
    image = prepare_image(make_image(tmp_path / "p.jpg", (400, 400)), tmp_path / "prep")
    voice = tmp_path / "voice.mp3"
    voice.write_bytes(b"not audio at all")
    with pytest.raises(InputError, match="voice.mp3"):
        render_preview(image.path, voice, tmp_path / "preview.mp4", duration_s=2.0)


def _video_frames(video: Path) -> bytes:
    """Every decoded frame's pixels: the picture, whatever the container's bytes."""
    proc = run_ffmpeg(["-v", "error", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("prompts")
    image = prepare_image(real_portrait(work), work / "prep").path
    voice = prepare_audio(make_speech_bursts(work / "voice.wav", 3.0, silent=None), work / "prep").path
    return image, voice


def test_the_prompt_moves_the_head_and_the_same_prompt_gives_the_same_video(inputs: tuple[Path, Path],
                                                                              tmp_path: Path) -> None:
    """Three prompts give three different videos, each saying which words it followed; the same prompt again gives
    the same frames."""
    image, voice = inputs
    prompts = {"A slow nod": ("nod",), "She shakes her head": ("shake",), "Zoom in, smiling": ("smile", "zoom_in")}
    videos = {}
    for i, (prompt, words) in enumerate(prompts.items()):
        preview = render_preview(image, voice, tmp_path / f"{i}.mp4", duration_s=3.0, prompt=prompt)
        assert preview.words == words
        videos[prompt] = _video_frames(preview.path)
    assert len(set(videos.values())) == 3
    again = render_preview(image, voice, tmp_path / "again.mp4", duration_s=3.0, prompt="A slow nod")
    assert _video_frames(again.path) == videos["A slow nod"]


def test_prompts_without_motion_words_still_differ_gently(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """Two prompts the preview has no words for sway differently, so a lab of them does not look stuck."""
    image, voice = inputs
    a = render_preview(image, voice, tmp_path / "a.mp4", duration_s=3.0, prompt="Looks surprised")
    b = render_preview(image, voice, tmp_path / "b.mp4", duration_s=3.0, prompt="Speaks warmly")
    assert a.words == b.words == ()
    assert a.message == "preview: no motion words understood, gentle sway · upscaled from the photo's 512×512 to 720×720"
    assert _video_frames(a.path) != _video_frames(b.path)


@pytest.mark.parametrize(("mode", "side"), [("std", 720), ("pro", 1080)])
def test_std_renders_720p_and_pro_1080p(inputs: tuple[Path, Path], tmp_path: Path, mode: str, side: int) -> None:
    """The short side is 720 or 1080 px; the 512 px photo's upscaling is said in the message."""
    image, voice = inputs
    preview = render_preview(image, voice, tmp_path / "out.mp4", duration_s=3.0, prompt="nod", mode=mode)
    got = facts(preview.path)
    assert min(got.width, got.height) == side
    assert preview.message == f"preview: nod · upscaled from the photo's 512×512 to {side}×{side}"


def test_the_banner_is_in_the_pages_language(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """A Chinese page's run burns Chinese words into the band, drawn with a font that has them (not as boxes)."""
    if cjk_font() is None:
        pytest.skip("no font with Chinese glyphs on this machine (scripts/test installs fonts-wqy-zenhei)")
    image, voice = inputs
    bands = {}
    for language in ("en", "zh"):
        preview = render_preview(image, voice, tmp_path / f"{language}.mp4", duration_s=2.0, language=language)
        frame = _frame(preview.path, 0.0, tmp_path / f"{language}.png")
        bands[language] = frame[: band_height(frame.shape[0])]
    # White letters on the dark band, in different places for different words.
    letters = {language: band > 200 for language, band in bands.items()}
    assert letters["en"].mean() > 0.01 and letters["zh"].mean() > 0.01
    assert (letters["en"] != letters["zh"]).mean() > 0.02
    # Drawn without the font, the Chinese words would be a row of identical boxes: the start of the line would
    # repeat itself one character further on. Chinese glyphs do not.
    zh = letters["zh"]
    x0 = int(np.flatnonzero(zh.any(axis=0))[0])
    size = frame.shape[0] // 24
    overlaps = []
    for step in range(size // 2, 2 * size):
        a, b = zh[:, x0 : x0 + 2 * step], zh[:, x0 + step : x0 + 3 * step]
        overlaps.append((a & b).sum() / max(1, (a | b).sum()))
    assert max(overlaps) < 0.6, max(overlaps)
