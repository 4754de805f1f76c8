"""Real portraits that wheels we install ship, with their lips and eyes read off the photos by eye, and a group of them."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.helpers import PORTRAIT_EYES, PORTRAIT_MOUTH, sample_photo

__all__ = ["PORTRAITS", "Portrait", "group_photo"]

Point = tuple[float, float]


def _shipped(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed (requirements-dev.txt)"
    return Path(next(iter(spec.submodule_search_locations)), *parts)


@dataclass(frozen=True)
class Portrait:
    """A photo, where its lips part and its pupils are, in its own pixels."""

    name: str
    file: Path
    lips: Point
    eyes: tuple[Point, Point]
    #: Cheek to cheek at the nose's height, in pixels.
    face_width: float
    #: Points on a glasses frame's rims above the eyes (nothing there must move in a blink).
    rims: tuple[Point, ...] = ()


PORTRAITS = (
    # NASA's astronaut Eileen Collins (scikit-image): smiling, teeth showing; the mouth's middle.
    Portrait("astronaut", sample_photo("astronaut.png"), PORTRAIT_MOUTH, PORTRAIT_EYES, 88),
    # Grace Hopper (matplotlib's sample data): glasses with dark top rims, and a cap.
    Portrait("grace_hopper", _shipped("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"), (265, 277),
             ((220, 189), (302, 185)), 205, rims=((212, 176), (226, 176), (294, 173), (308, 173))),
    # Luis Pedro Coelho (mahotas' demo data): the face turned a little to the side, lips slightly apart.
    Portrait("luispedro", _shipped("mahotas", "demos", "data", "luispedro.jpg"), (101, 258),
             ((70, 170), (146, 157)), 185),
)


def group_photo(path: Path) -> tuple[Path, Portrait, Point]:
    """The three portraits side by side, 600 px high on a grey backdrop: the biggest face (Luis Pedro's) and its lips in the group's pixels."""
    tiles = []
    for portrait in PORTRAITS:
        with Image.open(portrait.file) as img:
            tile = img.convert("RGB")
        k = 600 / tile.height
        tiles.append((tile.resize((round(tile.width * k), 600), Image.Resampling.LANCZOS), k))
    width = sum(t.width for t, _ in tiles)
    # A backdrop tall enough that the photo is not padded to the gateways' widest aspect (2.5:1).
    height = max(600, -(-width * 10 // 24))
    top = (height - 600) // 2
    group = Image.new("RGB", (width, height), (128, 132, 140))
    x = 0
    lips: Point = (0.0, 0.0)
    for (tile, k), portrait in zip(tiles, PORTRAITS):
        group.paste(tile, (x, top))
        if portrait.name == "luispedro":
            lips = (x + portrait.lips[0] * k, top + portrait.lips[1] * k)
        x += tile.width
    group.save(path, quality=92)
    return path, PORTRAITS[2], lips
