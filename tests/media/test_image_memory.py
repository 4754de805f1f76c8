"""Any accepted photo adds at most ~150 MB of peak memory, measured in a fresh process (Linux's VmHWM)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from tests.helpers import make_image
from tests.media.measure import prepare_image_peak_mb

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")

#: The bound the issue sets for one photo on top of the running process.
PEAK_BUDGET_MB = 150


def _png_8000(path: Path) -> Path:
    return make_image(path.with_suffix(".png"), (8000, 7999), format="PNG", compress_level=1)


def _jpeg_48mp(path: Path) -> Path:
    return make_image(path.with_suffix(".jpg"), (8000, 6000), quality=90)


def _heic_12mp(path: Path) -> Path:
    with Image.open(make_image(path.with_suffix(".png"), (4032, 3024), format="PNG", compress_level=1)) as img:
        pillow_heif.from_pillow(img).save(path.with_suffix(".heic"), quality=80)
    return path.with_suffix(".heic")


def _heic_24mp(path: Path) -> Path:
    # An iPhone's default photo today: decoded whole it needs ~200 MB, so it is decoded in a child process.
    with Image.open(make_image(path.with_suffix(".png"), (5712, 4284), format="PNG", compress_level=1)) as img:
        pillow_heif.from_pillow(img).save(path.with_suffix(".heic"), quality=80)
    return path.with_suffix(".heic")


def _gif_25mp(path: Path) -> Path:
    Image.new("P", (5000, 5000), 0).save(path.with_suffix(".gif"))
    return path.with_suffix(".gif")


def _grey16_48mp(path: Path) -> Path:
    grey = np.tile(np.linspace(0, 65535, 8000).astype(np.uint16), (6000, 1))
    Image.fromarray(grey).save(path.with_suffix(".png"), compress_level=1)
    return path.with_suffix(".png")


def _warm(fmt: str, folder: Path) -> Path:
    """A tiny file of the same format, so loading the format's library is not counted."""
    path = folder / f"warm.{fmt}"
    if fmt == "heic":
        pillow_heif.from_pillow(Image.new("RGB", (64, 64), (1, 2, 3))).save(path)
    elif fmt == "gif":
        Image.new("P", (64, 64), 0).save(path)
    else:
        Image.new("RGB", (64, 64), (1, 2, 3)).save(path)
    return path


@pytest.mark.parametrize(
    ("make", "fmt"),
    [(_png_8000, "png"), (_jpeg_48mp, "jpg"), (_heic_12mp, "heic"), (_heic_24mp, "heic"), (_gif_25mp, "gif"),
     (_grey16_48mp, "png")],
    ids=["png-8000x7999", "jpeg-48mp", "heic-12mp", "heic-24mp", "gif-25mp", "png-16bit-48mp"],
)
def test_large_photo_stays_within_the_memory_budget(tmp_path: Path, make, fmt: str) -> None:
    """The 8000×7999 PNG alone would be 192 MB decoded; it is decoded straight to 2048 px instead."""
    src = make(tmp_path / "big")
    extra = prepare_image_peak_mb(src, _warm(fmt, tmp_path))
    assert 0 < extra <= PEAK_BUDGET_MB
