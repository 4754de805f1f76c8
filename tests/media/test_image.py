"""Portrait preparation: formats, orientation, size and aspect fixes, and the flat-colour warning."""

from __future__ import annotations

from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from avatar_demo.media.image import MAX_IMAGE_BYTES, MAX_SIDE, prepare_image
from tests.helpers import make_image


def _heic(path: Path, size: tuple[int, int]) -> Path:
    with Image.open(make_image(path.with_suffix(".png"), size, format="PNG")) as img:
        pillow_heif.from_pillow(img).save(path, quality=90)
    return path


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "gif", "bmp", "tiff", "avif", "heic"])
def test_every_format_becomes_a_jpeg(tmp_path: Path, fmt: str) -> None:
    """JPEG, PNG, WebP, GIF (first frame), BMP, TIFF, AVIF and HEIC (iPhone) all come out as RGB JPEG."""
    src = tmp_path / f"in.{fmt}"
    if fmt == "heic":
        _heic(src, (500, 600))
    else:
        make_image(src, (500, 600), format=fmt.upper())
    out = prepare_image(src, tmp_path / "out")
    with Image.open(out.path) as img:
        assert img.format == "JPEG"
        assert img.mode == "RGB"
        assert img.size == (out.width, out.height) == (500, 600)
        # The face-coloured ellipse is in the middle, the blue background at the edge.
        assert img.getpixel((250, 270)) == pytest.approx((230, 190, 160), abs=14)
        assert img.getpixel((10, 10)) == pytest.approx((40, 80, 160), abs=14)
    assert out.changes == []
    assert out.warnings == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_exif_orientation_is_applied(tmp_path: Path, fmt: str) -> None:
    """A landscape file tagged 'rotate 90' comes out portrait, its top-left corner now top-right."""
    src = tmp_path / f"rotated.{fmt.lower()}"
    img = Image.new("RGB", (800, 500), (10, 20, 30))
    img.paste((250, 0, 0), (0, 0, 100, 100))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(src, fmt, exif=exif)
    out = prepare_image(src, tmp_path / "out")
    assert (out.width, out.height) == (500, 800)
    assert "rotated upright using the photo's EXIF orientation" in out.changes
    with Image.open(out.path) as result:
        assert result.getpixel((450, 50))[0] > 200
        assert result.getpixel((50, 50))[0] < 60


def test_small_image_is_upscaled(tmp_path: Path) -> None:
    """200×150 grows until its short side is 300 px, keeping the aspect."""
    out = prepare_image(make_image(tmp_path / "s.png", (200, 150), format="PNG"), tmp_path / "out")
    assert (out.width, out.height) == (400, 300)
    assert out.changes == ["upscaled 200×150 to 400×300 (sides must be at least 300 px)"]


@pytest.mark.parametrize(
    ("size", "expected", "label"),
    [((3000, 600), (3000, 1200), "2.5:1"), ((400, 1500), (600, 1500), "1:2.5"), ((6000, 1000), (6000, 2400), "2.5:1")],
)
def test_extreme_aspect_is_padded_not_cropped(tmp_path: Path, size, expected, label) -> None:
    """Too wide or too tall gets borders in the edge colour; no pixel of the photo is lost."""
    src = make_image(tmp_path / "wide.png", size, format="PNG")
    out = prepare_image(src, tmp_path / "out")
    w, h = expected
    assert max(out.width, out.height) == min(MAX_SIDE, max(w, h))
    assert 0.4 <= out.width / out.height <= 2.5
    assert f"padded {size[0]}×{size[1]} to {w}×{h} ({label}; the gateways accept 1:2.5 to 2.5:1)" in out.changes
    with Image.open(out.path) as result:
        # The padding takes the blue of the photo's border, not black or white.
        assert result.getpixel((0, 0)) == pytest.approx((40, 80, 160), abs=12)
        assert result.getpixel((out.width - 1, out.height - 1)) == pytest.approx((40, 80, 160), abs=12)


@pytest.mark.parametrize(
    ("name", "size", "save", "expected"),
    [
        ("big.jpg", (4000, 3000), {"quality": 95}, (2048, 1536)),
        ("huge.jpg", (8000, 6000), {"quality": 90}, (2048, 1536)),
        ("big.png", (6000, 4000), {"format": "PNG"}, (2048, 1366)),
        ("progressive.jpg", (4000, 3000), {"progressive": True}, (2048, 1536)),
    ],
)
def test_large_photo_is_resized_and_under_10_mb(tmp_path: Path, name, size, save, expected) -> None:
    """Photos larger than 2048 px come out 2048 px on the long side, far under the 10 MB limit."""
    out = prepare_image(make_image(tmp_path / name, size, **save), tmp_path / "out")
    assert (out.width, out.height) == expected
    assert out.bytes <= MAX_IMAGE_BYTES
    assert f"resized {size[0]}×{size[1]} to {expected[0]}×{expected[1]}" in out.changes
    assert (out.source_width, out.source_height) == size


def test_first_frame_of_an_animation_is_used(tmp_path: Path) -> None:
    """An animated GIF gives its first frame, and says so."""
    src = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (400, 400), colour) for colour in ((200, 30, 30), (30, 200, 30))]
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100)
    out = prepare_image(src, tmp_path / "out")
    assert "used the first frame of the animation" in out.changes
    with Image.open(out.path) as result:
        assert result.getpixel((200, 200)) == pytest.approx((200, 30, 30), abs=12)


@pytest.mark.parametrize(
    "colour", [(255, 255, 255), (0, 0, 0), (128, 128, 128), (40, 80, 160)], ids=["white", "black", "grey", "blue"]
)
def test_flat_colour_photo_gets_a_warning(tmp_path: Path, colour) -> None:
    """A photo that is one colour (a blank scan, a lens cap, a failed conversion) is flagged before paying."""
    src = tmp_path / "flat.png"
    Image.new("RGB", (600, 800), colour).save(src)
    out = prepare_image(src, tmp_path / "out")
    assert len(out.warnings) == 1
    assert "almost a single flat colour" in out.warnings[0]
    assert out.warnings[0].endswith("before paying for a video")


@pytest.mark.parametrize(
    "make",
    [
        lambda p: make_image(p.with_suffix(".jpg"), (640, 800)),
        lambda p: make_image(p.with_suffix(".png"), (300, 300), format="PNG"),
        # A dim but real portrait: small differences, still a picture.
        lambda p: _dim_portrait(p.with_suffix(".png")),
    ],
    ids=["portrait", "small-portrait", "dim-portrait"],
)
def test_normal_portrait_gets_no_warning(tmp_path: Path, make) -> None:
    """The flat-colour warning stays quiet for real pictures."""
    out = prepare_image(make(tmp_path / "p"), tmp_path / "out")
    assert out.warnings == []


def _dim_portrait(path: Path) -> Path:
    from PIL import ImageDraw

    img = Image.new("RGB", (600, 800), (20, 22, 30))
    ImageDraw.Draw(img).ellipse((180, 160, 420, 560), fill=(70, 58, 50))
    img.save(path)
    return path


def test_a_plain_jpeg_that_needs_nothing_is_sent_as_it_came(tmp_path: Path) -> None:
    """Byte-identical, so a kept input prepared again (a re-run) is the same file; with EXIF it is re-encoded."""
    plain = make_image(tmp_path / "plain.jpg", (640, 800), quality=90)
    prepared = prepare_image(plain, tmp_path / "a")
    assert prepared.path.read_bytes() == plain.read_bytes() and prepared.changes == []
    again = prepare_image(prepared.path, tmp_path / "b")
    assert again.path.read_bytes() == plain.read_bytes()
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # a GPS position
    with Image.open(plain) as img:
        img.save(tmp_path / "gps.jpg", exif=exif, quality=90)
    stripped = prepare_image(tmp_path / "gps.jpg", tmp_path / "c")
    with Image.open(stripped.path) as out:
        assert not out.info.get("exif")
