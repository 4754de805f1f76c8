"""Find the largest frontal face in a photo, with its eyes and mouth, offline (OpenCV's shipped Haar cascades)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..core.errors import InputError
from ..core.text import Text
from .opencv import cascade, cv2
from .photo_header import UPRIGHT

__all__ = ["WORK_SIDE", "Box", "Face", "Feature", "find_face"]

#: Detection runs on a copy this long on its long side: a face worth animating is still 48 px or
#: more there, and the cost (tens of milliseconds) no longer depends on the photo's size.
WORK_SIDE = 640
#: The smallest face, as a fraction of the picture's short side. A talking avatar needs a face
#: that fills a fair part of the frame; the many small windows below this are where the cascade
#: spends most of its time and finds most of its false faces.
MIN_FACE_FRACTION = 1 / 10
# alt2 with 5 neighbours: on the photos tried (the astronaut portrait and changed copies of it;
# coins, cells, coffee, a rocket, a cat, textures and the moon at 640-2048 px) the default cascade,
# or alt2 with 4 neighbours or fewer, found false faces; alt2 with 5 found none and found the
# portrait in every copy whose face spans a tenth of the frame. Profile cascades are left out on
# purpose: the jaw and eyelid warp assume a frontal face, and a profile is better served by the
# whole-photo fallback than by a warp in the wrong place.
_FACE_CASCADE = "frontalface_alt2"
_SCALE_FACTOR = 1.1
_FACE_NEIGHBOURS = 5
# The smile cascade fires on many mouth-like patches, so it needs far more agreeing windows.
_MOUTH_NEIGHBOURS = 20
# Eyes and mouth are looked for on the face alone, scaled to this width: the eye cascade's
# smallest window is 20 px, which a small face's eyes would not fill, and a big face costs no more.
_PATCH_WIDTH = 120
# Where features sit in a frontal Haar face box, as fractions of its width and height (measured
# on the astronaut portrait and typical of the cascade's box, which runs from brows to chin).
_EYE_X, _EYE_Y, _EYE_SIZE = (0.29, 0.71), 0.37, 0.26
_MOUTH_Y, _MOUTH_W, _MOUTH_H = 0.81, 0.46, 0.2


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: top-left corner, width and height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def centre(self) -> tuple[float, float]:
        """The box's centre point."""
        return self.x + self.w / 2, self.y + self.h / 2

    def scaled(self, sx: float, sy: float) -> Box:
        """The same box in a picture resized by *sx* × *sy*."""
        return Box(round(self.x * sx), round(self.y * sy), max(1, round(self.w * sx)), max(1, round(self.h * sy)))


@dataclass(frozen=True)
class Feature:
    """An eye or the mouth: its box, and whether a cascade found it (else it is estimated from the face box)."""

    box: Box
    found: bool

    @property
    def centre(self) -> tuple[float, float]:
        """The feature's centre point."""
        return self.box.centre


@dataclass(frozen=True)
class Face:
    """One face in a picture of *image_size*; every box is in that picture's pixels."""

    box: Box
    #: The eye on the picture's left first.
    eyes: tuple[Feature, Feature]
    mouth: Feature
    image_size: tuple[int, int]
    #: How many faces the photo holds; this one is the largest.
    count: int = 1

    @property
    def position(self) -> Text:
        """Where the face's centre is, by thirds of the picture.

        "centred" for the middle third both ways; otherwise "upper"/"lower" and "left"/"right"
        as they apply ("upper left", "right"), with "centre" after a lone "upper" or "lower".
        """
        cx, cy = self.box.centre
        w, h = self.image_size
        col = "left" if cx < w / 3 else "right" if cx > 2 * w / 3 else ""
        row = "upper" if cy < h / 3 else "lower" if cy > 2 * h / 3 else ""
        return Text(f"face.where.{row or 'middle'}.{col or 'centre'}")

    def describe(self) -> Text:
        """A short phrase, e.g. "face found: 412×412 px, upper centre", or "6 faces found: the largest is used (…)"."""
        if self.count > 1:
            return Text("face.several", count=self.count, w=self.box.w, h=self.box.h, where=self.position)
        return Text("face.found", w=self.box.w, h=self.box.h, where=self.position)

    def scaled(self, size: tuple[int, int]) -> Face:
        """The same face in the same picture resized to *size*."""
        sx, sy = size[0] / self.image_size[0], size[1] / self.image_size[1]
        left, right = (Feature(e.box.scaled(sx, sy), e.found) for e in self.eyes)
        return Face(self.box.scaled(sx, sy), (left, right), Feature(self.mouth.box.scaled(sx, sy), self.mouth.found),
                    size, self.count)


def _open_gray(image: Image.Image | str | os.PathLike[str]) -> tuple[np.ndarray, tuple[int, int]]:
    """A grey working copy at most WORK_SIDE long, and the size of the picture it stands for."""
    if isinstance(image, Image.Image):
        return _shrink(image.convert("L")), image.size
    path = Path(image)
    try:
        with Image.open(path) as img:
            orientation = img.getexif().get(0x0112, 1)
            size = img.size
            # A JPEG decodes straight to a half, quarter or eighth of its size: most of the cost
            # of a 2048 px photo avoided before any pixel exists.
            img.draft("L", _work_size(size))
            gray = _shrink(img.convert("L"))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InputError(Text("face.unreadable", name=path.name)) from exc
    if orientation in (5, 6, 7, 8):  # EXIF says the picture is shown turned a quarter
        size = (size[1], size[0])
    if orientation in UPRIGHT:
        gray = np.asarray(Image.fromarray(gray).transpose(UPRIGHT[orientation]))
    return gray, size


def _work_size(size: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, WORK_SIDE / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _shrink(gray: Image.Image) -> np.ndarray:
    target = _work_size(gray.size)
    if target != gray.size:
        gray = gray.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(gray)


def _detect(gray: np.ndarray, name: str, neighbours: int, min_size: tuple[int, int],
            max_size: tuple[int, int] = (0, 0)) -> list[Box]:
    found = cascade(name).detectMultiScale(gray, scaleFactor=_SCALE_FACTOR, minNeighbors=neighbours,
                                           minSize=min_size, maxSize=max_size)
    return [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def _nearest(candidates: list[Box], target: tuple[float, float]) -> Box | None:
    if not candidates:
        return None
    return min(candidates, key=lambda b: (b.centre[0] - target[0]) ** 2 + (b.centre[1] - target[1]) ** 2)


def _square(centre: tuple[float, float], w: float, h: float) -> Box:
    return Box(round(centre[0] - w / 2), round(centre[1] - h / 2), max(1, round(w)), max(1, round(h)))


def _eyes(gray: np.ndarray, face: Box) -> tuple[Feature, Feature]:
    """Each eye from the eye cascade (then the glasses one), mirrored across the face when only one is seen."""
    top = face.y + face.h // 8
    region = gray[top : face.y + face.h * 3 // 5, face.x : face.x + face.w]
    expected = [(face.x + fx * face.w, face.y + _EYE_Y * face.h) for fx in _EYE_X]
    size = _EYE_SIZE * face.w
    mid = face.x + face.w / 2
    sides: list[Box | None] = [None, None]
    for name in ("eye", "eye_tree_eyeglasses"):
        hits = [Box(b.x + face.x, b.y + top, b.w, b.h)
                for b in _detect(region, name, 5, (max(8, face.w // 8),) * 2, (face.w // 2,) * 2)]
        for i, keep in enumerate((lambda b: b.centre[0] < mid, lambda b: b.centre[0] >= mid)):
            if sides[i] is None:
                sides[i] = _nearest([b for b in hits if keep(b)], expected[i])
        if all(sides):
            break
    left, right = sides
    if left is None and right is not None:
        left = Box(round(2 * mid - right.x - right.w), right.y, right.w, right.h)
        return Feature(left, False), Feature(right, True)
    if right is None and left is not None:
        right = Box(round(2 * mid - left.x - left.w), left.y, left.w, left.h)
        return Feature(left, True), Feature(right, False)
    if left is None or right is None:
        return Feature(_square(expected[0], size, size), False), Feature(_square(expected[1], size, size), False)
    return Feature(left, True), Feature(right, True)


def _mouth(gray: np.ndarray, face: Box, eyes: tuple[Feature, Feature]) -> Feature:
    """The smile cascade's mouth below the eyes, else one placed from the face's proportions."""
    cx = (eyes[0].centre[0] + eyes[1].centre[0]) / 2 if eyes[0].found and eyes[1].found else face.centre[0]
    expected = (cx, face.y + _MOUTH_Y * face.h)
    top, left = face.y + face.h * 3 // 5, face.x + face.w // 8
    region = gray[top : face.y + face.h * 11 // 10, left : face.x + face.w * 7 // 8]
    hits = [Box(b.x + left, b.y + top, b.w, b.h)
            for b in _detect(region, "smile", _MOUTH_NEIGHBOURS, (face.w // 5, face.w // 10),
                             (face.w * 3 // 4, face.w * 3 // 8))]
    # A "mouth" far off the face's midline or level is a cheek or the chin, not the mouth.
    plausible = [b for b in hits if abs(b.centre[0] - expected[0]) < face.w * 0.15
                 and abs(b.centre[1] - expected[1]) < face.h * 0.15]
    best = _nearest(plausible, expected)
    if best is not None:
        return Feature(best, True)
    return Feature(_square(expected, _MOUTH_W * face.w, _MOUTH_H * face.h), False)


def _features(gray: np.ndarray, face: Box) -> tuple[tuple[Feature, Feature], Feature]:
    """Eyes and mouth, searched on the face (and a little below it, for the chin) scaled to _PATCH_WIDTH."""
    bottom = min(gray.shape[0], face.y + face.h * 23 // 20)
    k = _PATCH_WIDTH / face.w
    patch = cv2().resize(gray[face.y : bottom, face.x : face.x + face.w],
                         (_PATCH_WIDTH, max(1, round((bottom - face.y) * k))), interpolation=cv2().INTER_LINEAR)
    local = Box(0, 0, _PATCH_WIDTH, round(face.h * k))
    eyes = _eyes(patch, local)
    mouth = _mouth(patch, local, eyes)

    def back(feature: Feature) -> Feature:
        b = feature.box.scaled(1 / k, 1 / k)
        return Feature(Box(b.x + face.x, b.y + face.y, b.w, b.h), feature.found)

    return (back(eyes[0]), back(eyes[1])), back(mouth)


def find_face(image: Image.Image | str | os.PathLike[str]) -> Face | None:
    """The largest frontal face in *image* (a picture, or a photo file shown upright), or None when there is none.

    Boxes are in *image*'s pixels; the face's count says how many faces the photo holds. Raises InputError when a file cannot be read as a picture.
    """
    gray, size = _open_gray(image)
    if min(gray.shape) < 24:
        return None
    # Equalising makes the cascade's light/dark contrasts hold for dim, backlit or washed-out photos.
    gray = cv2().equalizeHist(gray)
    side = max(24, round(min(gray.shape) * MIN_FACE_FRACTION))
    faces = _detect(gray, _FACE_CASCADE, _FACE_NEIGHBOURS, (side, side))
    if not faces:
        return None
    box = max(faces, key=lambda b: b.w * b.h)
    eyes, mouth = _features(gray, box)
    found = Face(box, eyes, mouth, (gray.shape[1], gray.shape[0]), len(faces))
    return found.scaled(size) if size != found.image_size else found
