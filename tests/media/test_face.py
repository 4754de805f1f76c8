"""Face finding: a real portrait's face, eyes and mouth found where they are; drawings, flat colours,
landscapes and other photos without a person give None; OpenCV stays out of start-up."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from avatar_demo.core.errors import InputError
from avatar_demo.media.face import Box, Face, Feature, find_face
from tests.helpers import PORTRAIT_EYES, PORTRAIT_MOUTH, make_image, real_portrait, sample_photo

ROOT = Path(__file__).resolve().parents[2]
Point = tuple[float, float]


def _near(point: Point, target: Point, tolerance: float) -> bool:
    return math.dist(point, target) <= tolerance


def _inside(point: Point, box: Box) -> bool:
    return box.x <= point[0] <= box.x + box.w and box.y <= point[1] <= box.y + box.h


def test_the_astronauts_face_eyes_and_mouth_are_found_where_they_are(tmp_path: Path) -> None:
    """Box around both eyes and the mouth, inside the head and of a face's size; eyes and mouth found, not guessed."""
    face = find_face(real_portrait(tmp_path))
    assert face is not None
    assert face.image_size == (512, 512)
    box = face.box
    # The head, hair included, spans about x 155-300 and y 15-190; the eyes are 44 px apart, and
    # a face is about twice as wide as that.
    assert 155 <= box.x and box.x + box.w <= 300 and 15 <= box.y and box.y + box.h <= 195
    assert 70 <= box.w <= 130 and 70 <= box.h <= 130
    for point in (*PORTRAIT_EYES, PORTRAIT_MOUTH):
        assert _inside(point, box)
    assert [eye.found for eye in face.eyes] == [True, True]
    for eye, where in zip(face.eyes, PORTRAIT_EYES, strict=True):
        assert _near(eye.centre, where, 8), (eye, where)
    assert face.mouth.found
    assert _near(face.mouth.centre, PORTRAIT_MOUTH, 8), face.mouth
    assert face.describe() == f"face found: {box.w}×{box.h} px, upper centre"


def _mirror(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(img)


def _enlarge(img: Image.Image) -> Image.Image:
    return img.resize((2048, 2048), Image.Resampling.BICUBIC)


def _shrink(img: Image.Image) -> Image.Image:
    return img.resize((320, 320), Image.Resampling.BILINEAR)


def _tilt(img: Image.Image) -> Image.Image:
    return img.rotate(8, resample=Image.Resampling.BICUBIC, center=(256, 256))


def _dim(img: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(0.4)


def _flat(img: Image.Image) -> Image.Image:
    return ImageEnhance.Contrast(img).enhance(0.4)


def _grey(img: Image.Image) -> Image.Image:
    return img.convert("L")


def _tilted_point(p: Point) -> Point:
    # Image.rotate turns counter-clockwise on screen (y down), about the centre.
    a = math.radians(8)
    x, y = p[0] - 256, p[1] - 256
    return 256 + x * math.cos(a) + y * math.sin(a), 256 - x * math.sin(a) + y * math.cos(a)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (_mirror, lambda p: (511 - p[0], p[1])),
        (_enlarge, lambda p: (p[0] * 4, p[1] * 4)),
        (_shrink, lambda p: (p[0] / 1.6, p[1] / 1.6)),
        (_tilt, _tilted_point),
        (_dim, lambda p: p),
        (_flat, lambda p: p),
        (_grey, lambda p: p),
    ],
    ids=["mirrored", "2048 px", "320 px", "tilted 8 degrees", "dim", "low contrast", "greyscale"],
)
def test_the_face_is_found_in_changed_copies_of_the_portrait(
    tmp_path: Path, change: Callable[[Image.Image], Image.Image], where: Callable[[Point], Point]
) -> None:
    """Mirrored, resized, tilted, dimmed, flattened or grey: the box holds the moved mouth and both eyes."""
    with Image.open(real_portrait(tmp_path)) as img:
        picture = change(img.convert("RGB"))
    face = find_face(picture)
    assert face is not None
    assert face.image_size == picture.size
    scale = picture.size[0] / 512
    assert 70 * scale <= face.box.w <= 130 * scale
    for point in (*PORTRAIT_EYES, PORTRAIT_MOUTH):
        assert _inside(where(point), face.box), (where(point), face.box)
    assert _near(face.mouth.centre, where(PORTRAIT_MOUTH), 12 * scale)


def test_a_jpeg_file_with_an_exif_turn_is_searched_upright(tmp_path: Path) -> None:
    """A file stored sideways with EXIF orientation 6 is looked at as shown; boxes are in the upright pixels."""
    with Image.open(real_portrait(tmp_path)) as img:
        stored = img.convert("RGB").transpose(Image.Transpose.ROTATE_90)  # what a camera held sideways stores
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "sideways.jpg"
    stored.save(path, quality=90, exif=exif)
    face = find_face(path)
    assert face is not None
    assert face.image_size == (512, 512)
    assert _inside(PORTRAIT_MOUTH, face.box) and all(_inside(p, face.box) for p in PORTRAIT_EYES)


def _landscape(size: tuple[int, int]) -> Image.Image:
    """Sky fading to haze, rolling green hills with grainy texture, round trees and a sun."""
    w, h = size
    rng = np.random.default_rng(3)
    y = np.linspace(0, 1, h)[:, None, None]
    pixels = np.broadcast_to(np.array([90, 150, 230]) * (1 - y) + np.array([200, 220, 250]) * y, (h, w, 3)).copy()
    xs = np.arange(w)
    ridge = (h * 0.55 + h * 0.05 * np.sin(xs / 90) + h * 0.03 * np.sin(xs / 37 + 1)).astype(int)
    ground = np.arange(h)[:, None] >= ridge[None, :]
    pixels[ground] = [60, 120, 50]
    pixels += rng.normal(0, 12, pixels.shape) * ground[..., None]
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(25):
        cx, cy, r = int(rng.integers(0, w)), int(rng.integers(h // 2, h)), int(rng.integers(15, 60))
        draw.ellipse((cx - r, cy - 2 * r, cx + r, cy), fill=(30, int(rng.integers(70, 110)), 30))
        draw.rectangle((cx - 4, cy, cx + 4, cy + r // 2), fill=(80, 50, 30))
    draw.ellipse((w * 0.78, h * 0.1, w * 0.86, h * 0.21), fill=(255, 240, 180))
    return img


def _drawn(tmp_path: Path, size: tuple[int, int]) -> Path:
    return make_image(tmp_path / f"drawn-{size[0]}x{size[1]}.jpg", size)


@pytest.mark.parametrize(
    "picture",
    [
        lambda tmp: _drawn(tmp, (600, 800)),
        lambda tmp: _drawn(tmp, (400, 400)),
        lambda tmp: _drawn(tmp, (2048, 1536)),
        lambda tmp: Image.new("RGB", (800, 600), (120, 140, 90)),
        lambda tmp: Image.new("L", (300, 300), 255),
        lambda tmp: _landscape((1024, 768)),
        lambda tmp: Image.fromarray(np.random.default_rng(5).integers(0, 256, (600, 800, 3), dtype=np.uint8)),
        lambda tmp: sample_photo("rocket.jpg"),
        lambda tmp: sample_photo("coffee.png"),
        lambda tmp: sample_photo("chelsea.png"),
        lambda tmp: sample_photo("brick.png"),
        lambda tmp: sample_photo("grass.png"),
        lambda tmp: Image.open(sample_photo("moon.png")).resize((2048, 2048), Image.Resampling.BICUBIC),
    ],
    ids=["drawn 600x800", "drawn 400x400", "drawn 2048x1536", "flat green", "flat white", "landscape", "noise",
         "rocket photo", "coffee photo", "cat photo", "brick photo", "grass photo", "moon photo 2048"],
)
def test_pictures_without_a_person_have_no_face(tmp_path: Path, picture: Callable[[Path], Image.Image | Path]) -> None:
    """The test suite's drawn "portrait" (an ellipse on blue), flat colours, a landscape, noise and photos of things."""
    assert find_face(picture(tmp_path)) is None


def test_an_unreadable_file_is_our_error(tmp_path: Path) -> None:
    """A file that is no picture: InputError naming it, not Pillow's exception."""
    path = tmp_path / "notes.jpg"
    path.write_text("not a photo")
    with pytest.raises(InputError, match="notes.jpg"):
        find_face(path)


def _face_at(cx: float, cy: float, size: tuple[int, int] = (900, 600), side: int = 100) -> Face:
    box = Box(round(cx - side / 2), round(cy - side / 2), side, side)
    feature = Feature(Box(0, 0, 1, 1), False)
    return Face(box, (feature, feature), feature, size)


@pytest.mark.parametrize(
    ("centre", "words"),
    [
        ((450, 300), "centred"),
        ((450, 100), "upper centre"),
        ((450, 500), "lower centre"),
        ((100, 300), "left"),
        ((800, 300), "right"),
        ((100, 100), "upper left"),
        ((800, 100), "upper right"),
        ((100, 500), "lower left"),
        ((800, 500), "lower right"),
    ],
)
def test_position_words_name_the_third_the_face_centre_is_in(centre: Point, words: str) -> None:
    """Thirds of the picture each way; the middle one is "centred"."""
    face = _face_at(*centre)
    assert face.position == words
    assert face.describe() == f"face found: 100×100 px, {words}"


def test_scaling_a_face_moves_every_box_with_the_picture() -> None:
    """Boxes in a picture resized to half width and double height move and stretch with it."""
    eye = Feature(Box(20, 30, 10, 10), True)
    face = Face(Box(10, 20, 60, 60), (eye, eye), Feature(Box(30, 60, 20, 10), False), (200, 100))
    half = face.scaled((100, 200))
    assert half.box == Box(5, 40, 30, 120)
    assert half.mouth == Feature(Box(15, 120, 10, 20), False)
    assert half.eyes[0].found and half.image_size == (100, 200)


def test_starting_the_app_does_not_import_opencv() -> None:
    """OpenCV (~0.1 s, ~40 MB) loads only when a preview looks for a face: not with the page, the providers or the preview module."""
    code = (
        "import sys, json\n"
        "import avatar_demo.ui, avatar_demo.providers.local, avatar_demo.media.preview, avatar_demo.media.face\n"
        "print(json.dumps('cv2' in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) is False
