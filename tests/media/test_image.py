"""Portrait preparation: formats, orientation, colour, size and aspect fixes, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from avatar_demo.errors import InputError
from avatar_demo.media.image import MAX_IMAGE_BYTES, MAX_SIDE, prepare_image
from tests.helpers import make_image


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "gif", "bmp", "tiff"])
def test_every_format_becomes_a_jpeg(tmp_path: Path, fmt: str) -> None:
    """JPEG, PNG, WebP, GIF (first frame), BMP and TIFF all come out as RGB JPEG."""
    src = make_image(tmp_path / f"in.{fmt}", (500, 600), format=fmt.upper())
    out = prepare_image(src, tmp_path / "out")
    with Image.open(out.path) as img:
        assert img.format == "JPEG"
        assert img.mode == "RGB"
        assert img.size == (out.width, out.height) == (500, 600)
    assert out.changes == []


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A landscape file tagged 'rotate 90' comes out portrait."""
    src = tmp_path / "rotated.jpg"
    img = Image.new("RGB", (800, 500), (10, 20, 30))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(src, exif=exif)
    out = prepare_image(src, tmp_path / "out")
    assert (out.width, out.height) == (500, 800)
    assert "rotated upright using the photo's EXIF orientation" in out.changes


def test_transparency_is_flattened_onto_white(tmp_path: Path) -> None:
    """A transparent corner becomes white."""
    src = tmp_path / "alpha.png"
    img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    img.paste((200, 0, 0, 255), (100, 100, 300, 300))
    img.save(src)
    out = prepare_image(src, tmp_path / "out")
    with Image.open(out.path) as result:
        assert all(c > 245 for c in result.getpixel((5, 5)))
        assert result.getpixel((200, 200))[0] > 180
    assert "flattened transparency onto white" in out.changes


def test_small_image_is_upscaled(tmp_path: Path) -> None:
    """200×150 grows until its short side is 300 px, keeping the aspect."""
    out = prepare_image(make_image(tmp_path / "s.png", (200, 150), format="PNG"), tmp_path / "out")
    assert (out.width, out.height) == (400, 300)
    assert out.changes == ["upscaled 200×150 to 400×300 (sides must be at least 300 px)"]


@pytest.mark.parametrize(
    ("size", "expected", "label"),
    [((3000, 600), (3000, 1200), "2.5:1"), ((400, 1500), (600, 1500), "1:2.5")],
)
def test_extreme_aspect_is_padded_not_cropped(tmp_path: Path, size, expected, label) -> None:
    """Too wide or too tall gets borders; no pixel of the photo is lost."""
    src = make_image(tmp_path / "wide.png", size, format="PNG")
    out = prepare_image(src, tmp_path / "out")
    w, h = expected
    assert max(out.width, out.height) == min(MAX_SIDE, max(w, h))
    assert 0.4 <= out.width / out.height <= 2.5
    assert f"padded {size[0]}×{size[1]} to {w}×{h} ({label}; the gateways accept 1:2.5 to 2.5:1)" in out.changes


def test_twelve_megapixel_photo_is_resized_and_under_10_mb(tmp_path: Path) -> None:
    """A 4000×3000 photo comes out 2048 px wide, far under the 10 MB limit."""
    out = prepare_image(make_image(tmp_path / "big.jpg", (4000, 3000), quality=95), tmp_path / "out")
    assert (out.width, out.height) == (2048, 1536)
    assert out.bytes <= MAX_IMAGE_BYTES
    assert "resized 4000×3000 to 2048×1536" in out.changes


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    """Half a JPEG is reported as damaged."""
    full = make_image(tmp_path / "full.jpg", (800, 800)).read_bytes()
    src = tmp_path / "cut.jpg"
    src.write_bytes(full[: len(full) // 2])
    with pytest.raises(InputError, match="truncated or damaged"):
        prepare_image(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_empty_and_non_image_files_are_refused(tmp_path: Path) -> None:
    """Zero bytes and text each get their own message."""
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        prepare_image(empty, tmp_path / "out")
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(InputError, match="not an image"):
        prepare_image(text, tmp_path / "out")


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    """A tiny PNG that claims 100 megapixels is refused from its header."""
    src = tmp_path / "bomb.png"
    Image.new("1", (10000, 10000)).save(src, optimize=True)
    assert src.stat().st_size < 100_000
    with pytest.raises(InputError, match="too large to open safely"):
        prepare_image(src, tmp_path / "out")
