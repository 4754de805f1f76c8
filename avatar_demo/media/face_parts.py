"""Where a found face's lips part and where its upper lids are, read from the photo's own pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face import Face
from .opencv import cv2

__all__ = ["Eye", "Lips", "find_eyes", "find_lips"]

#: The face is looked at scaled to this width: every distance below is a fraction of it, and a
#: large photo costs no more than a small one.
_WIDTH = 200
#: Below this face width (in the picture's pixels) the lids are too few pixels to move well.
MIN_BLINK_FACE = 70
Point = tuple[float, float]


@dataclass(frozen=True)
class Lips:
    """The line between the lips: its two corners and its middle, in the picture's pixels.

    *found* is False when the line was placed from the face's proportions (no clear line).
    """

    left: Point
    centre: Point
    right: Point
    found: bool

    def line_y(self, x: np.ndarray) -> np.ndarray:
        """The lip line's height at each x: the parabola through the corners and the middle."""
        xs = np.array([self.left[0], self.centre[0], self.right[0]], dtype=np.float64)
        ys = np.array([self.left[1], self.centre[1], self.right[1]], dtype=np.float64)
        a, b, c = np.polyfit(xs, ys, 2)
        return ((a * x + b) * x + c).astype(np.float32)

    @property
    def width(self) -> float:
        """Corner to corner."""
        return float(self.right[0] - self.left[0])


@dataclass(frozen=True)
class Eye:
    """One eye: the iris centre, its radius, the upper lid's edge above it and the lower lid's height."""

    centre: Point
    radius: float
    upper: float
    lower: float
    #: Half the eye's width, corner to corner.
    half_width: float
    #: The top of the skin a blink stretches down: nothing above it moves (a glasses frame stays put).
    top: float


def _smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    return cv2().GaussianBlur(values, (0, 0), sigmaX=max(sigma, 0.5), sigmaY=max(sigma, 0.5),
                              borderType=cv2().BORDER_REFLECT)


class _Patch:
    """The face and what is below it, scaled so the face box is _WIDTH wide, in float32 planes."""

    def __init__(self, rgb: np.ndarray, face: Face) -> None:
        box = face.box
        h, w = rgb.shape[:2]
        self.x0, self.y0 = max(0, box.x - box.w // 4), max(0, box.y - box.h // 8)
        x1, y1 = min(w, box.x + box.w + box.w // 4), min(h, box.y + box.h + box.h // 3)
        self.k = _WIDTH / box.w
        crop = rgb[self.y0 : y1, self.x0 : x1]
        size = (max(1, round((x1 - self.x0) * self.k)), max(1, round((y1 - self.y0) * self.k)))
        scaled = cv2().resize(crop, size, interpolation=cv2().INTER_AREA if self.k < 1 else cv2().INTER_LINEAR)
        pixels = scaled.astype(np.float32)
        self.grey = pixels.mean(axis=2)
        # Lips are redder than the skin around them at the same brightness; shadows are not.
        self.red = pixels[..., 0] - pixels[..., 1]

    def to_patch(self, x: float, y: float) -> Point:
        return (x - self.x0) * self.k, (y - self.y0) * self.k

    def to_picture(self, x: float, y: float) -> Point:
        return x / self.k + self.x0, y / self.k + self.y0


def _valleys(profile: np.ndarray, reach: int) -> np.ndarray:
    """How much darker each entry is than the brightest entries within *reach* on both sides (0 if not a valley)."""
    n = profile.size
    depth = np.zeros(n, dtype=np.float32)
    for i in range(1, n - 1):
        above = profile[max(0, i - reach) : i].max()
        below = profile[i + 1 : min(n, i + reach + 1)].max()
        depth[i] = max(0.0, min(above, below) - profile[i])
    return depth


def find_lips(rgb: np.ndarray, face: Face) -> Lips:
    """The line between the lips of *face* on *rgb* (H×W×3 uint8, the picture *face* was found on).

    The line is the darkest horizontal valley between nose and chin with red lips above and below it,
    near where the face's proportions (and the smile cascade, when it found the mouth) put it; the
    corners are where that valley fades out on each side.
    """
    patch = _Patch(rgb, face)
    box = face.box
    eyes_found = face.eyes[0].found and face.eyes[1].found
    if face.mouth.found:
        expected = face.mouth.centre
    elif eyes_found:
        (lx, ly), (rx, ry) = face.eyes[0].centre, face.eyes[1].centre
        span = max(float(np.hypot(rx - lx, ry - ly)), 0.42 * box.w)
        expected = ((lx + rx) / 2, (ly + ry) / 2 + 1.05 * span)
    else:
        expected = (box.centre[0], box.y + 0.82 * box.h)
    if face.mouth.found and eyes_found:
        # The smile cascade's box is wider than the mouth and its centre wanders; the eyes' midline does not.
        expected = ((face.eyes[0].centre[0] + face.eyes[1].centre[0]) / 2, expected[1])
    ex, ey = patch.to_patch(*expected)
    grey, red = patch.grey, patch.red
    ph, pw = grey.shape
    fw = float(_WIDTH)
    top, bottom = max(2, int(ey - 0.22 * fw)), min(ph - 2, int(ey + 0.22 * fw))
    left, right = max(0, int(ex - 0.1 * fw)), min(pw, int(ex + 0.1 * fw) + 1)
    fallback = _estimated(patch, ex, ey)
    if bottom - top < 10 or right - left < 6:
        return fallback
    smooth_grey = _smooth(grey, 0.006 * fw)
    profile = smooth_grey[top:bottom, left:right].mean(axis=1)
    reds = _smooth(red, 0.006 * fw)[top:bottom, left:right].mean(axis=1)
    depth = _valleys(profile, round(0.06 * fw))
    skin = float(np.median(reds))
    reach = max(1, round(0.03 * fw))
    padded = np.pad(reds, reach, mode="edge")
    near = np.convolve(padded, np.ones(2 * reach + 1) / (2 * reach + 1), mode="valid")
    lipness = np.clip(near - skin, 0.0, None) + 2.0
    rows = np.arange(top, bottom, dtype=np.float32)
    prior = np.exp(-0.5 * ((rows - ey) / (0.1 * fw)) ** 2)
    score = depth * lipness * prior
    best = int(np.argmax(score))
    if depth[best] < 6.0:
        return fallback
    line = top + best
    return _traced(patch, smooth_grey, ex, float(line), float(depth[best])) or fallback


def _traced(patch: _Patch, grey: np.ndarray, cx: float, line: float, depth: float) -> Lips | None:
    """Follow the valley left and right from (cx, line) while it stays at least a third as deep."""
    ph, pw = grey.shape
    fw = float(_WIDTH)
    reach = max(2, round(0.05 * fw))
    # Columns averaged over a few pixels, so one dark pore does not end or extend the line.
    columns = _smooth(grey, 0.01 * fw)

    def walk(step: int) -> tuple[float, float]:
        x, y = round(cx), line
        last = (float(x), y)
        for _ in range(round(0.4 * fw)):
            x += step
            if not 0 <= x < pw:
                break
            lo, hi = max(reach, round(y) - 2), min(ph - reach - 1, round(y) + 3)
            if hi <= lo:
                break
            col = columns[:, x]
            ys = np.arange(lo, hi)
            dark = col[lo:hi]
            at = int(ys[int(np.argmin(dark))])
            contrast = min(col[at - reach : at].max(), col[at + 1 : at + reach + 1].max()) - col[at]
            if contrast < depth / 3:
                break
            y = 0.5 * y + 0.5 * at  # a line bends slowly; one noisy column does not pull it away
            last = (float(x), y)
        return last

    left, right = walk(-1), walk(1)
    width = right[0] - left[0]
    if not 0.18 * fw <= width <= 0.75 * fw:
        return None
    centre_x = cx
    return Lips(patch.to_picture(*left), patch.to_picture(centre_x, line), patch.to_picture(*right), True)


def _estimated(patch: _Patch, ex: float, ey: float) -> Lips:
    half = 0.2 * _WIDTH
    return Lips(patch.to_picture(ex - half, ey), patch.to_picture(ex, ey), patch.to_picture(ex + half, ey), False)


def _iris(grey: np.ndarray, around: Point, radius: float, search: float) -> tuple[Point, float] | None:
    """The dark disc near *around* that is brighter to its left, its right and below (the eye white and
    the lower lid), and how clear it is. A frame's rim or a brow is dark beside itself, a frame's side
    below itself: neither scores."""
    ph, pw = grey.shape
    blurred = _smooth(grey, 0.5 * radius)
    shift = max(2, round(1.8 * radius))
    drop = max(2, round(1.4 * radius))
    x0, x1 = max(shift, int(around[0] - search)), min(pw - shift, int(around[0] + search) + 1)
    y0, y1 = max(0, int(around[1] - search * 0.7)), min(ph - drop, int(around[1] + search * 0.7) + 1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    core = blurred[y0:y1, x0:x1]
    sides = np.minimum(blurred[y0:y1, x0 - shift : x1 - shift], blurred[y0:y1, x0 + shift : x1 + shift])
    score = np.minimum(sides, blurred[y0 + drop : y1 + drop, x0:x1]) - core
    ys, xs = np.mgrid[y0:y1, x0:x1]
    score = score * np.exp(-0.5 * (((xs - around[0]) ** 2 + (ys - around[1]) ** 2) / search**2))
    at = np.unravel_index(int(np.argmax(score)), score.shape)
    return (float(x0 + at[1]), float(y0 + at[0])), float(score[at])


def _lids(grey: np.ndarray, centre: Point, radius: float) -> tuple[float, float, float]:
    """The upper lid's edge above the iris, the lower lid's height and the top of the skin a blink may stretch."""
    x, y = round(centre[0]), round(centre[1])
    band = grey[:, max(0, x - round(radius)) : x + round(radius) + 1].mean(axis=1)
    ph = band.size
    lo = max(1, round(y - 2.2 * radius))
    rows = np.arange(lo, max(lo + 1, round(y - 0.2 * radius)))
    rows = rows[rows < ph - 1]
    if rows.size == 0:
        return y - radius, y + 0.8 * radius, y - 2 * radius
    # The edge is where the brightness climbs steeply from the lashes up to the lid's skin: the first
    # such climb above the iris, since a glasses frame higher up may climb more.
    rise = band[rows - 1] - band[rows + 1]
    steep = np.flatnonzero(rise >= 0.5 * rise.max())
    upper = float(rows[steep[-1]]) if rise.max() > 0 else y - radius
    # Above the edge, the skin that a blink stretches reaches up to its brightest row before anything
    # darker (a frame's rim, a brow): that stays where it is.
    top, brightest = upper - 1, -1.0
    for row in range(round(upper) - 1, max(0, round(upper - 1.6 * radius)), -1):
        if band[row] < 0.75 * brightest:
            break
        if band[row] > brightest:
            top, brightest = float(row), float(band[row])
    lower = y + 0.85 * radius
    return upper, lower, min(top, upper - 1.0)


def find_eyes(rgb: np.ndarray, face: Face, lips: Lips) -> tuple[Eye, Eye] | None:
    """Both eyes of *face* on *rgb*, or None when they cannot both be found with confidence.

    The cascade's eyes (or, when it missed them, the face's proportions) say where to look; the iris
    is the dark disc with eye white on both sides, and the two must agree with each other and the lips.
    """
    box = face.box
    if box.w < MIN_BLINK_FACE:
        return None
    patch = _Patch(rgb, face)
    fw = float(_WIDTH)
    radius = 0.042 * fw
    found = []
    for eye in face.eyes:
        hit = _iris(patch.grey, patch.to_patch(*eye.centre), radius, (0.04 if eye.found else 0.1) * fw)
        if hit is None or hit[1] < 12.0:
            return None
        found.append(hit[0])
    (lx, ly), (rx, ry) = found
    mid_x = (lx + rx) / 2
    lips_x, lips_y = patch.to_patch(*lips.centre)
    # Two irises of one face looking at the camera: level, a face's eye spacing apart, the lips between them.
    if not (0.3 * fw <= rx - lx <= 0.6 * fw and abs(ly - ry) <= 0.08 * fw and abs(mid_x - lips_x) <= 0.12 * fw
            and 0.35 * fw <= lips_y - (ly + ry) / 2 <= 0.75 * fw):
        return None
    eyes = []
    for cx, cy in found:
        upper, lower, top = _lids(patch.grey, (cx, cy), radius)
        if not (cy - 2.0 * radius <= upper <= cy - 0.1 * radius):
            return None
        px, py = patch.to_picture(cx, cy)
        k = patch.k
        eyes.append(Eye((px, py), radius / k, upper / k + patch.y0, lower / k + patch.y0, 2.6 * radius / k,
                        top / k + patch.y0))
    return eyes[0], eyes[1]
