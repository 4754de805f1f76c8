"""The lips' line and the eyes' lids, found on real portraits where a person marked them; no eyes when none show."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from avatar_demo.media.face import find_face
from avatar_demo.media.face_parts import find_eyes, find_lips
from tests.portraits import PORTRAITS, Portrait


def _rgb(portrait: Portrait, scale: float = 1.0) -> np.ndarray:
    with Image.open(portrait.file) as img:
        picture = img.convert("RGB")
    if scale != 1.0:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS)
    return np.asarray(picture)


@pytest.mark.parametrize("scale", [1.0, 2.5], ids=["as shipped", "enlarged 2.5x"])
@pytest.mark.parametrize("portrait", PORTRAITS, ids=[p.name for p in PORTRAITS])
def test_the_lip_line_and_the_eyes_are_where_a_person_marked_them(portrait: Portrait, scale: float) -> None:
    """The lip line's middle within 0.05 face widths of the hand mark, its corners either side of it a mouth's width
    apart; each iris within 0.06 face widths of the pupil marked, its upper lid above it."""
    rgb = _rgb(portrait, scale)
    face = find_face(Image.fromarray(rgb))
    assert face is not None
    fw = portrait.face_width * scale
    lips = find_lips(rgb, face)
    assert lips.found
    marked = (portrait.lips[0] * scale, portrait.lips[1] * scale)
    assert math.dist(lips.centre, marked) <= 0.05 * fw, (lips.centre, marked)
    assert lips.left[0] < marked[0] < lips.right[0]
    assert 0.25 * fw <= lips.width <= 0.6 * fw, lips.width / fw
    eyes = find_eyes(rgb, face, lips)
    assert eyes is not None
    for eye, pupil in zip(eyes, portrait.eyes, strict=True):
        pupil = (pupil[0] * scale, pupil[1] * scale)
        assert math.dist(eye.centre, pupil) <= 0.06 * fw, (eye.centre, pupil)
        assert eye.top < eye.upper < eye.centre[1] < eye.lower


def test_no_eyes_are_given_when_they_do_not_show() -> None:
    """A dark band over the eyes (as sunglasses would be): no eyes, so the preview does not blink rather than blink wrong."""
    portrait = PORTRAITS[0]
    rgb = _rgb(portrait).copy()
    face = find_face(Image.fromarray(rgb))
    assert face is not None
    lips = find_lips(rgb, face)
    (lx, ly), (rx, _) = portrait.eyes
    rgb[round(ly) - 9 : round(ly) + 8, round(lx) - 16 : round(rx) + 16] = (25, 22, 20)
    assert find_eyes(rgb, face, lips) is None


def test_a_face_too_small_to_move_its_lids_has_no_eyes() -> None:
    """Below MIN_BLINK_FACE pixels of face the lids are a pixel or two: no eyes are given."""
    portrait = PORTRAITS[0]
    rgb = _rgb(portrait, 0.6)
    face = find_face(Image.fromarray(rgb))
    assert face is not None and face.box.w < 70
    assert find_eyes(rgb, face, find_lips(rgb, face)) is None
