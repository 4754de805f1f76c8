"""The preview's face warp: jaw, eyelids and head sway, drawn by cv2.remap on the face's region only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face import Face
from .opencv import cv2

__all__ = ["FaceRig"]

#: Lower-lip drop at full openness, as a fraction of the face box's height (speech opens the
#: mouth by about a tenth of the brow-to-chin distance); the upper lip rises a third of that.
JAW_DROP = 0.09
UPPER_LIP = 0.3
#: How far the upper lid travels towards the lid line when closed (1 would reach it exactly; the
#: lashes' dark line covers the rest).
LID_TRAVEL = 0.8


def _smoothstep(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return v * v * (3 - 2 * v)


def _lens(x: np.ndarray, centre: float, half: float) -> np.ndarray:
    """1 at *centre*, falling to 0 at ±*half* with pointed ends: the shape of parted lips or a closing lid."""
    return np.clip(1 - ((x - centre) / half) ** 2, 0.0, 1.0)


@dataclass(frozen=True)
class _Region:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


class FaceRig:
    """Everything about one face that does not change from frame to frame, and the per-frame draw.

    All fields are in the region's own coordinates and give, for each output pixel, where its
    content is taken from; they are zero at the region's border, so the picture outside it (and
    the border itself) is never touched. The jaw and lids are warped first, the mouth's interior
    and the lashes drawn on that, and the whole face then swayed, so the features move with it.
    """

    def __init__(self, canvas: np.ndarray, face: Face, *, top: int = 0) -> None:
        """*canvas* is the still frame (H×W×3, uint8) that *face*'s boxes refer to; rows above *top* never change."""
        h, w = canvas.shape[:2]
        box = face.box
        self.region = _Region(max(0, round(box.x - 0.4 * box.w)), max(top, round(box.y - 0.5 * box.h)),
                              min(w, round(box.x + 1.4 * box.w)), min(h, round(box.y + 1.6 * box.h)))
        rs = self.region.slices
        self.still = np.ascontiguousarray(canvas[rs])
        rh, rw = self.still.shape[:2]
        ys, xs = np.mgrid[0:rh, 0:rw].astype(np.float32)
        self._x, self._y = xs, ys
        ox, oy = self.region.x0, self.region.y0
        cx, face_cy = box.centre[0] - ox, box.centre[1] - oy
        self._jaw_setup(face, xs, ys, ox, oy)
        self._lid_setup(face, xs, ys, ox, oy)

        # Sway weight: the whole head moves, the background does not; a smooth fall-off between.
        r = np.sqrt(((xs - cx) / (0.85 * box.w)) ** 2 + ((ys - (face_cy + 0.05 * box.h)) / (1.0 * box.h)) ** 2)
        weight = 1 - _smoothstep((r - 0.65) / 0.35)
        edge = np.minimum.reduce([xs, ys, rw - 1 - xs, rh - 1 - ys])
        weight *= _smoothstep(edge / 6.0)
        pivot_x, pivot_y = cx, box.y + 1.3 * box.h - oy  # the neck, where a nod turns
        self._weight = weight.astype(np.float32)
        self._weight_dy = (weight * (ys - pivot_y)).astype(np.float32)
        self._weight_dx = (weight * (xs - pivot_x)).astype(np.float32)
        self._map_x = np.empty_like(xs)
        self._map_y = np.empty_like(ys)
        self._featured = np.empty_like(self.still)
        self._swayed = np.empty_like(self.still)

    def _jaw_setup(self, face: Face, xs: np.ndarray, ys: np.ndarray, ox: int, oy: int) -> None:
        box = face.box
        mx, my = face.mouth.centre[0] - ox, face.mouth.centre[1] - oy
        # Lips part over less than a smile's full width, so the corners stay put.
        half = float(np.clip(0.4 * face.mouth.box.w, 0.15 * box.w, 0.22 * box.w))
        chin = box.y + 1.15 * box.h - oy
        drop = JAW_DROP * box.h
        lens = _lens(xs, mx, half)
        # The jaw's width: the lips' opening is the middle of it, the cheeks beside stretch.
        jaw = 1 - _smoothstep((np.abs(xs - mx) - 0.25 * box.w) / (0.25 * box.w))
        # Below the lips everything drops, less towards the chin and not at all a little under it.
        below = np.where(ys < chin, 1 - 0.3 * (ys - my) / max(chin - my, 1.0),
                         0.7 * (1 - _smoothstep((ys - chin) / (0.25 * box.h))))
        ramp = _smoothstep((ys - (my - 0.08 * box.h)) / (0.16 * box.h))
        above = np.clip(1 - (my - ys) / (0.12 * box.h), 0.0, 1.0)
        # Source offset per unit of openness: the lower lip takes from above (it moved down), the
        # upper lip from below; the step at the lip line is where the mouth's interior shows.
        open_y = np.where(ys >= my, -drop * lens * below, UPPER_LIP * drop * lens * above)
        open_y -= drop * np.maximum(jaw - lens, 0) * below * ramp
        self._open_y = open_y.astype(np.float32)
        self._mouth = (mx, my, half, drop)
        rh, rw = xs.shape
        self._mouth_box = _Region(max(0, int(mx - half) - 1), max(0, int(my - UPPER_LIP * drop) - 2),
                                  min(rw, int(mx + half) + 2), min(rh, int(my + drop) + 3))
        skin = self.still[max(0, int(my - 0.35 * box.h)) : max(1, int(my - 0.2 * box.h)),
                          max(0, int(mx - half)) : int(mx + half) + 1]
        light = float(skin.mean()) / 170 if skin.size else 1.0
        # A shadowed red for the inside and ivory for the teeth, dimmed with the face's own light.
        self._inside = np.array([70.0, 24.0, 28.0], dtype=np.float32) * float(np.clip(light, 0.5, 1.2))
        self._teeth = np.array([225.0, 218.0, 205.0], dtype=np.float32) * float(np.clip(light, 0.5, 1.0))

    def _lid_setup(self, face: Face, xs: np.ndarray, ys: np.ndarray, ox: int, oy: int) -> None:
        lid_y = np.zeros_like(xs)
        self._lashes: list[tuple[_Region, np.ndarray]] = []
        rh, rw = xs.shape
        for eye in face.eyes:
            ex, ey = eye.centre[0] - ox, eye.centre[1] - oy
            size = float(eye.box.h)
            top, line = ey - 0.35 * size, ey + 0.1 * size
            lens = _lens(xs, ex, 0.38 * eye.box.w)
            inside = (ys >= top) & (ys < line)
            # Closed, the skin above the eye is stretched down to the lid line over the eye.
            lid_y -= np.where(inside, LID_TRAVEL * (ys - top) * lens, 0.0)
            area = _Region(max(0, int(ex - 0.4 * eye.box.w)), max(0, int(line) - 2),
                           min(rw, int(ex + 0.4 * eye.box.w) + 1), min(rh, int(line) + 3))
            sub_x, sub_y = xs[area.slices], ys[area.slices]
            lash = _lens(sub_x, ex, 0.38 * eye.box.w) * np.exp(-(((sub_y - line) / 1.0) ** 2))
            self._lashes.append((area, lash.astype(np.float32)[..., None]))
        self._lid_y = lid_y.astype(np.float32)

    def _draw_mouth(self, image: np.ndarray, openness: float) -> None:
        mx, my, half, drop = self._mouth
        area = self._mouth_box
        sub = image[area.slices].astype(np.float32)
        xs, ys = self._x[area.slices], self._y[area.slices]
        lens = _lens(xs, mx, half)
        top = my - UPPER_LIP * drop * openness * lens
        bottom = my + drop * openness * lens
        # A pixel-wide soft edge, so the lips part smoothly rather than by whole pixels.
        alpha = np.clip(np.minimum(ys - top, bottom - ys) + 0.5, 0.0, 1.0)[..., None]
        depth = np.clip((ys - top) / np.maximum(bottom - top, 1e-3), 0.0, 1.0)[..., None]
        # Upper teeth just under the lip once the mouth is open by more than a few pixels; below
        # them the inside is darkest at the back of the mouth and a little lighter towards the tongue.
        teeth = np.clip((0.3 - depth) / 0.15, 0.0, 1.0) * float(np.clip((drop * openness - 3) / 5, 0.0, 0.5))
        colour = self._inside * (0.7 + 0.5 * depth) * (1 - teeth) + self._teeth * teeth
        image[area.slices] = (sub * (1 - alpha) + colour * alpha).astype(np.uint8)

    def _draw_lashes(self, image: np.ndarray, closure: float) -> None:
        strength = 0.6 * float(np.clip((closure - 0.5) * 2, 0.0, 1.0))
        if strength <= 0:
            return
        for area, lash in self._lashes:
            sub = image[area.slices].astype(np.float32)
            image[area.slices] = (sub * (1 - strength * lash)).astype(np.uint8)

    def draw(self, frame: np.ndarray, openness: float, closure: float, dx: float, dy: float, roll: float) -> None:
        """Write the face's region of *frame* for one moment: mouth *openness* and lid *closure* in 0..1, sway."""
        if openness > 0.01 or closure > 0.01:
            np.multiply(self._open_y, openness, out=self._map_y)
            self._map_y += self._y
            if closure > 0.01:
                self._map_y += closure * self._lid_y
            cv2().remap(self.still, self._x, self._map_y, cv2().INTER_LINEAR, dst=self._featured,
                        borderMode=cv2().BORDER_REPLICATE)
            featured = self._featured
            if openness > 0.01:
                self._draw_mouth(featured, openness)
            self._draw_lashes(featured, closure)
        else:
            featured = self.still
        # Content moves by the sway, so each pixel takes from where the sway came from.
        np.multiply(self._weight, -dx, out=self._map_x)
        self._map_x += self._x
        self._map_x += roll * self._weight_dy
        np.multiply(self._weight, -dy, out=self._map_y)
        self._map_y += self._y
        self._map_y -= roll * self._weight_dx
        # remap writes only into a whole array, not a view into the frame, so the region is copied in.
        cv2().remap(featured, self._map_x, self._map_y, cv2().INTER_LINEAR, dst=self._swayed,
                    borderMode=cv2().BORDER_REPLICATE)
        frame[self.region.slices] = self._swayed
