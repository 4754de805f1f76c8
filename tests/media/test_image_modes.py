"""Every colour layout becomes faithful 8-bit sRGB: depth scaled, never clipped; transparency on white."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import pyvips
from PIL import Image

from avatar_demo.media.image import prepare_image

BLUE = (40, 80, 160)
SKIN = (230, 190, 160)


def _gradient16() -> np.ndarray:
    """600×800 16-bit greyscale running from black (left) to full scale (right)."""
    return np.tile(np.linspace(0, 65535, 600).astype(np.uint16), (800, 1))


def _grey16_png(path: Path) -> Path:
    Image.fromarray(_gradient16()).save(path.with_suffix(".png"))
    return path.with_suffix(".png")


def _grey16_pgm(path: Path) -> Path:
    # PGM is decoded by Pillow, not libvips: the other decoder must scale the same way.
    Image.fromarray(_gradient16()).save(path.with_suffix(".pgm"))
    return path.with_suffix(".pgm")


def _grey16_tiff(path: Path) -> Path:
    Image.fromarray(_gradient16()).save(path.with_suffix(".tif"))
    return path.with_suffix(".tif")


def _rgb16_png(path: Path) -> Path:
    grey = _gradient16()
    vips = pyvips.Image.new_from_array(np.dstack([grey, grey, grey]), interpretation="rgb16")
    vips.pngsave(str(path.with_suffix(".png")), bitdepth=16)
    return path.with_suffix(".png")


@pytest.mark.parametrize("make", [_grey16_png, _grey16_pgm, _grey16_tiff, _rgb16_png],
                         ids=["grey16-png", "grey16-pgm", "grey16-tiff", "rgb16-png"])
def test_sixteen_bit_is_scaled_down_not_clipped(tmp_path: Path, make) -> None:
    """A 16-bit gradient keeps its gradient: black stays black, mid-grey is ~128, full scale is white."""
    out = prepare_image(make(tmp_path / "deep"), tmp_path / "out")
    with Image.open(out.path) as img:
        row = [img.getpixel((x, 400))[0] for x in (2, 150, 300, 450, 597)]
    assert row[0] < 8
    assert row[1] == pytest.approx(64, abs=8)
    assert row[2] == pytest.approx(128, abs=8)
    assert row[3] == pytest.approx(191, abs=8)
    assert row[4] > 247
    assert out.warnings == []


def _portrait(mode: str | None = None) -> Image.Image:
    from tests.helpers import make_image

    buf = io.BytesIO()
    make_image(buf, (600, 800), format="PNG")  # type: ignore[arg-type]
    buf.seek(0)
    img = Image.open(buf)
    img.load()
    return img.convert(mode) if mode else img


def _cmyk_with_profile(path: Path) -> Path:
    """A CMYK JPEG as print software writes it: with its press profile embedded."""
    rgb = _portrait("RGB")
    vips = pyvips.Image.new_from_memory(rgb.tobytes(), rgb.width, rgb.height, 3, "uchar")
    vips.icc_transform("cmyk", input_profile="srgb", embedded=False).jpegsave(str(path.with_suffix(".jpg")), Q=95)
    return path.with_suffix(".jpg")


def _cmyk_plain(path: Path) -> Path:
    _portrait("CMYK").save(path.with_suffix(".jpg"), quality=95)
    return path.with_suffix(".jpg")


def _palette(path: Path) -> Path:
    img = Image.new("P", (600, 800), 0)
    img.putpalette([*BLUE, *SKIN] + [0] * 762)
    img.paste(1, (150, 200, 450, 600))
    img.save(path.with_suffix(".png"))
    return path.with_suffix(".png")


def _grey(path: Path) -> Path:
    _portrait("L").save(path.with_suffix(".png"))
    return path.with_suffix(".png")


def _display_p3(fmt: str):  # type: ignore[no-untyped-def]
    """The portrait re-encoded in Display P3 (as iPhones shoot), with the P3 profile embedded."""

    def make(path: Path) -> Path:
        rgb = _portrait("RGB")
        p3 = pyvips.Image.new_from_memory(rgb.tobytes(), rgb.width, rgb.height, 3, "uchar")
        p3 = p3.icc_transform("p3", input_profile="srgb", embedded=False)
        dest = path.with_suffix("." + fmt.lower())
        if fmt == "AVIF":  # through Pillow, whose decoder path converts the profile itself
            Image.frombytes("RGB", (p3.width, p3.height), p3.write_to_memory()).save(
                dest, quality=95, icc_profile=p3.get("icc-profile-data"))
        else:
            p3.jpegsave(str(dest), Q=95)
        return dest

    return make


@pytest.mark.parametrize(
    ("make", "edge", "centre", "tolerance", "change"),
    [
        (_cmyk_with_profile, BLUE, SKIN, 14, "converted CMYK colours to RGB"),
        (_display_p3("JPEG"), BLUE, SKIN, 8, "converted the photo's colour profile to sRGB"),
        (_display_p3("AVIF"), BLUE, SKIN, 10, "converted the photo's colour profile to sRGB"),
        (_palette, BLUE, SKIN, 3, None),
        (_grey, (75, 75, 75), (196, 196, 196), 4, None),
    ],
    ids=["cmyk-with-profile", "p3-jpeg", "p3-avif", "palette", "greyscale"],
)
def test_colour_layouts_keep_their_colours(tmp_path: Path, make, edge, centre, tolerance, change) -> None:
    """CMYK and Display P3 (through their profiles), palette and greyscale photos come out looking as they did."""
    out = prepare_image(make(tmp_path / "photo"), tmp_path / "out")
    with Image.open(out.path) as img:
        assert img.mode == "RGB"
        assert img.getpixel((10, 10)) == pytest.approx(edge, abs=tolerance)
        assert img.getpixel((300, 380)) == pytest.approx(centre, abs=tolerance)
    if change:
        assert change in out.changes


def test_cmyk_without_profile_is_not_inverted(tmp_path: Path) -> None:
    """Untagged CMYK is read with a standard press profile: blue stays blue, skin stays warm."""
    out = prepare_image(_cmyk_plain(tmp_path / "photo"), tmp_path / "out")
    with Image.open(out.path) as img:
        r, g, b = img.getpixel((10, 10))
        assert b > r + 40
        r, g, b = img.getpixel((300, 380))
        assert r > b + 40
    assert "converted CMYK colours to RGB" in out.changes


def _transparent(mode: str, fmt: str):  # type: ignore[no-untyped-def]
    """A 400×400 picture: transparent border, opaque dark-red square in the middle."""

    def make(path: Path) -> Path:
        rgba = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
        rgba.paste((150, 20, 20, 255), (100, 100, 300, 300))
        dest = path.with_suffix("." + fmt.lower())
        if mode == "P":  # palette with a tRNS chunk: index 0 transparent
            img = Image.new("P", (400, 400), 0)
            img.putpalette([0, 0, 0, 150, 20, 20] + [0] * 762)
            img.paste(1, (100, 100, 300, 300))
            img.save(dest, fmt, transparency=0)
        elif mode == "PA":
            img = Image.new("PA", (400, 400), (1, 0))
            img.putpalette([0, 0, 0, 150, 20, 20] + [0] * 762)
            img.paste((1, 255), (100, 100, 300, 300))
            img.save(dest, fmt)
        elif mode == "RGBA16":
            arr = np.asarray(rgba).astype(np.uint16) * 257
            pyvips.Image.new_from_array(arr, interpretation="rgb16").pngsave(str(dest), bitdepth=16)
        else:
            rgba.convert(mode).save(dest, fmt)
        return dest

    return make


@pytest.mark.parametrize(
    ("make", "centre"),
    [
        (_transparent("RGBA", "PNG"), (150, 20, 20)),
        (_transparent("RGBA16", "PNG"), (150, 20, 20)),
        (_transparent("LA", "PNG"), (62, 62, 62)),
        (_transparent("P", "PNG"), (150, 20, 20)),
        (_transparent("P", "GIF"), (150, 20, 20)),
        (_transparent("PA", "TIFF"), (150, 20, 20)),
        (_transparent("RGBA", "WEBP"), (150, 20, 20)),
        (_transparent("RGBA", "AVIF"), (150, 20, 20)),
    ],
    ids=["rgba-png", "rgba16-png", "la-png", "p-trns-png", "p-gif", "pa-tiff", "rgba-webp", "rgba-avif"],
)
def test_transparency_is_flattened_onto_white(tmp_path: Path, make, centre) -> None:
    """Transparent parts become white in every mode that can carry alpha; the opaque part is kept."""
    out = prepare_image(make(tmp_path / "alpha"), tmp_path / "out")
    with Image.open(out.path) as result:
        assert result.getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=6)
        assert result.getpixel((200, 200)) == pytest.approx(centre, abs=12)
    assert "flattened transparency onto white" in out.changes
