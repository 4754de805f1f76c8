"""The preview's face warp: the photo's own lips part, its upper lids close, the head moves; by cv2.remap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face import Face
from .face_parts import Eye, Lips
from .opencv import cv2

__all__ = ["FaceRig"]

#: How far the lower lip and jaw drop at full openness, and the upper lip rises, as fractions of the
#: face's width (speech opens the mouth by up to about a tenth of it; the upper lip hardly moves).
JAW_DROP = 0.065
UPPER_LIP = 0.03
#: The lower lip's thickness, and how far below the lip line the skin still moves, as fractions of the
#: face's width: the lower lip drops whole, the skin under it stretches, the chin's tip barely moves
#: (a preview cannot turn the jaw, and a whole lower face sliding on a still neck looks wrong).
LOWER_LIP = 0.05
CHIN = 0.18
#: How much darker the middle of a fully open gap is than the lip line it is drawn from.
GAP_SHADE = 0.7
#: How far a smile lifts and widens the mouth's corners, as fractions of the face's width.
SMILE_UP, SMILE_OUT = 0.03, 0.02
# The head's motion field is computed on a grid this many pixels apart.
_STEP = 4


def _smoothstep(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return v * v * (3 - 2 * v)


@dataclass(frozen=True)
class _Region:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def clip(self, w: int, h: int) -> _Region:
        return _Region(max(0, self.x0), max(0, self.y0), min(w, self.x1), min(h, self.y1))


class _Mouth:
    """The lips parting: where each output pixel of the mouth's area takes its content from, per openness."""

    def __init__(self, lips: Lips, fw: float, ox: int, oy: int, rw: int, rh: int) -> None:
        (lx, _), (_, cy), (rx, _) = lips.left, lips.centre, lips.right
        mc, half = (lx + rx) / 2 - ox, max((rx - lx) / 2, 2.0)
        line_top = min(lips.left[1], lips.right[1], cy) - oy
        self.area = _Region(int(mc - 0.6 * fw), int(line_top - 0.15 * fw), int(mc + 0.6 * fw) + 1,
                            int(cy - oy + (CHIN + 0.05) * fw) + 1).clip(rw, rh)
        ys, xs = np.mgrid[self.area.y0 : self.area.y1, self.area.x0 : self.area.x1].astype(np.float32)
        self.x, self.y = xs, ys
        # Beyond the corners the line runs on level, not along the parabola's arms.
        line = lips.line_y(np.clip(xs[0] + ox, lx, rx))[None, :] - oy
        self.line = np.broadcast_to(line, xs.shape).astype(np.float32)
        # Lips part over their width, most in the middle and not at all at the corners.
        lens = np.clip(1 - ((xs - mc) / half) ** 2, 0.0, 1.0)
        # Below the lips the skin drops a little wider than they are, and the cheeks beside stretch.
        jaw = 1 - _smoothstep((np.abs(xs - mc) - half) / (0.15 * fw))
        below = ys - self.line
        # Slowly, so the skin below the corners stretches rather than folds.
        lateral = lens + (np.maximum(jaw, lens) - lens) * _smoothstep(below / (0.2 * fw))
        chin = 1 - _smoothstep((below - LOWER_LIP * fw) / ((CHIN - LOWER_LIP) * fw))
        self.down = (JAW_DROP * fw * lateral * chin).astype(np.float32)
        self.up = (UPPER_LIP * fw * lens * (1 - _smoothstep(-below / (0.12 * fw)))).astype(np.float32)
        self.lower = below >= 0
        #: Where the lips part (between the corners): only there does a gap open.
        self.parted = lens > 1e-3
        self.lens = lens.astype(np.float32)
        # A smile lifts and widens the corners, the skin around them following less the further it is.
        sigma = 0.08 * fw
        self.smile_x = np.zeros_like(xs)
        self.smile_y = np.zeros_like(xs)
        for corner, side in (((lx - ox, lips.left[1] - oy), -1.0), ((rx - ox, lips.right[1] - oy), 1.0)):
            weight = np.exp(-((xs - corner[0]) ** 2 + (ys - corner[1]) ** 2) / (2 * sigma**2))
            self.smile_x += side * SMILE_OUT * fw * weight
            self.smile_y -= SMILE_UP * fw * weight
        self.fw = fw

    def maps(self, openness: float, smile: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Source maps for the mouth's area, and the shade of the gap between the lips (None: no gap)."""
        y, line = self.y, self.line
        map_x = self.x - smile * self.smile_x if smile > 0.01 else self.x
        base_y = y - smile * self.smile_y if smile > 0.01 else y
        if openness <= 0.01:
            return map_x, base_y, None
        drop, rise = openness * self.down, openness * self.up
        # The lower lip takes from above it (it moved down), the upper lip from below; in the gap that
        # opens, the lip line itself is stretched across, a little of each lip's inner edge at its ends.
        lower = np.where(self.parted, np.maximum(base_y - drop, line + 0.15 * (y - line)), base_y - drop)
        upper = np.where(self.parted, np.minimum(base_y + rise, line - 0.15 * (line - y)), base_y + rise)
        map_y = np.where(self.lower, lower, upper)
        # How far into the gap each pixel is: 0 at the lip line, 1 at the lips' edges, above 1 outside.
        into = np.where(self.lower, 0.85 * (y - line) / np.maximum(drop, 1e-3),
                        0.85 * (line - y) / np.maximum(rise, 1e-3))
        # A gap under a pixel or so is not shaded, and the shade thins out towards the corners.
        opened = np.clip((drop - 1.0) / 4.0, 0.0, 1.0) * np.sqrt(self.lens)
        shade = 1 - GAP_SHADE * opened * np.sqrt(np.clip(1 - into, 0.0, 1.0))
        return map_x, map_y, shade.astype(np.float32)[..., None]


class _Lids:
    """Both upper lids moving down over the eyes: the lid, lashes and the skin above are stretched down
    to the lower lid. The stretched skin is taken from a copy softened across, so a thin band of it
    (between a lid and a glasses frame) does not become streaks."""

    def __init__(self, still: np.ndarray, eyes: tuple[Eye, Eye], ox: int, oy: int, rw: int, rh: int) -> None:
        self.parts = []
        self.soft = still.copy()
        for eye in eyes:
            cx, hw, r = eye.centre[0] - ox, eye.half_width, eye.radius
            top, upper, lower = eye.top - oy, eye.upper - oy + 0.35 * r, eye.lower - oy
            area = _Region(int(cx - 1.2 * hw), int(top) - 1, int(cx + 1.2 * hw) + 2, int(lower + 0.5 * r) + 3).clip(rw, rh)
            sigma = max(0.8, 0.3 * r)
            self.soft[area.slices] = cv2().GaussianBlur(still[area.slices], (0, 0), sigmaX=sigma, sigmaY=0.1)
            ys, xs = np.mgrid[area.y0 : area.y1, area.x0 : area.x1].astype(np.float32)
            q = np.clip((xs - cx) / hw, -1.0, 1.0)
            # The lid's edge (below its lashes) is an arch over the iris that meets the lower lid at the corners.
            lid = upper + (lower - upper) * 0.45 * q**2
            floor = lower - (lower - upper) * 0.25 * q**2
            travel = np.maximum(floor - lid, 0.0) * (1 - np.abs(q) ** 3)
            self.parts.append((area, xs, ys, np.float32(top), lid.astype(np.float32), travel.astype(np.float32)))

    def rest(self, still: np.ndarray, featured: np.ndarray) -> None:
        """Put both eyes' areas of *featured* back as they are in *still*."""
        for area, *_ in self.parts:
            featured[area.slices] = still[area.slices]

    def draw(self, still: np.ndarray, featured: np.ndarray, closure: float) -> None:
        """Write each eye's area of *featured*, its lid's edge drawn down by *closure* of the way."""
        remap, linear, border = cv2().remap, cv2().INTER_LINEAR, cv2().BORDER_REPLICATE
        for area, xs, ys, top, lid, travel in self.parts:
            edge = lid + closure * travel
            covered = (ys >= top) & (ys <= edge)
            stretched = top + (ys - top) * (lid - top) / np.maximum(edge - top, 1e-3)
            map_y = np.where(covered, stretched, ys).astype(np.float32)
            sharp = remap(still, xs, map_y, linear, borderMode=border)
            soft = remap(self.soft, xs, map_y, linear, borderMode=border)
            # Blend by how much each row is stretched: unstretched rows stay sharp.
            stretch = np.clip((edge - lid) / np.maximum(lid - top, 1.0), 0.0, 1.0) * covered
            blend = stretch[..., None]
            featured[area.slices] = (sharp * (1 - blend) + soft * blend).astype(np.uint8)


class FaceRig:
    """Everything about one face that does not change from frame to frame, and the per-frame draw.

    The features are warped first (the lips part and a dark gap opens between them, the lids close,
    the corners rise in a smile), each in its own small area; then the whole head moves. The head's
    weight falls to zero at the region's border, so the picture outside it is never touched.
    """

    def __init__(self, canvas: np.ndarray, face: Face, lips: Lips, eyes: tuple[Eye, Eye] | None, *,
                 top: int = 0) -> None:
        """*canvas* is the still frame (H×W×3, uint8) that *face*, *lips* and *eyes* refer to; rows above *top* never change."""
        h, w = canvas.shape[:2]
        box = face.box
        fw = float(box.w)
        self.region = _Region(round(box.x - 0.4 * box.w), max(top, round(box.y - 0.5 * box.h)),
                              round(box.x + 1.4 * box.w), round(box.y + 1.6 * box.h)).clip(w, h)
        self.still = np.ascontiguousarray(canvas[self.region.slices])
        rh, rw = self.still.shape[:2]
        ox, oy = self.region.x0, self.region.y0
        self.mouth = _Mouth(lips, fw, ox, oy, rw, rh)
        self.lids = _Lids(self.still, eyes, ox, oy, rw, rh) if eyes is not None else None

        ys, xs = np.mgrid[0:rh, 0:rw].astype(np.float32)
        self._x, self._y = xs, ys
        # The head's motion is smooth, so its field is worked out on a grid a quarter as fine and
        # enlarged: a sixteenth of the arithmetic per frame.
        self._coarse = (max(2, -(-rw // _STEP)), max(2, -(-rh // _STEP)))
        cw, ch = self._coarse
        gy, gx = np.mgrid[0:ch, 0:cw].astype(np.float32)
        gx, gy = (gx + 0.5) * rw / cw - 0.5, (gy + 0.5) * rh / ch - 0.5  # where cv2.resize puts each cell
        cx, face_cy = box.centre[0] - ox, box.centre[1] - oy
        # The head's weight: the whole head moves, the background does not; a smooth fall-off between.
        r = np.sqrt(((gx - cx) / (0.85 * box.w)) ** 2 + ((gy - (face_cy + 0.05 * box.h)) / (1.0 * box.h)) ** 2)
        weight = 1 - _smoothstep((r - 0.65) / 0.35)
        edge = np.minimum.reduce([gx, gy, rw - 1 - gx, rh - 1 - gy])
        weight *= _smoothstep((edge - _STEP) / 6.0)
        pivot_x, pivot_y = cx, box.y + 1.3 * box.h - oy  # the neck, where a nod turns
        self._weight = weight.astype(np.float32)
        self._weight_dy = (weight * (gy - pivot_y)).astype(np.float32)
        self._weight_dx = (weight * (gx - pivot_x)).astype(np.float32)
        self._map_x = np.empty_like(xs)
        self._map_y = np.empty_like(ys)
        self._featured = self.still.copy()
        self._dirty_mouth = self._dirty_lids = False
        self._swayed = np.empty_like(self.still)

    @property
    def blinks(self) -> bool:
        """Whether the eyes were found well enough to blink."""
        return self.lids is not None

    def _features(self, openness: float, closure: float, smile: float) -> np.ndarray:
        """The still region with the lips, lids and smile of this moment (the still itself when all rest)."""
        moving = openness > 0.01 or smile > 0.01
        closing = closure > 0.01 and self.lids is not None
        featured = self._featured
        # Only the mouth's and the eyes' areas ever differ from the still: each is written whole when it
        # moves, and put back once when it comes to rest.
        if not moving and self._dirty_mouth:
            featured[self.mouth.area.slices] = self.still[self.mouth.area.slices]
        if not closing and self._dirty_lids and self.lids is not None:
            self.lids.rest(self.still, featured)
        self._dirty_mouth, self._dirty_lids = moving, closing
        if not moving and not closing:
            return self.still
        remap, linear, border = cv2().remap, cv2().INTER_LINEAR, cv2().BORDER_REPLICATE
        if moving:
            area = self.mouth.area
            map_x, map_y, shade = self.mouth.maps(openness, smile)
            part = remap(self.still, map_x, map_y, linear, borderMode=border)
            if shade is not None:
                part = (part * shade).astype(np.uint8)  # darker only: the lips' own hues stay
            featured[area.slices] = part
        if closing:
            assert self.lids is not None
            # The eyes' areas are far from the mouth's, so each takes from the still region.
            self.lids.draw(self.still, featured, closure)
        return featured

    def draw(self, frame: np.ndarray, openness: float, closure: float, dx: float, dy: float, roll: float,
             smile: float = 0.0) -> None:
        """Write the face's region of *frame* for one moment: mouth *openness*, lid *closure* and *smile* in 0..1, head motion."""
        featured = self._features(openness, closure, smile)
        if abs(dx) < 0.01 and abs(dy) < 0.01 and abs(roll) < 1e-5:
            frame[self.region.slices] = featured
            return
        # Content moves with the head, so each pixel takes from where the head came from.
        shift_x = self._weight * -dx + roll * self._weight_dy
        shift_y = self._weight * -dy - roll * self._weight_dx
        size = (self._x.shape[1], self._x.shape[0])
        np.add(self._x, cv2().resize(shift_x, size, interpolation=cv2().INTER_LINEAR), out=self._map_x)
        np.add(self._y, cv2().resize(shift_y, size, interpolation=cv2().INTER_LINEAR), out=self._map_y)
        # remap writes only into a whole array, not a view into the frame, so the region is copied in.
        cv2().remap(featured, self._map_x, self._map_y, cv2().INTER_LINEAR, dst=self._swayed,
                    borderMode=cv2().BORDER_REPLICATE)
        frame[self.region.slices] = self._swayed
