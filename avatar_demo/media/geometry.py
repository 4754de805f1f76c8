"""Plan a portrait's final size from its source size alone: pad into 1:2.5–2.5:1, then fit 300–2048 px."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.text import Text

__all__ = ["MAX_ASPECT", "MAX_SIDE", "MIN_SIDE", "Layout", "plan_layout"]

MIN_SIDE = 300
#: Large enough for any face detail the model uses; smaller uploads and base64 bodies.
MAX_SIDE = 2048
MAX_ASPECT = 2.5


@dataclass(frozen=True)
class Layout:
    """Where the photo goes: the final canvas, the photo's size inside it, and what that changes."""

    canvas: tuple[int, int]
    photo: tuple[int, int]
    changes: list[Text] = field(default_factory=list)

    @property
    def offset(self) -> tuple[int, int]:
        """Top-left corner of the photo, centred on the canvas."""
        return (self.canvas[0] - self.photo[0]) // 2, (self.canvas[1] - self.photo[1]) // 2


def _pad(w: int, h: int, changes: list[Text]) -> tuple[int, int]:
    if w / h > MAX_ASPECT:
        new_w, new_h, label = w, math.ceil(w / MAX_ASPECT), "2.5:1"
    elif h / w > MAX_ASPECT:
        new_w, new_h, label = math.ceil(h / MAX_ASPECT), h, "1:2.5"
    else:
        return w, h
    changes.append(Text("photo.padded", w=w, h=h, new_w=new_w, new_h=new_h, ratio=label))
    return new_w, new_h


def _fit(w: int, h: int, changes: list[Text]) -> tuple[int, int]:
    if max(w, h) > MAX_SIDE:
        scale = MAX_SIDE / max(w, h)
        # Round the short side up so the aspect ratio never drifts past 2.5:1.
        new = (MAX_SIDE, math.ceil(h * scale)) if w >= h else (math.ceil(w * scale), MAX_SIDE)
        changes.append(Text("photo.resized", w=w, h=h, new_w=new[0], new_h=new[1]))
        return new
    if min(w, h) < MIN_SIDE:
        scale = MIN_SIDE / min(w, h)
        # Round the long side down so the aspect ratio never drifts past 2.5:1.
        if w >= h:
            new = (max(MIN_SIDE, math.floor(w * scale)), MIN_SIDE)
        else:
            new = (MIN_SIDE, max(MIN_SIDE, math.floor(h * scale)))
        changes.append(Text("photo.upscaled", w=w, h=h, new_w=new[0], new_h=new[1], least=MIN_SIDE))
        return new
    return w, h


def plan_layout(width: int, height: int) -> Layout:
    """The final size of a *width*×*height* photo (already upright), before a pixel is decoded.

    Knowing it up front lets the decoder produce the photo at its final size directly, which is
    what keeps a 60-megapixel upload from ever existing at full size in memory.
    """
    changes: list[Text] = []
    padded = _pad(width, height, changes)
    canvas = _fit(*padded, changes)
    if padded == (width, height):
        return Layout(canvas, canvas, changes)
    scale = max(canvas) / max(padded)
    photo = (min(canvas[0], max(1, round(width * scale))), min(canvas[1], max(1, round(height * scale))))
    return Layout(canvas, photo, changes)
