"""The preview's face warp on real portraits: the photo's own lips part where they are, nothing new is painted,
the mouth at rest is the photo's, both upper lids close together and a glasses frame stays put.

Each portrait is rendered once with the speech-burst voice and the prompt "still" (no head motion, so what moves is
the mouth and the lids alone); a strip of frames per portrait (mouth closed, half open, open; a blink) is written to
test-output/ for a person to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avatar_demo.media import prepare_audio, prepare_image
from avatar_demo.media.ffmpeg import run_ffmpeg
from avatar_demo.media.opencv import cv2
from avatar_demo.media.preview import FPS, _voice_rms, render_preview
from avatar_demo.media.preview_motion import blinks, mouth_openness
from tests.helpers import facts, make_speech_bursts
from tests.portraits import PORTRAITS, Portrait, group_photo

ROOT = Path(__file__).resolve().parents[2]
VOICE_S, SILENT = 5.0, (2.0, 3.0)
Point = tuple[float, float]


def _frames(video: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """The chosen frames of *video* as RGB arrays, decoded by ffmpeg."""
    got = facts(video)
    select = "+".join(f"eq(n\\,{i})" for i in sorted(set(indices)))
    proc = run_ffmpeg(["-v", "error", "-i", str(video), "-vf", f"select='{select}'", "-fps_mode", "passthrough",
                       "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
    assert proc.returncode == 0, proc.stderr.decode()
    decoded = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, got.height, got.width, 3)
    return dict(zip(sorted(set(indices)), decoded, strict=True))


@dataclass(frozen=True)
class Spoken:
    """One portrait rendered speaking, the frames that matter, and its hand-marked points in the video's pixels."""

    portrait: Portrait
    photo: np.ndarray  # the prepared photo resized to the video's size
    rest: np.ndarray
    half: np.ndarray
    speaking: list[np.ndarray]
    before_blink: np.ndarray
    blink: list[np.ndarray]
    lips: Point
    eyes: tuple[Point, Point]
    rims: tuple[Point, ...]
    face_width: float


def _render(portrait: Portrait, work: Path, voice: Path, prompt: str = "still") -> tuple[Path, Path]:
    image = prepare_image(portrait.file, work / portrait.name)
    out = render_preview(image.path, voice, work / f"{portrait.name}.mp4", duration_s=VOICE_S, prompt=prompt)
    assert out.face is not None, f"no face found on {portrait.name}"
    return image.path, out.path


def _spoken(portrait: Portrait, work: Path, voice: Path, lips: Point | None = None) -> Spoken:
    image, video = _render(portrait, work, voice)
    got = facts(video)
    n = round(VOICE_S * FPS)
    openness, closure = mouth_openness(_voice_rms(voice, n)), blinks(n, FPS)
    times = np.arange(n) / FPS
    silent = np.flatnonzero((times > SILENT[0] + 0.3) & (times < SILENT[1] - 0.1) & (closure == 0))
    open_eyes = closure == 0
    speaking = [int(i) for i in np.argsort(-openness * open_eyes)[:6]]
    half = int(np.argmin(np.abs(openness - 0.5) + 9 * ~open_eyes))
    closed = np.flatnonzero(closure == 1.0)
    first = int(np.flatnonzero(closure > 0)[0])
    frames = _frames(video, [int(silent[len(silent) // 2]), half, *speaking, first - 1, *closed])
    with Image.open(image) as img:
        photo = np.asarray(img.convert("RGB").resize((got.width, got.height), Image.Resampling.LANCZOS))
    with Image.open(portrait.file) as original:
        k = got.width / original.width

    def scale(p: Point) -> Point:
        return p[0] * k, p[1] * k

    return Spoken(portrait, photo, frames[int(silent[len(silent) // 2])], frames[half], [frames[i] for i in speaking],
                  frames[first - 1], [frames[int(i)] for i in closed], scale(lips or portrait.lips),
                  (scale(portrait.eyes[0]), scale(portrait.eyes[1])), tuple(scale(p) for p in portrait.rims),
                  portrait.face_width * k)


def _strip(spoken: Spoken, name: str) -> None:
    """Mouth closed, half open, open, and a blink, side by side around the face, into test-output/."""
    x, y, fw = spoken.lips[0], spoken.lips[1], spoken.face_width
    box = (max(0, round(x - 0.8 * fw)), max(0, round(y - 1.0 * fw)), round(x + 0.8 * fw), round(y + 0.45 * fw))
    tiles = [Image.fromarray(f).crop(box) for f in (spoken.rest, spoken.half, spoken.speaking[0], spoken.blink[0])]
    strip = Image.new("RGB", (sum(t.width for t in tiles), tiles[0].height))
    for i, tile in enumerate(tiles):
        strip.paste(tile, (i * tiles[0].width, 0))
    folder = ROOT / "test-output"
    folder.mkdir(exist_ok=True)
    strip.save(folder / f"preview-{name}.png")


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("voice")
    return prepare_audio(make_speech_bursts(work / "voice.wav", VOICE_S, silent=SILENT), work / "prep").path


@pytest.fixture(scope="module", params=PORTRAITS, ids=[p.name for p in PORTRAITS])
def spoken(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, voice: Path) -> Spoken:
    made = _spoken(request.param, tmp_path_factory.mktemp(request.param.name), voice)
    _strip(made, request.param.name)
    return made


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32).mean(axis=2)


def _box(centre: Point, half_w: float, up: float, down: float, shape: tuple[int, ...]) -> tuple[slice, slice]:
    x, y = centre
    return (slice(max(0, round(y - up)), min(shape[0], round(y + down))),
            slice(max(0, round(x - half_w)), min(shape[1], round(x + half_w))))


def _motion_centroid(spoken: Spoken) -> Point:
    """Where the speaking frames differ from the resting one, weighted by how much, within the face."""
    fw = spoken.face_width
    area = _box(spoken.lips, 1.0 * fw, 1.2 * fw, 0.8 * fw, spoken.rest.shape)
    change = np.mean([np.abs(_grey(f) - _grey(spoken.rest))[area] for f in spoken.speaking], axis=0)
    change[change < 8] = 0  # codec noise
    ys, xs = np.mgrid[area[0], area[1]]
    total = change.sum()
    assert total > 0, "nothing moved while the voice spoke"
    return float((xs * change).sum() / total), float((ys * change).sum() / total)


def test_the_speaking_motion_is_centred_on_the_lips(spoken: Spoken) -> None:
    """The change while speaking is centred within 0.05 face widths of the lips marked by hand."""
    cx, cy = _motion_centroid(spoken)
    off = float(np.hypot(cx - spoken.lips[0], cy - spoken.lips[1])) / spoken.face_width
    assert off <= 0.05, f"motion centred at ({cx:.0f}, {cy:.0f}), lips at {spoken.lips}: {off:.3f} face widths off"


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _mouth_box(spoken: Spoken) -> tuple[slice, slice]:
    fw = spoken.face_width
    return _box(spoken.lips, 0.3 * fw, 0.12 * fw, 0.2 * fw, spoken.rest.shape)


def test_the_mouth_at_rest_is_the_photos(spoken: Spoken) -> None:
    """In the silent second the mouth box matches the photo's (normalised cross-correlation ≥ 0.95), while speaking it does not."""
    box = _mouth_box(spoken)
    photo = _grey(spoken.photo)[box]
    assert _ncc(_grey(spoken.rest)[box], photo) >= 0.95
    assert _ncc(_grey(spoken.speaking[0])[box], photo) < 0.9, "the open mouth should differ from the photo"


def _hues(rgb: np.ndarray) -> np.ndarray:
    """Hue bins (of 32) of the pixels colourful and bright enough for hue to mean anything."""
    hsv = cv2().cvtColor(np.ascontiguousarray(rgb), cv2().COLOR_RGB2HSV_FULL).reshape(-1, 3)
    keep = (hsv[:, 1] >= 40) & (hsv[:, 2] >= 40)
    return hsv[keep, 0].astype(int) * 32 // 256


def test_no_new_hue_appears_in_the_mouth_while_speaking(spoken: Spoken) -> None:
    """Every hue in the mouth box while speaking is one of the photo's lips and lower face (darker is allowed)."""
    fw = spoken.face_width
    lower_face = _box(spoken.lips, 0.4 * fw, 0.3 * fw, 0.35 * fw, spoken.photo.shape)
    counts = np.bincount(_hues(spoken.photo[lower_face]), minlength=32)
    known = counts >= 0.002 * counts.sum()
    known = known | np.roll(known, 1) | np.roll(known, -1)  # a bin's neighbours: compression shifts hues a little
    box = _mouth_box(spoken)
    for frame in spoken.speaking:
        hues = _hues(frame[box])
        new = ~known[hues]
        assert new.mean() <= 0.005, f"{new.mean():.1%} of the mouth's pixels have hues the photo's face has not"


def _eye_change(spoken: Spoken, frame: np.ndarray) -> list[float]:
    fw = spoken.face_width
    return [float(np.abs(_grey(frame) - _grey(spoken.before_blink))[_box(eye, 0.1 * fw, 0.06 * fw, 0.05 * fw,
                                                                           frame.shape)].mean())
            for eye in spoken.eyes]


def test_both_eyes_close_together_in_a_blink(spoken: Spoken) -> None:
    """At the blink's closed frames both eye boxes change clearly, and by comparable amounts."""
    changes = np.array([_eye_change(spoken, frame) for frame in spoken.blink])
    left, right = changes.mean(axis=0)
    assert min(left, right) >= 6.0, f"an eye barely changed in the blink: {left:.1f} vs {right:.1f}"
    assert min(left, right) >= 0.35 * max(left, right), f"one eye closed far more: {left:.1f} vs {right:.1f}"


def test_a_glasses_frame_stays_put_in_a_blink(spoken: Spoken) -> None:
    """On the rims above the eyes nothing moves while the lids close (Grace Hopper's glasses)."""
    if not spoken.rims:
        pytest.skip("no glasses on this portrait")
    for frame in spoken.blink:
        for rim in spoken.rims:
            box = _box(rim, 4, 2, 2, frame.shape)
            drift = float(np.abs(_grey(frame)[box] - _grey(spoken.before_blink)[box]).mean())
            assert drift < 6.0, f"the rim at {rim} moved in the blink ({drift:.1f} grey levels)"


def test_on_a_group_photo_the_largest_face_talks(tmp_path: Path, voice: Path) -> None:
    """Three portraits side by side: the largest face's lips move, and the preview says how many faces it found."""
    path, largest, lips = group_photo(tmp_path / "group.jpg")
    group = Portrait("group", path, lips, ((0, 0), (1, 0)), 0)
    image = prepare_image(path, tmp_path / "prep")
    preview = render_preview(image.path, voice, tmp_path / "group.mp4", duration_s=VOICE_S, prompt="still")
    assert preview.face is not None and preview.face.count == 3
    assert preview.face.describe().startswith("3 faces found: the largest is used")
    with Image.open(largest.file) as img:
        face_width = largest.face_width * 600 / img.height
    got = facts(preview.path)
    k = got.width / image.width
    n = round(VOICE_S * FPS)
    openness = mouth_openness(_voice_rms(voice, n))
    rest, loud = int(np.argmin(openness[50:75])) + 50, int(np.argmax(openness))
    frames = _frames(preview.path, [rest, loud])
    spoken = Spoken(group, frames[rest], frames[rest], frames[loud], [frames[loud]], frames[rest], [],
                    (lips[0] * k, lips[1] * k), ((0, 0), (0, 0)), (), face_width * k)
    cx, cy = _motion_centroid(spoken)
    assert np.hypot(cx - spoken.lips[0], cy - spoken.lips[1]) / spoken.face_width <= 0.05
    # The other two faces (the left two thirds of the group) do not move at all.
    others = np.abs(_grey(frames[loud]) - _grey(frames[rest]))[:, : round(got.width * 0.55)]
    assert others.mean() < 0.5
